use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{OutputFormat, Purpose, Scope, Section, Timestamp, ValidationState, WorkingState};

/// The version of the packet contract; bumped on any breaking change to its shape.
pub const SCHEMA_VERSION: &str = "v1";

/// The context an agent injects before a model call, with the reasons behind every choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryPacket {
    pub meta: PacketMeta,
    pub short_term: ShortTermMemory,
    pub long_term: LongTermMemory,
    /// Run-scoped insights that passed the purpose's gate.
    pub insight: Vec<PacketItem>,
    /// For every included item, the records it rests on.
    pub citations: Vec<Citation>,
    pub budget_report: BudgetReport,
    pub explain: Explain,
    /// The packet as prompt text, ready to inject; exactly `meta.tokens` tokens.
    pub rendered: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PacketMeta {
    pub schema_version: String,
    pub scope: Scope,
    pub purpose: Purpose,
    pub task_type: Option<String>,
    pub generated_at: Timestamp,
    /// Exact token count of `rendered` with `tokenizer`.
    pub tokens: u32,
    pub tokenizer: String,
    pub policy_id: Option<String>,
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShortTermMemory {
    pub working_state: Option<WorkingState>,
    /// Latest messages of the session, oldest first.
    pub conversation_window: Vec<PacketItem>,
    pub rolling_summary: Option<String>,
    pub key_quotes: Vec<String>,
    pub open_loops: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LongTermMemory {
    pub facts: Vec<PacketItem>,
    pub episodes: Vec<PacketItem>,
    pub procedures: Vec<PacketItem>,
    /// Relevant events from outside the conversation window (earlier sessions included).
    pub recall: Vec<PacketItem>,
}

/// How much of an item made it into the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemForm {
    Full,
    /// Shortened text.
    Compact,
    /// Only the id and a label, for the agent to fetch if needed.
    Reference,
}

/// One included record, in the form the budget allowed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PacketItem {
    pub id: String,
    pub form: ItemForm,
    /// The text as rendered (shortened when `form` is compact).
    pub text: String,
    pub score: f64,
    pub ts: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fact_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    pub id: String,
    pub section: Section,
    /// Ids of the records (usually events) the item was derived from.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Degradation {
    pub id: String,
    pub section: Section,
    pub from: ItemForm,
    pub to: ItemForm,
    /// Tokens the full form would have cost minus what the kept form costs.
    pub tokens_saved: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetReport {
    pub max_tokens: u32,
    /// Equals `meta.tokens` and the sum of `section_usage`.
    pub used_tokens: u32,
    /// Tokens per section, heading included.
    pub section_usage: BTreeMap<Section, u32>,
    /// How many candidates were left out, per reason.
    pub omissions: BTreeMap<OmissionReason, u32>,
    pub degradations: Vec<Degradation>,
}

/// Why a candidate was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OmissionReason {
    /// Its section's token budget was used up.
    SectionBudget,
    /// The packet's token budget was used up.
    TotalBudget,
    /// A policy cap (per-section count or `max_total_candidates`) was reached.
    PolicyCap,
    /// The purpose may not see it (e.g. unvalidated insights for the responder).
    PurposeGate,
    Expired,
    Superseded,
    /// Already in the packet through another section.
    Duplicate,
    /// Outside `cues.time_range`.
    TimeWindow,
    /// Scored below `policy.min_score`.
    LowScore,
    /// An aged episode (compression level phase, milestone or theme) that did not match as
    /// many query terms or cues as its level needs (1, 2, 3).
    WeakCue,
}

/// The normalized signals behind a score, each in `[0, 1]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signals {
    /// How well the item answers the query, the best in its section being 1: BM25 of the
    /// query terms; with `query_embedding`, the weighted reciprocal-rank fusion of the BM25
    /// rank and the vector rank (`policy.fusion`).
    pub relevance: f64,
    /// `0.5 ^ (age / half-life)`.
    pub recency: f64,
    pub importance: f64,
    pub confidence: f64,
    /// Share of the request's tag and entity cues the item carries.
    pub cue: f64,
    /// Cosine similarity of the item's vector to `query_embedding` (below 0 counts as 0); 0
    /// when either is missing.
    #[serde(default)]
    pub vector: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectedItem {
    pub id: String,
    pub section: Section,
    /// 1-based position within its section, by score.
    pub rank: u32,
    pub score: f64,
    pub signals: Signals,
    pub matched_terms: Vec<String>,
    pub cue_hits: Vec<String>,
    /// The first candidate source that found it (lexical, vector, cue, recent, importance,
    /// window, state, context).
    pub source: String,
    /// Every candidate source that found it.
    pub sources: Vec<String>,
    pub form: ItemForm,
    pub tokens: u32,
    /// A turn included as context: the recalled event it neighbours (`policy.context_turns`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_of: Option<String>,
    /// What the item is: `event`, `fact`, `episode`, `procedure`, `insight`, or the state it
    /// shows (`working_state`, `rolling_summary`, `key_quotes`).
    #[serde(default)]
    pub kind: String,
    /// The item's text in the form it was placed in, as `rendered` shows it.
    #[serde(default)]
    pub text: String,
    /// When the record happened or was written (none for state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    /// The query's own words behind `matched_terms` (which are index terms: stems).
    #[serde(default)]
    pub matched_words: Vec<String>,
    /// Where the item came from: the records it rests on (a fact's, episode's or insight's
    /// `sources`, e.g. the turns a fact was extracted from), as in `citations`.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// A fact that replaced another value lately (`policy.replaced_within_days`): that version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<ReplacedVersion>,
    /// A recalled turn that states what this newer fact replaced: marked outdated, score halved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outdated_by: Option<String>,
}

/// The version of a fact that a newer one replaced, as the explain shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplacedVersion {
    pub fact_id: String,
    pub value: serde_json::Value,
    pub text: String,
    pub valid_from: Timestamp,
    pub valid_to: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OmittedItem {
    pub id: String,
    pub section: Section,
    pub reason: OmissionReason,
    pub score: Option<f64>,
}

/// Per-section counts at each stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainCounts {
    pub candidates: BTreeMap<Section, u32>,
    pub selected: BTreeMap<Section, u32>,
    pub omitted: BTreeMap<Section, u32>,
    pub degraded: u32,
}

/// Microseconds spent in each stage of the build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageTimings {
    pub candidates: u64,
    pub score: u64,
    pub assemble: u64,
    pub render: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Explain {
    pub selected: Vec<SelectedItem>,
    pub omitted: Vec<OmittedItem>,
    pub counts: ExplainCounts,
    pub timings_us: StageTimings,
    /// The query's terms after tokenizing, stop words and stemming.
    pub query_terms: Vec<String>,
    /// Terms so common that only their newest postings competed.
    pub capped_terms: Vec<String>,
    pub warnings: Vec<String>,
}
