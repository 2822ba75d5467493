use serde::{Deserialize, Serialize};

use crate::validation::{
    ValidationError, check_embedding, check_id, check_labels, check_sources, check_text, check_unit,
};
use crate::{Limits, Scope, ScopeLevel, Timestamp};

/// How far an episode has been condensed as it aged.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CompressionLevel {
    #[default]
    Raw,
    Phase,
    Milestone,
    Theme,
}

impl CompressionLevel {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Phase => "phase",
            Self::Milestone => "milestone",
            Self::Theme => "theme",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "raw" => Some(Self::Raw),
            "phase" => Some(Self::Phase),
            "milestone" => Some(Self::Milestone),
            "theme" => Some(Self::Theme),
            _ => None,
        }
    }
}

/// An episode as written: a summary of what happened over a time range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EpisodeInput {
    pub scope: Scope,
    #[serde(default)]
    pub episode_id: Option<String>,
    pub start_ts: Timestamp,
    pub end_ts: Timestamp,
    pub summary: String,
    #[serde(default)]
    pub highlights: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub entities: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub compression_level: CompressionLevel,
    #[serde(default)]
    pub importance: Option<f64>,
    #[serde(default)]
    pub scope_level: ScopeLevel,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// A vector of the record (an embedding of its text, say): 1 to 4096 finite numbers, as
    /// long as every other vector of the tenant. Stored as float32.
    #[serde(default)]
    pub embedding: Option<Vec<f32>>,
}

impl EpisodeInput {
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        if let Some(episode_id) = &self.episode_id {
            check_id("episode_id", episode_id, limits.max_id_bytes)?;
        }
        if self.end_ts < self.start_ts {
            return Err(ValidationError::new("end_ts", "is before start_ts"));
        }
        check_text("summary", &self.summary, limits)?;
        for (index, highlight) in self.highlights.iter().enumerate() {
            check_text(&format!("highlights[{index}]"), highlight, limits)?;
        }
        check_labels("tags", &self.tags, limits)?;
        check_labels("entities", &self.entities, limits)?;
        check_sources(&self.sources, limits)?;
        if let Some(importance) = self.importance {
            check_unit("importance", importance)?;
        }
        if let Some(embedding) = &self.embedding {
            check_embedding("embedding", embedding)?;
        }
        Ok(())
    }
}

/// A stored episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Episode {
    pub episode_id: String,
    pub scope: Scope,
    pub scope_level: ScopeLevel,
    pub start_ts: Timestamp,
    pub end_ts: Timestamp,
    pub summary: String,
    pub highlights: Vec<String>,
    pub tags: Vec<String>,
    pub entities: Vec<String>,
    pub sources: Vec<String>,
    pub compression_level: CompressionLevel,
    pub importance: f64,
    pub token_count: u32,
    pub expires_at: Option<Timestamp>,
    /// The record's vector, as stored: float32 values (`0.1` reads back as `0.10000000149011612`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
}

impl Episode {
    /// Checks an episode read from outside the store (an import) as the write that made it was checked.
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        EpisodeInput {
            scope: self.scope.clone(),
            episode_id: Some(self.episode_id.clone()),
            start_ts: self.start_ts,
            end_ts: self.end_ts,
            summary: self.summary.clone(),
            highlights: self.highlights.clone(),
            tags: self.tags.clone(),
            entities: self.entities.clone(),
            sources: self.sources.clone(),
            compression_level: self.compression_level,
            importance: Some(self.importance),
            scope_level: self.scope_level,
            expires_at: self.expires_at,
            embedding: self.embedding.clone(),
        }
        .validate(limits)
    }
}
