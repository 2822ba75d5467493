//! Rows -> engram records, for every SQL backend. Timestamps are stored as unix milliseconds,
//! lists and JSON values as JSON text, enums as their names.

use chrono::DateTime;
use engram_types::{
    CompressionLevel, Episode, Event, EventKind, Fact, FactStatus, Insight, InsightKind, Procedure, Scope, ScopeLevel,
    Timestamp, ValidationState,
};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::lexical::{DocumentTerms, IndexedTerms};
use crate::record::{Fetched, Record, RecordKind};

use super::columns::table_info;

/// A result row of one SQL backend, read by column position.
pub(crate) trait ColumnReader {
    /// The backend's name, for errors.
    fn backend(&self) -> &'static str;
    fn optional_text(&self, index: usize) -> Result<Option<String>>;
    fn optional_integer(&self, index: usize) -> Result<Option<i64>>;
    fn real(&self, index: usize) -> Result<f64>;
    fn optional_blob(&self, index: usize) -> Result<Option<Vec<u8>>>;

    fn text(&self, index: usize) -> Result<String> {
        self.optional_text(index)?.ok_or_else(|| corrupt(self.backend(), &format!("column {index}"), "NULL"))
    }

    fn integer(&self, index: usize) -> Result<i64> {
        self.optional_integer(index)?.ok_or_else(|| corrupt(self.backend(), &format!("column {index}"), "NULL"))
    }
}

/// Reads a row selected with the kind's column list (`sql::table_info(kind).columns`).
pub(crate) fn read_record(kind: RecordKind, row: &(impl ColumnReader + ?Sized)) -> Result<Fetched> {
    let sequence = row.integer(0)?;
    let terms = match table_info(kind).terms_column {
        Some(index) => match (row.optional_text(index)?, row.optional_integer(index + 1)?) {
            (Some(json), Some(length)) => {
                Some(IndexedTerms::Stored { json: json.into(), length: u32::try_from(length).unwrap_or(u32::MAX) })
            }
            // Written before the column existed: analyzed when needed.
            _ => None,
        },
        None => None,
    };
    // NULL for events written before the column existed: their lines are counted whole.
    let line_tokens = match table_info(kind).line_tokens_column {
        Some(index) => row.optional_integer(index)?.and_then(|count| u32::try_from(count).ok()),
        None => None,
    };
    let record = match kind {
        RecordKind::Event => Record::Event(read_event(row)?),
        RecordKind::Fact => Record::Fact(read_fact(row)?),
        RecordKind::Episode => Record::Episode(read_episode(row)?),
        RecordKind::Procedure => Record::Procedure(read_procedure(row)?),
        RecordKind::Insight => Record::Insight(read_insight(row)?),
    };
    Ok(Fetched { sequence, record, terms, line_tokens })
}

fn read_scope(row: &(impl ColumnReader + ?Sized)) -> Result<Scope> {
    Ok(Scope {
        tenant_id: row.text(1)?,
        user_id: row.text(2)?,
        agent_id: row.text(3)?,
        session_id: row.text(4)?,
        run_id: row.text(5)?,
    })
}

fn read_event(row: &(impl ColumnReader + ?Sized)) -> Result<Event> {
    let backend = row.backend();
    Ok(Event {
        scope: read_scope(row)?,
        event_id: row.text(6)?,
        ts: time(backend, row.integer(7)?)?,
        kind: parse_enum(backend, "events.kind", &row.text(8)?, EventKind::parse)?,
        role: row.text(9)?,
        text: row.text(10)?,
        payload: json(backend, "events.payload", &row.text(11)?)?,
        tags: json(backend, "events.tags", &row.text(12)?)?,
        entities: json(backend, "events.entities", &row.text(13)?)?,
        importance: row.real(14)?,
        token_count: count(backend, row.integer(15)?)?,
        expires_at: optional_time(backend, row.optional_integer(16)?)?,
        sequence: None,
        embedding: embedding(row, 17)?,
    })
}

pub(crate) fn read_fact(row: &(impl ColumnReader + ?Sized)) -> Result<Fact> {
    let backend = row.backend();
    Ok(Fact {
        scope: read_scope(row)?,
        fact_id: row.text(6)?,
        scope_level: parse_enum(backend, "facts.scope_level", &row.text(7)?, ScopeLevel::parse)?,
        fact_key: row.text(8)?,
        value: json(backend, "facts.value", &row.text(9)?)?,
        text: row.text(10)?,
        status: parse_enum(backend, "facts.status", &row.text(11)?, FactStatus::parse)?,
        valid_from: time(backend, row.integer(12)?)?,
        valid_to: optional_time(backend, row.optional_integer(13)?)?,
        recorded_at: time(backend, row.integer(14)?)?,
        confidence: row.real(15)?,
        importance: row.real(16)?,
        sources: json(backend, "facts.sources", &row.text(17)?)?,
        tags: json(backend, "facts.tags", &row.text(18)?)?,
        entities: json(backend, "facts.entities", &row.text(19)?)?,
        expires_at: optional_time(backend, row.optional_integer(20)?)?,
        superseded_by: row.optional_text(21)?,
        token_count: count(backend, row.integer(22)?)?,
        embedding: embedding(row, 23)?,
        supersedes: row.optional_text(24)?,
    })
}

fn read_episode(row: &(impl ColumnReader + ?Sized)) -> Result<Episode> {
    let backend = row.backend();
    Ok(Episode {
        scope: read_scope(row)?,
        episode_id: row.text(6)?,
        scope_level: parse_enum(backend, "episodes.scope_level", &row.text(7)?, ScopeLevel::parse)?,
        start_ts: time(backend, row.integer(8)?)?,
        end_ts: time(backend, row.integer(9)?)?,
        summary: row.text(10)?,
        highlights: json(backend, "episodes.highlights", &row.text(11)?)?,
        tags: json(backend, "episodes.tags", &row.text(12)?)?,
        entities: json(backend, "episodes.entities", &row.text(13)?)?,
        sources: json(backend, "episodes.sources", &row.text(14)?)?,
        compression_level: parse_enum(backend, "episodes.compression_level", &row.text(15)?, CompressionLevel::parse)?,
        importance: row.real(16)?,
        token_count: count(backend, row.integer(17)?)?,
        expires_at: optional_time(backend, row.optional_integer(18)?)?,
        embedding: embedding(row, 19)?,
    })
}

pub(crate) fn read_procedure(row: &(impl ColumnReader + ?Sized)) -> Result<Procedure> {
    let backend = row.backend();
    Ok(Procedure {
        scope: read_scope(row)?,
        procedure_id: row.text(6)?,
        scope_level: parse_enum(backend, "procedures.scope_level", &row.text(7)?, ScopeLevel::parse)?,
        task_type: row.text(8)?,
        title: row.text(9)?,
        steps: json(backend, "procedures.steps", &row.text(10)?)?,
        content: row.optional_text(11)?,
        text: row.text(12)?,
        priority: row.real(13)?,
        applicability: row.optional_text(14)?,
        tags: json(backend, "procedures.tags", &row.text(15)?)?,
        entities: json(backend, "procedures.entities", &row.text(16)?)?,
        use_count: u64::try_from(row.integer(17)?).map_err(|error| corrupt(backend, "procedures.use_count", error))?,
        updated_at: time(backend, row.integer(18)?)?,
        token_count: count(backend, row.integer(19)?)?,
        expires_at: optional_time(backend, row.optional_integer(20)?)?,
        embedding: embedding(row, 21)?,
    })
}

pub(crate) fn read_insight(row: &(impl ColumnReader + ?Sized)) -> Result<Insight> {
    let backend = row.backend();
    Ok(Insight {
        scope: read_scope(row)?,
        insight_id: row.text(6)?,
        kind: parse_enum(backend, "insights.kind", &row.text(7)?, InsightKind::parse)?,
        text: row.text(8)?,
        confidence: row.real(9)?,
        validation: parse_enum(backend, "insights.validation", &row.text(10)?, ValidationState::parse)?,
        tags: json(backend, "insights.tags", &row.text(11)?)?,
        entities: json(backend, "insights.entities", &row.text(12)?)?,
        sources: json(backend, "insights.sources", &row.text(13)?)?,
        created_at: time(backend, row.integer(14)?)?,
        expires_at: optional_time(backend, row.optional_integer(15)?)?,
        token_count: count(backend, row.integer(16)?)?,
        promoted_to: row.optional_text(17)?,
    })
}

/// A record's vector column (float32 bytes), if set.
fn embedding(row: &(impl ColumnReader + ?Sized), index: usize) -> Result<Option<Vec<f32>>> {
    row.optional_blob(index)?.map(|bytes| vector(row.backend(), &bytes)).transpose()
}

/// A stored vector read back from its float32 bytes.
pub(crate) fn vector(backend: &'static str, bytes: &[u8]) -> Result<Vec<f32>> {
    let unreadable = || corrupt(backend, "embedding", format!("{} bytes are not float32s", bytes.len()));
    let chunks = bytes.chunks_exact(4);
    if !chunks.remainder().is_empty() {
        return Err(unreadable());
    }
    chunks.map(|chunk| <[u8; 4]>::try_from(chunk).map(f32::from_le_bytes).map_err(|_| unreadable())).collect()
}

/// The terms a record was indexed with, as stored in its `lexical_terms` column.
pub(crate) fn stored_terms(backend: &'static str, frequencies: &str, length: i64) -> Result<DocumentTerms> {
    Ok(DocumentTerms {
        frequencies: json(backend, "lexical_terms", frequencies)?,
        length: u32::try_from(length).unwrap_or(u32::MAX),
    })
}

pub(crate) fn time(backend: &'static str, millis: i64) -> Result<Timestamp> {
    DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| corrupt(backend, "timestamp", format!("{millis} ms is out of range")))
}

fn optional_time(backend: &'static str, millis: Option<i64>) -> Result<Option<Timestamp>> {
    millis.map(|millis| time(backend, millis)).transpose()
}

fn count(backend: &'static str, stored: i64) -> Result<u32> {
    u32::try_from(stored).map_err(|error| corrupt(backend, "token_count", error))
}

fn parse_enum<T>(backend: &'static str, column: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(text).ok_or_else(|| corrupt(backend, column, format!("unknown value {text:?}")))
}

pub(crate) fn json<T: DeserializeOwned>(backend: &'static str, column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|error| corrupt(backend, column, error))
}

/// A stored value engram cannot read back (bad JSON, unknown enum text).
fn corrupt(backend: &'static str, column: &str, detail: impl std::fmt::Display) -> Error {
    Error::storage(backend, format!("unreadable {column}: {detail}"))
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

    #[test]
    fn vectors_round_trip_as_float32_bytes() {
        let vector = [0.1_f32, -2.5, f32::MIN_POSITIVE, 1e30];
        let bytes = super::super::encode::vector_bytes(&vector);
        assert_eq!(bytes.len(), 16);
        assert_eq!(super::vector("test", &bytes).unwrap(), vector);
        assert!(super::vector("test", &bytes[..5]).is_err());
    }
}
