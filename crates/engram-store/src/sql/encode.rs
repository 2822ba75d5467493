//! engram values -> SQL column values, for every SQL backend.

use engram_types::Timestamp;
use serde::Serialize;

use super::record_columns::{episode_fields, event_fields, fact_fields, insight_fields, procedure_fields};
use super::statement::Param;
use crate::error::{Error, Result};
use crate::lexical::DocumentTerms;
use crate::prepare::Prepared;
use crate::record::Record;

/// The values of a record's row, in the order of `columns` (its kind's
/// [`written_columns`](super::columns::TableInfo::written_columns)).
pub(crate) fn written_values(prepared: &Prepared<Record>, columns: &[&str]) -> Result<Vec<Param>> {
    let Prepared { record, space, terms, line_tokens } = prepared;
    let mut values = field_values(record)?;
    let index = index_values(columns.get(values.len()..).unwrap_or_default(), space, terms, *line_tokens)?;
    values.extend(index);
    Ok(values)
}

/// The values of the columns that follow a record's fields in its row, by name: its stored
/// terms, line tokens and space, wherever its kind's column list puts them.
pub(crate) fn index_values(
    columns: &[&str],
    space: &str,
    terms: &DocumentTerms,
    line_tokens: u32,
) -> Result<Vec<Param>> {
    let value = |column: &str| {
        Ok(match column {
            "lexical_terms" => to_json(&terms.frequencies)?.into(),
            "lexical_length" => terms.length.into(),
            "line_tokens" => line_tokens.into(),
            "space" => space.into(),
            other => return Err(Error::storage("engram", format!("no value to write in column {other}"))),
        })
    };
    columns.iter().map(|column| value(column)).collect()
}

/// A record's fields, in the order of its kind's column list (`seq` left out).
pub(crate) fn field_values(record: &Record) -> Result<Vec<Param>> {
    match record {
        Record::Event(event) => event_fields(event),
        Record::Fact(fact) => fact_fields(fact),
        Record::Episode(episode) => episode_fields(episode),
        Record::Procedure(procedure) => procedure_fields(procedure),
        Record::Insight(insight) => insight_fields(insight),
    }
}

/// Stored instants are unix milliseconds.
pub(crate) fn millis(instant: Timestamp) -> i64 {
    instant.timestamp_millis()
}

pub(crate) fn optional_millis(instant: Option<Timestamp>) -> Option<i64> {
    instant.map(millis)
}

/// Lists, payloads and values are stored as compact JSON text.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| Error::storage("engram", format!("cannot serialize to JSON: {error}")))
}

/// Counts and versions are u64 in engram, BIGINT (i64) in SQL.
pub(crate) fn to_integer(value: u64, column: &str) -> Result<i64> {
    i64::try_from(value).map_err(|error| Error::storage("engram", format!("{column} does not fit in 64 bits: {error}")))
}

/// A vector as stored: each value as 4 little-endian bytes (float32).
pub(crate) fn vector_bytes(embedding: &[f32]) -> Vec<u8> {
    embedding.iter().flat_map(|value| value.to_le_bytes()).collect()
}

/// [`vector_bytes`] of a record's optional vector (a column value).
pub(crate) fn optional_vector_bytes(embedding: Option<&[f32]>) -> Option<Vec<u8>> {
    embedding.map(vector_bytes)
}

/// The smallest whole millisecond at or after `instant` (`timestamp_millis` rounds down).
pub(crate) fn ceil_millis(instant: Timestamp) -> i64 {
    let millis = instant.timestamp_millis();
    if instant.timestamp_subsec_nanos().is_multiple_of(1_000_000) { millis } else { millis.saturating_add(1) }
}
