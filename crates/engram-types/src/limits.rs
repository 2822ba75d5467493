use serde::{Deserialize, Serialize};

/// Size limits enforced on every write before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Longest identifier (scope parts, record ids, tags, entities, fact keys), in bytes.
    pub max_id_bytes: usize,
    /// Largest payload or value, serialized as JSON, in bytes.
    pub max_payload_bytes: usize,
    /// Deepest nesting of arrays and objects in a payload or value.
    pub max_payload_depth: usize,
    /// Most tags (and most entities) on one record.
    pub max_labels: usize,
    /// Longest free text (summaries, fact text, procedure content), in bytes.
    pub max_text_bytes: usize,
    /// Most events in one bulk append.
    pub max_batch: usize,
    /// Most source links on one record (an episode consolidated from a long session links
    /// every event it summarizes).
    pub max_sources: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_id_bytes: 128,
            max_payload_bytes: 256 * 1024,
            max_payload_depth: 32,
            max_labels: 64,
            max_text_bytes: 64 * 1024,
            max_batch: 10_000,
            max_sources: 10_000,
        }
    }
}
