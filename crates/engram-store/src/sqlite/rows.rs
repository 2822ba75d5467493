//! Rows <-> engram types: the column lists every SELECT uses, and the conversions both ways
//! (timestamps as unix milliseconds, lists and JSON values as JSON text, enums as their names).

use chrono::DateTime;
use engram_types::{
    CompressionLevel, Episode, Event, EventKind, Fact, FactStatus, Insight, InsightKind, Procedure, Scope, ScopeLevel,
    Timestamp, ValidationState,
};
use rusqlite::Row;
use rusqlite::types::FromSql;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{corrupt, storage};
use crate::error::Result;
use crate::record::{Fetched, Record, RecordKind};

pub(super) const EVENT_COLUMNS: &str = "seq, tenant_id, user_id, agent_id, session_id, run_id, event_id, ts, kind, role, text, payload, tags, entities, importance, token_count, expires_at";
pub(super) const FACT_COLUMNS: &str = "seq, tenant_id, user_id, agent_id, session_id, run_id, fact_id, scope_level, fact_key, value, text, status, valid_from, valid_to, recorded_at, confidence, importance, sources, tags, entities, expires_at, superseded_by, token_count";
pub(super) const EPISODE_COLUMNS: &str = "seq, tenant_id, user_id, agent_id, session_id, run_id, episode_id, scope_level, start_ts, end_ts, summary, highlights, tags, entities, sources, compression_level, importance, token_count, expires_at";
pub(super) const PROCEDURE_COLUMNS: &str = "seq, tenant_id, user_id, agent_id, session_id, run_id, procedure_id, scope_level, task_type, title, steps, content, text, priority, applicability, tags, entities, use_count, updated_at, token_count, expires_at";
pub(super) const INSIGHT_COLUMNS: &str = "seq, tenant_id, user_id, agent_id, session_id, run_id, insight_id, kind, text, confidence, validation, tags, entities, sources, created_at, expires_at, token_count";

/// Where each kind lives and which columns its orderings use.
#[derive(Debug, Clone, Copy)]
pub(super) struct TableInfo {
    pub table: &'static str,
    pub postings: &'static str,
    pub columns: &'static str,
    /// The column `Selector::Newest` orders by (`Record::time`).
    pub time: &'static str,
    /// The column `Selector::MostImportant` orders by (`Record::weight`).
    pub weight: &'static str,
}

pub(super) const fn table_info(kind: RecordKind) -> TableInfo {
    match kind {
        RecordKind::Event => TableInfo {
            table: "events",
            postings: "event_postings",
            columns: EVENT_COLUMNS,
            time: "ts",
            weight: "importance",
        },
        RecordKind::Fact => TableInfo {
            table: "facts",
            postings: "fact_postings",
            columns: FACT_COLUMNS,
            time: "recorded_at",
            weight: "importance",
        },
        RecordKind::Episode => TableInfo {
            table: "episodes",
            postings: "episode_postings",
            columns: EPISODE_COLUMNS,
            time: "end_ts",
            weight: "importance",
        },
        RecordKind::Procedure => TableInfo {
            table: "procedures",
            postings: "procedure_postings",
            columns: PROCEDURE_COLUMNS,
            time: "updated_at",
            weight: "priority",
        },
        RecordKind::Insight => TableInfo {
            table: "insights",
            postings: "insight_postings",
            columns: INSIGHT_COLUMNS,
            time: "created_at",
            weight: "confidence",
        },
    }
}

/// Reads a row selected with the kind's column list.
pub(super) fn read_record(kind: RecordKind, row: &Row<'_>) -> Result<Fetched> {
    let sequence: i64 = get(row, 0)?;
    let record = match kind {
        RecordKind::Event => Record::Event(read_event(row)?),
        RecordKind::Fact => Record::Fact(read_fact(row)?),
        RecordKind::Episode => Record::Episode(read_episode(row)?),
        RecordKind::Procedure => Record::Procedure(read_procedure(row)?),
        RecordKind::Insight => Record::Insight(read_insight(row)?),
    };
    Ok(Fetched { sequence, record })
}

fn read_scope(row: &Row<'_>) -> Result<Scope> {
    Ok(Scope {
        tenant_id: get(row, 1)?,
        user_id: get(row, 2)?,
        agent_id: get(row, 3)?,
        session_id: get(row, 4)?,
        run_id: get(row, 5)?,
    })
}

fn read_event(row: &Row<'_>) -> Result<Event> {
    Ok(Event {
        scope: read_scope(row)?,
        event_id: get(row, 6)?,
        ts: time(get(row, 7)?)?,
        kind: parse_enum("events.kind", &get::<String>(row, 8)?, EventKind::parse)?,
        role: get(row, 9)?,
        text: get(row, 10)?,
        payload: json("events.payload", &get::<String>(row, 11)?)?,
        tags: json("events.tags", &get::<String>(row, 12)?)?,
        entities: json("events.entities", &get::<String>(row, 13)?)?,
        importance: get(row, 14)?,
        token_count: count(get(row, 15)?)?,
        expires_at: optional_time(get(row, 16)?)?,
    })
}

pub(super) fn read_fact(row: &Row<'_>) -> Result<Fact> {
    Ok(Fact {
        scope: read_scope(row)?,
        fact_id: get(row, 6)?,
        scope_level: parse_enum("facts.scope_level", &get::<String>(row, 7)?, ScopeLevel::parse)?,
        fact_key: get(row, 8)?,
        value: json("facts.value", &get::<String>(row, 9)?)?,
        text: get(row, 10)?,
        status: parse_enum("facts.status", &get::<String>(row, 11)?, FactStatus::parse)?,
        valid_from: time(get(row, 12)?)?,
        valid_to: optional_time(get(row, 13)?)?,
        recorded_at: time(get(row, 14)?)?,
        confidence: get(row, 15)?,
        importance: get(row, 16)?,
        sources: json("facts.sources", &get::<String>(row, 17)?)?,
        tags: json("facts.tags", &get::<String>(row, 18)?)?,
        entities: json("facts.entities", &get::<String>(row, 19)?)?,
        expires_at: optional_time(get(row, 20)?)?,
        superseded_by: get(row, 21)?,
        token_count: count(get(row, 22)?)?,
    })
}

fn read_episode(row: &Row<'_>) -> Result<Episode> {
    Ok(Episode {
        scope: read_scope(row)?,
        episode_id: get(row, 6)?,
        scope_level: parse_enum("episodes.scope_level", &get::<String>(row, 7)?, ScopeLevel::parse)?,
        start_ts: time(get(row, 8)?)?,
        end_ts: time(get(row, 9)?)?,
        summary: get(row, 10)?,
        highlights: json("episodes.highlights", &get::<String>(row, 11)?)?,
        tags: json("episodes.tags", &get::<String>(row, 12)?)?,
        entities: json("episodes.entities", &get::<String>(row, 13)?)?,
        sources: json("episodes.sources", &get::<String>(row, 14)?)?,
        compression_level: parse_enum("episodes.compression_level", &get::<String>(row, 15)?, CompressionLevel::parse)?,
        importance: get(row, 16)?,
        token_count: count(get(row, 17)?)?,
        expires_at: optional_time(get(row, 18)?)?,
    })
}

pub(super) fn read_procedure(row: &Row<'_>) -> Result<Procedure> {
    Ok(Procedure {
        scope: read_scope(row)?,
        procedure_id: get(row, 6)?,
        scope_level: parse_enum("procedures.scope_level", &get::<String>(row, 7)?, ScopeLevel::parse)?,
        task_type: get(row, 8)?,
        title: get(row, 9)?,
        steps: json("procedures.steps", &get::<String>(row, 10)?)?,
        content: get(row, 11)?,
        text: get(row, 12)?,
        priority: get(row, 13)?,
        applicability: get(row, 14)?,
        tags: json("procedures.tags", &get::<String>(row, 15)?)?,
        entities: json("procedures.entities", &get::<String>(row, 16)?)?,
        use_count: u64::try_from(get::<i64>(row, 17)?).map_err(|error| corrupt("procedures.use_count", error))?,
        updated_at: time(get(row, 18)?)?,
        token_count: count(get(row, 19)?)?,
        expires_at: optional_time(get(row, 20)?)?,
    })
}

pub(super) fn read_insight(row: &Row<'_>) -> Result<Insight> {
    Ok(Insight {
        scope: read_scope(row)?,
        insight_id: get(row, 6)?,
        kind: parse_enum("insights.kind", &get::<String>(row, 7)?, InsightKind::parse)?,
        text: get(row, 8)?,
        confidence: get(row, 9)?,
        validation: parse_enum("insights.validation", &get::<String>(row, 10)?, ValidationState::parse)?,
        tags: json("insights.tags", &get::<String>(row, 11)?)?,
        entities: json("insights.entities", &get::<String>(row, 12)?)?,
        sources: json("insights.sources", &get::<String>(row, 13)?)?,
        created_at: time(get(row, 14)?)?,
        expires_at: optional_time(get(row, 15)?)?,
        token_count: count(get(row, 16)?)?,
    })
}

pub(super) fn get<T: FromSql>(row: &Row<'_>, index: usize) -> Result<T> {
    row.get(index).map_err(storage)
}

/// Stored instants are unix milliseconds.
pub(super) fn millis(instant: Timestamp) -> i64 {
    instant.timestamp_millis()
}

pub(super) fn optional_millis(instant: Option<Timestamp>) -> Option<i64> {
    instant.map(millis)
}

pub(super) fn time(millis: i64) -> Result<Timestamp> {
    DateTime::from_timestamp_millis(millis).ok_or_else(|| corrupt("timestamp", format!("{millis} ms is out of range")))
}

fn optional_time(millis: Option<i64>) -> Result<Option<Timestamp>> {
    millis.map(time).transpose()
}

fn count(stored: i64) -> Result<u32> {
    u32::try_from(stored).map_err(|error| corrupt("token_count", error))
}

fn parse_enum<T>(column: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(text).ok_or_else(|| corrupt(column, format!("unknown value {text:?}")))
}

pub(super) fn json<T: DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|error| corrupt(column, error))
}

pub(super) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| corrupt("json", error))
}

/// Counts and versions are u64 in engram, INTEGER (i64) in SQLite.
pub(super) fn to_integer(value: u64, column: &str) -> Result<i64> {
    i64::try_from(value).map_err(|error| corrupt(column, error))
}
