//! Requests and results of the memory lifecycle: forgetting, expiry and retention,
//! consolidation, insight promotion, export and import.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::validation::{ValidationError, check_id, check_json, check_labels, check_text};
use crate::{Limits, RecordKind, Scope, ScopeLevel, Timestamp};

/// Rows an operation removed (deletions, sweeps) or wrote (import, export), per table.
/// Table names are the SQL backends' (`events`, `event_postings`, `lexical_terms`, ...). Rows
/// of records and states count the same on every backend; index rows are physical, so their
/// counts differ (one FTS5 document per record on SQLite, one row per term on Postgres and
/// MySQL, one entry per term in memory).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub rows: BTreeMap<String, u64>,
    /// Where a deletion also erased the bytes of what it removed. SQLite, as it deletes: `pages`
    /// (deleted content and the pages it freed overwritten with zeros), a postings table's name
    /// (its index rewritten without the deleted documents), `wal` (the WAL checkpointed into the
    /// file and truncated). Postgres and MySQL, once the receipt is compacted: the tables
    /// rewritten without the deleted rows. Absent when empty.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub erased: BTreeSet<String>,
}

impl Receipt {
    pub fn add(&mut self, table: &str, count: u64) {
        if count > 0 {
            *self.rows.entry(table.to_string()).or_insert(0) += count;
        }
    }

    /// Records that the bytes of what was removed are gone from `place` (see [`Self::erased`]).
    pub fn mark_erased(&mut self, place: &str) {
        self.erased.insert(place.to_string());
    }

    pub fn merge(&mut self, other: Self) {
        for (table, count) in other.rows {
            self.add(&table, count);
        }
        self.erased.extend(other.erased);
    }

    /// Rows of `table` (0 when none).
    pub fn count(&self, table: &str) -> u64 {
        self.rows.get(table).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.rows.values().sum()
    }
}

/// Forget a user's records (in the scope's agent, every session and run) that match every
/// filter given: older than `before`, carrying one of `tags`, of one of `kinds`, written in the
/// scope's session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgetRequest {
    pub scope: Scope,
    /// Records whose time (event ts, fact recorded_at, episode end_ts, procedure updated_at,
    /// insight created_at) is strictly before this instant.
    #[serde(default)]
    pub before: Option<Timestamp>,
    /// Records carrying at least one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Only these kinds (every kind when empty).
    #[serde(default)]
    pub kinds: Vec<RecordKind>,
    /// Only records written in the scope's session (a chat history's `clear()`).
    #[serde(default)]
    pub session_only: bool,
}

impl ForgetRequest {
    pub fn new(scope: Scope) -> Self {
        Self { scope, before: None, tags: Vec::new(), kinds: Vec::new(), session_only: false }
    }

    /// At least one filter: forgetting everything of a user is `purge_user`, said explicitly.
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        check_labels("tags", &self.tags, limits)?;
        if self.before.is_none() && self.tags.is_empty() && self.kinds.is_empty() && !self.session_only {
            return Err(ValidationError::new(
                "before",
                "forget needs at least one filter (before, tags, kinds or session_only); use purge_user to remove a user entirely",
            ));
        }
        Ok(())
    }
}

/// How long raw events are kept, applied by `sweep_expired`. Facts, episodes and other
/// records are not affected (give them `expires_at`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Delete events older than this many days.
    #[serde(default)]
    pub max_event_age_days: Option<u32>,
    /// Keep only the newest this many events of each session.
    #[serde(default)]
    pub max_events_per_session: Option<u32>,
}

impl RetentionPolicy {
    /// Each bound keeps something: a sweep runs over every tenant, so a 0 (every event) would
    /// wipe all tenants' events at once. To keep every event, leave the bound out.
    pub fn validate(&self) -> Result<(), ValidationError> {
        for (name, bound) in
            [("max_event_age_days", self.max_event_age_days), ("max_events_per_session", self.max_events_per_session)]
        {
            if bound == Some(0) {
                return Err(ValidationError::new(
                    name,
                    "must be at least 1 (0 would delete every event of every tenant; leave it out to keep them)",
                ));
            }
        }
        Ok(())
    }
}

/// Delete expired records everywhere, ended runs' working state, and (with a retention
/// policy) old raw events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    /// The sweep's clock (the wall clock when absent): records with `expires_at <= now` go.
    #[serde(default)]
    pub now: Option<Timestamp>,
    #[serde(default)]
    pub retention: RetentionPolicy,
}

impl SweepRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.retention.validate().map_err(|error| error.within("retention"))
    }
}

/// What a promoted insight becomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Promotion {
    /// A fact under `fact_key`; its value is the insight's text unless given, its sources the
    /// insight's sources plus `insight:<insight_id>`.
    Fact {
        fact_key: String,
        #[serde(default)]
        value: Option<serde_json::Value>,
        #[serde(default)]
        scope_level: ScopeLevel,
    },
    /// A procedure for `task_type`; its steps are the insight's text unless given.
    Procedure {
        task_type: String,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        steps: Vec<String>,
        #[serde(default)]
        scope_level: ScopeLevel,
    },
}

/// Promote a run's insight to long-term memory. Read from one flat map: `to` picks the target,
/// and the other keys must be that target's (a key of the other target is unknown).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PromoteInsight {
    pub scope: Scope,
    pub insight_id: String,
    #[serde(flatten)]
    pub promotion: Promotion,
}

/// Where a promoted insight goes: the `to` of a [`PromoteInsight`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PromotionTarget {
    Fact,
    Procedure,
}

/// Every key a promotion may have, as plain fields: serde names the path of an error in a plain
/// struct (not inside a flattened, internally tagged enum) and refuses unknown keys; which keys
/// belong to which target is checked after.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromotionFields {
    scope: Scope,
    insight_id: String,
    to: PromotionTarget,
    #[serde(default)]
    fact_key: Option<String>,
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(default)]
    task_type: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    steps: Option<Vec<String>>,
    #[serde(default)]
    scope_level: ScopeLevel,
}

const FACT_PROMOTION_KEYS: &[&str] = &["scope", "insight_id", "to", "fact_key", "value", "scope_level"];
const PROCEDURE_PROMOTION_KEYS: &[&str] = &["scope", "insight_id", "to", "task_type", "title", "steps", "scope_level"];

impl<'de> Deserialize<'de> for PromoteInsight {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let fields = PromotionFields::deserialize(deserializer)?;
        // A key of the other target is as unknown here as a misspelt one.
        let promotion = match fields.to {
            PromotionTarget::Fact => {
                let procedure_keys = [
                    ("task_type", fields.task_type.is_some()),
                    ("title", fields.title.is_some()),
                    ("steps", fields.steps.is_some()),
                ];
                if let Some((name, _)) = procedure_keys.into_iter().find(|(_, given)| *given) {
                    return Err(D::Error::unknown_field(name, FACT_PROMOTION_KEYS));
                }
                let fact_key = fields.fact_key.ok_or_else(|| D::Error::missing_field("fact_key"))?;
                Promotion::Fact { fact_key, value: fields.value, scope_level: fields.scope_level }
            }
            PromotionTarget::Procedure => {
                if let Some((name, _)) = [("fact_key", fields.fact_key.is_some()), ("value", fields.value.is_some())]
                    .into_iter()
                    .find(|(_, given)| *given)
                {
                    return Err(D::Error::unknown_field(name, PROCEDURE_PROMOTION_KEYS));
                }
                let task_type = fields.task_type.ok_or_else(|| D::Error::missing_field("task_type"))?;
                Promotion::Procedure {
                    task_type,
                    title: fields.title,
                    steps: fields.steps.unwrap_or_default(),
                    scope_level: fields.scope_level,
                }
            }
        };
        Ok(Self { scope: fields.scope, insight_id: fields.insight_id, promotion })
    }
}

impl PromoteInsight {
    /// Checks the request and what the insight is to become, before the insight is looked up.
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        check_id("insight_id", &self.insight_id, limits.max_id_bytes)?;
        match &self.promotion {
            Promotion::Fact { fact_key, value, .. } => {
                check_id("fact_key", fact_key, limits.max_id_bytes)?;
                if let Some(value) = value {
                    check_json("value", value, limits)?;
                }
            }
            Promotion::Procedure { task_type, title, steps, .. } => {
                check_id("task_type", task_type, limits.max_id_bytes)?;
                if let Some(title) = title {
                    check_text("title", title, limits)?;
                    if title.trim().is_empty() {
                        return Err(ValidationError::new("title", "must not be empty"));
                    }
                }
                for (index, step) in steps.iter().enumerate() {
                    check_text(&format!("steps[{index}]"), step, limits)?;
                }
            }
        }
        Ok(())
    }
}

/// The result of a promotion: the insight (validated, `promoted_to` set) and what it became.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Promoted {
    pub insight: crate::Insight,
    pub fact: Option<crate::Fact>,
    pub procedure: Option<crate::Procedure>,
}

/// What `end_run` did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunEnd {
    /// Insights that expired with the run (unpromoted, not already expired).
    pub expired_insights: Vec<String>,
    /// The run's working state, ended (kept readable until swept).
    pub working_state: crate::WorkingState,
}

/// Turn a session's events beyond the conversation window into an episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsolidateRequest {
    pub scope: Scope,
    /// Newest message events left out of the episode (the conversation window); default 12,
    /// the policy's default window.
    #[serde(default = "default_window")]
    pub window: u32,
    /// Most events one consolidation reads; older ones wait for the next call.
    #[serde(default = "default_max_events")]
    pub max_events: u32,
    /// Fewer events than this beyond the window: nothing is consolidated.
    #[serde(default = "default_min_events")]
    pub min_events: u32,
    /// The clock of the operation (the wall clock when absent).
    #[serde(default)]
    pub now: Option<Timestamp>,
}

const fn default_window() -> u32 {
    12
}

const fn default_max_events() -> u32 {
    5000
}

const fn default_min_events() -> u32 {
    1
}

impl ConsolidateRequest {
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            window: default_window(),
            max_events: default_max_events(),
            min_events: default_min_events(),
            now: None,
        }
    }

    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        if self.window == 0 {
            return Err(ValidationError::new("window", "must be at least 1 (the turns kept out of the episode)"));
        }
        if self.max_events == 0 || self.max_events as usize > limits.max_sources {
            return Err(ValidationError::new(
                "max_events",
                format!("must be between 1 and {} (limits.max_sources), got {}", limits.max_sources, self.max_events),
            ));
        }
        Ok(())
    }
}

/// What a summarizer returns for the events of one consolidation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub summary: String,
    #[serde(default)]
    pub highlights: Vec<String>,
    /// Quotes worth keeping verbatim in the session's short-term state.
    #[serde(default)]
    pub key_quotes: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub entities: Vec<String>,
}

impl Summary {
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        check_text("summary", &self.summary, limits)?;
        if self.summary.trim().is_empty() {
            return Err(ValidationError::new("summary", "must not be empty"));
        }
        for (index, text) in self.highlights.iter().enumerate() {
            check_text(&format!("highlights[{index}]"), text, limits)?;
        }
        for (index, text) in self.key_quotes.iter().enumerate() {
            check_text(&format!("key_quotes[{index}]"), text, limits)?;
        }
        check_labels("tags", &self.tags, limits)?;
        check_labels("entities", &self.entities, limits)
    }
}

/// What `consolidate_session` did: the episode (none when too few events were beyond the
/// window), how many events it consumed, and the session's refreshed short-term state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Consolidation {
    pub episode: Option<crate::Episode>,
    pub consumed: u32,
    pub short_term: crate::ShortTermState,
}
