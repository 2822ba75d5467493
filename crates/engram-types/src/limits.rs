use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

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
    /// Largest blob of an item (a serialized LangGraph checkpoint, say), in bytes.
    pub max_blob_bytes: usize,
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
            max_blob_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// The deepest payload nesting a limit may allow: recursive (de)serializers, serde_json's
    /// parser and the Python conversion among them, must stay far from the end of the stack.
    pub const DEEPEST_PAYLOAD: usize = 48;

    /// Every limit must let something through (a zero would refuse every write of its kind), and
    /// payload depth stays within [`Limits::DEEPEST_PAYLOAD`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.max_payload_depth > Self::DEEPEST_PAYLOAD {
            return Err(ValidationError::new(
                "max_payload_depth",
                format!("must be at most {}", Self::DEEPEST_PAYLOAD),
            ));
        }
        let limits = [
            ("max_id_bytes", self.max_id_bytes),
            ("max_payload_bytes", self.max_payload_bytes),
            ("max_payload_depth", self.max_payload_depth),
            ("max_labels", self.max_labels),
            ("max_text_bytes", self.max_text_bytes),
            ("max_batch", self.max_batch),
            ("max_sources", self.max_sources),
            ("max_blob_bytes", self.max_blob_bytes),
        ];
        match limits.into_iter().find(|(_, value)| *value == 0) {
            Some((name, _)) => Err(ValidationError::new(name, "must be at least 1")),
            None => Ok(()),
        }
    }
}
