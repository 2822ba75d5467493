//! Fact extraction: a session's new message events go to an extractor (a model, rules), and
//! the facts it returns are written as upserts, sourced from those events.

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;
use crate::{FactInput, FactWrite, Limits, Scope, ShortTermState, Timestamp};

/// The most events one extraction may send.
pub const MAX_EXTRACTION_EVENTS: u32 = 1000;
/// The most facts one extraction may write.
pub const MAX_EXTRACTED_FACTS: u32 = 100;

/// Send a session's message events not extracted yet (oldest first) to an extractor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractRequest {
    pub scope: Scope,
    /// Most events sent in one call (default 50, at most 1000); later ones wait for the next.
    #[serde(default = "default_max_events")]
    pub max_events: u32,
    /// Most facts the extractor may return for them (default 20, at most 100); more is an error.
    #[serde(default = "default_max_facts")]
    pub max_facts: u32,
    /// The clock of the operation (the wall clock when absent): the facts' `recorded_at`.
    #[serde(default)]
    pub now: Option<Timestamp>,
}

const fn default_max_events() -> u32 {
    50
}

const fn default_max_facts() -> u32 {
    20
}

impl ExtractRequest {
    pub fn new(scope: Scope) -> Self {
        Self { scope, max_events: default_max_events(), max_facts: default_max_facts(), now: None }
    }

    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        for (field, number, most) in
            [("max_events", self.max_events, MAX_EXTRACTION_EVENTS), ("max_facts", self.max_facts, MAX_EXTRACTED_FACTS)]
        {
            if number == 0 || number > most {
                return Err(ValidationError::new(field, format!("must be between 1 and {most}, got {number}")));
            }
        }
        Ok(())
    }
}

/// One fact an extractor found in the events it was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractedFact {
    pub fact_key: String,
    pub value: serde_json::Value,
    /// How the fact reads in a packet; defaults to `fact_key: value`.
    #[serde(default)]
    pub text: Option<String>,
    /// 0..1, default 0.8.
    #[serde(default)]
    pub confidence: Option<f64>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The event ids, among those given, that state the fact (default: all of them).
    #[serde(default)]
    pub sources: Vec<String>,
}

impl ExtractedFact {
    /// The upsert this fact becomes: in the request's scope, sourced from the events that state
    /// it, which must be among `sent` (the batch's event ids, oldest first).
    pub fn into_input(self, scope: &Scope, sent: &[String], now: Timestamp) -> Result<FactInput, ValidationError> {
        for (index, source) in self.sources.iter().enumerate() {
            if !sent.contains(source) {
                return Err(ValidationError::new(
                    format!("sources[{index}]"),
                    format!("{source:?} is not one of the events given to the extractor"),
                ));
            }
        }
        let mut input = FactInput::new(scope.clone(), self.fact_key, self.value);
        input.text = self.text;
        input.confidence = self.confidence;
        input.tags = self.tags;
        input.sources = if self.sources.is_empty() { sent.to_vec() } else { self.sources };
        input.recorded_at = Some(now);
        Ok(input)
    }
}

/// What `extract_facts` did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Extraction {
    /// The events sent to the extractor, oldest first (none: nothing new, the extractor was not
    /// called).
    pub events: Vec<String>,
    /// Each fact written and what the upsert did (created, superseded, refreshed).
    pub facts: Vec<FactWrite>,
    /// The session's short-term state, with `extracted_until` moved past the events sent.
    pub short_term: ShortTermState,
}
