use serde::{Deserialize, Serialize};

use crate::validation::{ValidationError, check_embedding, check_id, check_labels, check_text};
use crate::{Budget, Limits, Policy, Scope, Timestamp};

/// Who the packet is for. Each purpose has its own section order and default weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Deciding what to do next: working state, conversation, facts, procedures, insights.
    Planner,
    /// Calling a tool: procedures and facts first.
    Tool,
    /// Answering the user: conversation, facts and recall; unvalidated insights never included.
    Responder,
}

impl Purpose {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Planner => "planner",
            Self::Tool => "tool",
            Self::Responder => "responder",
        }
    }
}

/// How `rendered` is laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    #[default]
    Markdown,
    Xml,
}

/// A closed time interval; either end may be open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    #[serde(default)]
    pub start: Option<Timestamp>,
    #[serde(default)]
    pub end: Option<Timestamp>,
}

impl TimeRange {
    pub fn contains(&self, instant: Timestamp) -> bool {
        self.start.is_none_or(|start| instant >= start) && self.end.is_none_or(|end| instant <= end)
    }
}

/// Hints from the agent about what matters now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cues {
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub entities: Vec<String>,
    /// Extra search words, matched like the query.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Only items whose time falls in this range are candidates (others: `time_window`).
    #[serde(default)]
    pub time_range: Option<TimeRange>,
}

/// What to build a packet for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildRequest {
    pub scope: Scope,
    pub purpose: Purpose,
    #[serde(default)]
    pub task_type: Option<String>,
    /// The text the agent is about to act on; drives lexical relevance.
    #[serde(default)]
    pub query: Option<String>,
    /// The query's vector, from the same embedder as the stored records' vectors: turns on
    /// the vector candidate source and rank fusion. Its length must match the tenant's vectors.
    #[serde(default)]
    pub query_embedding: Option<Vec<f32>>,
    #[serde(default)]
    pub cues: Cues,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub budget: Budget,
    /// The instant to build for (default: the wall clock). Give it for replay and tests.
    #[serde(default)]
    pub now: Option<Timestamp>,
    #[serde(default)]
    pub format: OutputFormat,
    /// Name each item's record id in `rendered` (reference lines, xml `id` attributes), for a
    /// tool that fetches what was left out. Off by default: the model reads no internal ids.
    #[serde(default)]
    pub show_ids: bool,
}

impl BuildRequest {
    pub fn new(scope: Scope, purpose: Purpose) -> Self {
        Self {
            scope,
            purpose,
            task_type: None,
            query: None,
            query_embedding: None,
            cues: Cues::default(),
            policy: Policy::default(),
            budget: Budget::default(),
            now: None,
            format: OutputFormat::Markdown,
            show_ids: false,
        }
    }

    #[must_use]
    pub fn with_query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    #[must_use]
    pub fn with_query_embedding(mut self, embedding: Vec<f32>) -> Self {
        self.query_embedding = Some(embedding);
        self
    }

    #[must_use]
    pub fn with_now(mut self, now: Timestamp) -> Self {
        self.now = Some(now);
        self
    }

    #[must_use]
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    #[must_use]
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        if let Some(task_type) = &self.task_type {
            check_id("task_type", task_type, limits.max_id_bytes)?;
        }
        if let Some(query) = &self.query {
            check_text("query", query, limits)?;
        }
        if let Some(embedding) = &self.query_embedding {
            check_embedding("query_embedding", embedding)?;
        }
        check_labels("cues.tags", &self.cues.tags, limits)?;
        check_labels("cues.entities", &self.cues.entities, limits)?;
        check_labels("cues.keywords", &self.cues.keywords, limits)?;
        if let Some(TimeRange { start: Some(start), end: Some(end) }) = &self.cues.time_range
            && end < start
        {
            return Err(ValidationError::new("cues.time_range.end", "is before start"));
        }
        self.policy.validate().map_err(|error| error.within("policy"))?;
        self.budget.validate().map_err(|error| error.within("budget"))?;
        Ok(())
    }
}
