//! Rows -> engram records, for every SQL backend (each field's conversion: `column_value.rs`).

use chrono::DateTime;
use engram_types::Timestamp;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::lexical::{DocumentTerms, IndexedTerms};
use crate::record::{Fetched, Record, RecordKind};

use super::columns::table_info;
use super::record_columns::{read_episode, read_event, read_fact, read_insight, read_procedure};

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

pub(crate) fn json<T: DeserializeOwned>(backend: &'static str, column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|error| corrupt(backend, column, error))
}

/// A stored value engram cannot read back (bad JSON, unknown enum text).
pub(crate) fn corrupt(backend: &'static str, column: &str, detail: impl std::fmt::Display) -> Error {
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
