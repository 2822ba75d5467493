use serde::{Deserialize, Serialize};

use crate::validation::{ValidationError, check_id, check_labels, check_sources, check_text, check_unit};
use crate::{Limits, Scope, Timestamp};

/// What sort of run-scoped idea an insight is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InsightKind {
    #[default]
    Hypothesis,
    Strategy,
    Pattern,
}

impl InsightKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hypothesis => "hypothesis",
            Self::Strategy => "strategy",
            Self::Pattern => "pattern",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "hypothesis" => Some(Self::Hypothesis),
            "strategy" => Some(Self::Strategy),
            "pattern" => Some(Self::Pattern),
            _ => None,
        }
    }
}

/// How far an insight has been checked. Only validated insights reach the responder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValidationState {
    #[default]
    Unvalidated,
    Testing,
    Validated,
    Rejected,
}

impl ValidationState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unvalidated => "unvalidated",
            Self::Testing => "testing",
            Self::Validated => "validated",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "unvalidated" => Some(Self::Unvalidated),
            "testing" => Some(Self::Testing),
            "validated" => Some(Self::Validated),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// An insight as written, scoped to a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InsightInput {
    pub scope: Scope,
    #[serde(default)]
    pub insight_id: Option<String>,
    #[serde(default)]
    pub kind: InsightKind,
    pub text: String,
    /// 0..1, default 0.5.
    #[serde(default)]
    pub confidence: Option<f64>,
    #[serde(default)]
    pub validation: ValidationState,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub entities: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

impl InsightInput {
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        if let Some(insight_id) = &self.insight_id {
            check_id("insight_id", insight_id, limits.max_id_bytes)?;
        }
        check_text("text", &self.text, limits)?;
        if self.text.trim().is_empty() {
            return Err(ValidationError::new("text", "must not be empty"));
        }
        if let Some(confidence) = self.confidence {
            check_unit("confidence", confidence)?;
        }
        check_labels("tags", &self.tags, limits)?;
        check_labels("entities", &self.entities, limits)?;
        check_sources(&self.sources, limits)?;
        Ok(())
    }
}

/// A change to an insight's validation state or confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InsightUpdate {
    pub scope: Scope,
    pub insight_id: String,
    #[serde(default)]
    pub validation: Option<ValidationState>,
    #[serde(default)]
    pub confidence: Option<f64>,
    /// Sets when the insight expires (`end_run` expires a run's unpromoted insights).
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// Records what the insight became (`promote_insight` writes `fact:<id>` or `procedure:<id>`).
    #[serde(default)]
    pub promoted_to: Option<String>,
}

impl InsightUpdate {
    pub fn new(scope: Scope, insight_id: impl Into<String>) -> Self {
        Self {
            scope,
            insight_id: insight_id.into(),
            validation: None,
            confidence: None,
            expires_at: None,
            promoted_to: None,
        }
    }

    /// Applies the update to a stored insight.
    pub fn apply_to(&self, insight: &mut Insight) {
        if let Some(validation) = self.validation {
            insight.validation = validation;
        }
        if let Some(confidence) = self.confidence {
            insight.confidence = confidence;
        }
        if let Some(expires_at) = self.expires_at {
            insight.expires_at = Some(expires_at);
        }
        if let Some(promoted_to) = &self.promoted_to {
            insight.promoted_to = Some(promoted_to.clone());
        }
    }

    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        check_id("insight_id", &self.insight_id, limits.max_id_bytes)?;
        if let Some(confidence) = self.confidence {
            check_unit("confidence", confidence)?;
        }
        if let Some(promoted_to) = &self.promoted_to {
            check_id("promoted_to", promoted_to, limits.max_id_bytes + 16)?;
        }
        Ok(())
    }
}

/// A stored insight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Insight {
    pub insight_id: String,
    pub scope: Scope,
    pub kind: InsightKind,
    pub text: String,
    pub confidence: f64,
    pub validation: ValidationState,
    pub tags: Vec<String>,
    pub entities: Vec<String>,
    pub sources: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub token_count: u32,
    /// What the insight became when promoted: `fact:<fact_id>` or `procedure:<procedure_id>`.
    #[serde(default)]
    pub promoted_to: Option<String>,
}

impl Insight {
    /// Checks an insight read from outside the store (an import) as the write that made it was checked.
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        InsightInput {
            scope: self.scope.clone(),
            insight_id: Some(self.insight_id.clone()),
            kind: self.kind,
            text: self.text.clone(),
            confidence: Some(self.confidence),
            validation: self.validation,
            tags: self.tags.clone(),
            entities: self.entities.clone(),
            sources: self.sources.clone(),
            created_at: Some(self.created_at),
            expires_at: self.expires_at,
        }
        .validate(limits)?;
        if let Some(promoted_to) = &self.promoted_to {
            check_id("promoted_to", promoted_to, limits.max_id_bytes + 16)?;
        }
        Ok(())
    }
}
