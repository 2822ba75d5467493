use serde::{Deserialize, Serialize};

use crate::validation::{
    ValidationError, check_embedding, check_id, check_json, check_labels, check_no_nul, check_sources, check_text,
    check_unit,
};
use crate::{Limits, Scope, ScopeLevel, Timestamp};

/// Lifecycle of a fact version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactStatus {
    Active,
    Superseded,
    Disputed,
    Deprecated,
}

impl FactStatus {
    pub const ALL: [Self; 4] = [Self::Active, Self::Superseded, Self::Disputed, Self::Deprecated];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Superseded => "superseded",
            Self::Disputed => "disputed",
            Self::Deprecated => "deprecated",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// A fact as the agent writes it. One fact per `fact_key` is active at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactInput {
    pub scope: Scope,
    pub fact_key: String,
    pub value: serde_json::Value,
    /// How the fact reads in a packet; defaults to `fact_key: value`.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub fact_id: Option<String>,
    /// 0..1, default 0.8.
    #[serde(default)]
    pub confidence: Option<f64>,
    /// 0..1, default 0.5.
    #[serde(default)]
    pub importance: Option<f64>,
    /// Event ids this fact was learned from.
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub entities: Vec<String>,
    #[serde(default)]
    pub valid_from: Option<Timestamp>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    #[serde(default)]
    pub scope_level: ScopeLevel,
    /// Transaction time of this write (default: now). Given for replay and tests.
    #[serde(default)]
    pub recorded_at: Option<Timestamp>,
    /// A vector of the record (an embedding of its text, say): 1 to 4096 finite numbers, as
    /// long as every other vector of the tenant. Stored as float32.
    #[serde(default)]
    pub embedding: Option<Vec<f32>>,
}

impl FactInput {
    pub fn new(scope: Scope, fact_key: impl Into<String>, value: serde_json::Value) -> Self {
        Self {
            scope,
            fact_key: fact_key.into(),
            value,
            text: None,
            fact_id: None,
            confidence: None,
            importance: None,
            sources: Vec::new(),
            tags: Vec::new(),
            entities: Vec::new(),
            valid_from: None,
            expires_at: None,
            scope_level: ScopeLevel::User,
            recorded_at: None,
            embedding: None,
        }
    }

    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        check_id("fact_key", &self.fact_key, limits.max_id_bytes)?;
        if let Some(fact_id) = &self.fact_id {
            check_id("fact_id", fact_id, limits.max_id_bytes)?;
        }
        check_json("value", &self.value, limits)?;
        match (&self.text, &self.value) {
            (Some(text), _) => check_text("text", text, limits)?,
            // A string value is the rendered text's own words (`key: value`), stored as text.
            (None, serde_json::Value::String(value)) => check_no_nul("value", value)?,
            (None, _) => {}
        }
        for (field, number) in [("confidence", self.confidence), ("importance", self.importance)] {
            if let Some(number) = number {
                check_unit(field, number)?;
            }
        }
        check_sources(&self.sources, limits)?;
        check_labels("tags", &self.tags, limits)?;
        check_labels("entities", &self.entities, limits)?;
        if let Some(embedding) = &self.embedding {
            check_embedding("embedding", embedding)?;
        }
        Ok(())
    }

    /// The text the fact renders as: the given text, else `key: value`.
    pub fn rendered_text(&self) -> String {
        match &self.text {
            Some(text) => text.clone(),
            None => match &self.value {
                serde_json::Value::String(value) => format!("{}: {value}", self.fact_key),
                value => format!("{}: {value}", self.fact_key),
            },
        }
    }
}

/// One stored version of a fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fact {
    pub fact_id: String,
    pub scope: Scope,
    pub scope_level: ScopeLevel,
    pub fact_key: String,
    pub value: serde_json::Value,
    pub text: String,
    pub status: FactStatus,
    pub valid_from: Timestamp,
    pub valid_to: Option<Timestamp>,
    pub recorded_at: Timestamp,
    pub confidence: f64,
    pub importance: f64,
    pub sources: Vec<String>,
    pub tags: Vec<String>,
    pub entities: Vec<String>,
    pub expires_at: Option<Timestamp>,
    /// The fact_id of the version that replaced this one.
    pub superseded_by: Option<String>,
    /// The fact_id of the version this one replaced.
    #[serde(default)]
    pub supersedes: Option<String>,
    pub token_count: u32,
    /// The record's vector, as stored: float32 values (`0.1` reads back as `0.10000000149011612`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
}

impl Fact {
    /// Checks a fact read from outside the store (an import) as the write that made it was
    /// checked: its text is either the rendered `key: value` or text within the limits.
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        let mut input = FactInput {
            scope: self.scope.clone(),
            fact_key: self.fact_key.clone(),
            value: self.value.clone(),
            text: None,
            fact_id: Some(self.fact_id.clone()),
            confidence: Some(self.confidence),
            importance: Some(self.importance),
            sources: self.sources.clone(),
            tags: self.tags.clone(),
            entities: self.entities.clone(),
            valid_from: Some(self.valid_from),
            expires_at: self.expires_at,
            scope_level: self.scope_level,
            recorded_at: Some(self.recorded_at),
            embedding: self.embedding.clone(),
        };
        if input.rendered_text() != self.text {
            input.text = Some(self.text.clone());
        }
        input.validate(limits)?;
        if let Some(superseded_by) = &self.superseded_by {
            check_id("superseded_by", superseded_by, limits.max_id_bytes)?;
        }
        if let Some(supersedes) = &self.supersedes {
            check_id("supersedes", supersedes, limits.max_id_bytes)?;
        }
        Ok(())
    }
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactWriteOutcome {
    /// No active fact had this key.
    Created,
    /// The active fact had another value; it is now superseded.
    Superseded,
    /// The active fact had the same value; its confidence and sources were refreshed.
    Refreshed,
}

/// The result of an upsert: the now-active fact and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FactWrite {
    pub fact: Fact,
    pub outcome: FactWriteOutcome,
    /// The fact_id of the version this write superseded.
    pub superseded: Option<String>,
}
