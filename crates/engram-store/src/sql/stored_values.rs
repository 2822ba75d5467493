//! How single values are stored and read back on every SQL backend: times as unix
//! milliseconds, lists and JSON values as JSON text, vectors as float32 bytes.

use chrono::DateTime;
use engram_types::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::column_reader::corrupt;
use crate::error::{Error, Result};
use crate::lexical::DocumentTerms;

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

/// Stored instants are unix milliseconds.
pub(crate) fn optional_millis(instant: Option<Timestamp>) -> Option<i64> {
    instant.map(|instant| instant.timestamp_millis())
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

/// The smallest whole millisecond at or after `instant` (`timestamp_millis` rounds down).
pub(crate) fn ceil_millis(instant: Timestamp) -> i64 {
    let millis = instant.timestamp_millis();
    if instant.timestamp_subsec_nanos().is_multiple_of(1_000_000) { millis } else { millis.saturating_add(1) }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

    #[test]
    fn vectors_round_trip_as_float32_bytes() {
        let vector = [0.1_f32, -2.5, f32::MIN_POSITIVE, 1e30];
        let bytes = super::vector_bytes(&vector);
        assert_eq!(bytes.len(), 16);
        assert_eq!(super::vector("test", &bytes).unwrap(), vector);
        assert!(super::vector("test", &bytes[..5]).is_err());
    }
}
