//! engram values -> SQL column values, for every SQL backend.

use engram_types::Timestamp;
use serde::Serialize;

use crate::error::{Error, Result};

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
