use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;
use crate::{Purpose, Section};

/// Weights of the scoring signals. A candidate's score is the weighted mean of its signals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub relevance: f64,
    pub recency: f64,
    pub importance: f64,
    pub confidence: f64,
    pub cue: f64,
}

impl Weights {
    /// The largest weight: only ratios between weights matter, and bounded weights keep their
    /// weighted sum finite (huge ones would overflow it to infinity, and scores to NaN).
    pub const MAX: f64 = 1000.0;

    /// The defaults for a purpose: planners lean on importance and recency, tools on
    /// relevance, responders on relevance and confidence.
    pub const fn for_purpose(purpose: Purpose) -> Self {
        match purpose {
            Purpose::Planner => Self { relevance: 0.35, recency: 0.2, importance: 0.2, confidence: 0.1, cue: 0.15 },
            Purpose::Tool => Self { relevance: 0.45, recency: 0.1, importance: 0.15, confidence: 0.1, cue: 0.2 },
            Purpose::Responder => Self { relevance: 0.45, recency: 0.15, importance: 0.1, confidence: 0.15, cue: 0.15 },
        }
    }

    fn validate(&self) -> Result<(), ValidationError> {
        let named = [
            ("relevance", self.relevance),
            ("recency", self.recency),
            ("importance", self.importance),
            ("confidence", self.confidence),
            ("cue", self.cue),
        ];
        for (name, weight) in named {
            if !(0.0..=Self::MAX).contains(&weight) {
                return Err(ValidationError::new(
                    format!("weights.{name}"),
                    format!("must be a number between 0 and {}, got {weight}", Self::MAX),
                ));
            }
        }
        if named.iter().map(|(_, weight)| weight).sum::<f64>() <= 0.0 {
            return Err(ValidationError::new("weights", "at least one weight must be above 0"));
        }
        Ok(())
    }
}

/// How relevance combines the words and the vectors when the request carries a
/// `query_embedding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FusionMethod {
    /// Weighted mean of the section's BM25 over its best and its similarity scaled from the
    /// section's lowest (0) to its highest (1); a candidate missing one counts 0 there. Scores
    /// keep how far apart candidates are: a weak vector match cannot outrank a strong word match
    /// by rank alone.
    #[default]
    Scores,
    /// Weighted reciprocal-rank fusion, `sum of weight / (rank_constant + rank)` over the
    /// rankings a candidate appears in (ranks start at 1, within its section).
    Ranks,
}

/// How the lexical and the vector evidence combine into relevance when the request carries a
/// `query_embedding` (see [`FusionMethod`]); either way divided by the best in the section.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Fusion {
    /// `scores` (default) or `ranks`.
    pub method: FusionMethod,
    /// Weight of the words: BM25 (default 1).
    pub lexical: f64,
    /// Weight of the vectors: cosine similarity (default 2).
    pub vector: f64,
    /// Damps the gap between ranks (default 20). Web search uses 60 over rankings of
    /// thousands; a section's rankings hold tens of candidates, and relevance is averaged with
    /// recency and importance, so a smaller constant keeps the first and the thirtieth apart.
    pub rank_constant: f64,
}

impl Default for Fusion {
    fn default() -> Self {
        Self { method: FusionMethod::Scores, lexical: 1.0, vector: 2.0, rank_constant: 20.0 }
    }
}

impl Fusion {
    fn validate(&self) -> Result<(), ValidationError> {
        for (name, weight) in [("lexical", self.lexical), ("vector", self.vector)] {
            if !(0.0..=Weights::MAX).contains(&weight) {
                return Err(ValidationError::new(
                    format!("fusion.{name}"),
                    format!("must be a number between 0 and {}, got {weight}", Weights::MAX),
                ));
            }
        }
        if self.lexical + self.vector <= 0.0 {
            return Err(ValidationError::new("fusion", "at least one weight must be above 0"));
        }
        if !(0.0..=10_000.0).contains(&self.rank_constant) {
            return Err(ValidationError::new(
                "fusion.rank_constant",
                format!("must be a number between 0 and 10000, got {}", self.rank_constant),
            ));
        }
        Ok(())
    }
}

/// Recency half-lives per section, in hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HalfLives {
    pub facts: f64,
    pub episodes: f64,
    pub procedures: f64,
    pub recall: f64,
    pub insights: f64,
}

impl Default for HalfLives {
    fn default() -> Self {
        Self { facts: 24.0 * 30.0, episodes: 24.0 * 7.0, procedures: 24.0 * 90.0, recall: 24.0 * 7.0, insights: 24.0 }
    }
}

impl HalfLives {
    pub const fn for_section(&self, section: Section) -> f64 {
        match section {
            Section::Facts => self.facts,
            Section::Episodes => self.episodes,
            Section::Procedures => self.procedures,
            Section::Insights => self.insights,
            _ => self.recall,
        }
    }
}

/// The most vectors a packet build compares per section: keeps the vector source's read and
/// its arithmetic bounded whatever the policy asks.
pub const MAX_VECTOR_CANDIDATES: u32 = 50_000;

/// The most context turns each way around a recalled event.
pub const MAX_CONTEXT_TURNS: u32 = 8;

/// The most recently changed facts a packet build looks up the replaced version of
/// (`Policy::replaced_within_days`), in one read by id.
pub const MAX_CHANGED_FACTS: usize = 8;

/// The longest `Policy::replaced_within_days`: a hundred years.
pub const MAX_REPLACED_WITHIN_DAYS: u32 = 36_500;

/// Per-section caps on how many items a packet includes.
pub type SectionCaps = BTreeMap<Section, u32>;

/// What may enter a packet and how candidates are found and scored. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Echoed in `meta.policy_id`.
    pub policy_id: Option<String>,
    /// Cap on all candidates of a build, across sections (default 200).
    pub max_total_candidates: u32,
    /// Most facts in a packet (default 20).
    pub max_facts: u32,
    /// Most episodes (default 5).
    pub max_episodes: u32,
    /// Most procedures (default 5).
    pub max_procedures: u32,
    /// Most insights (default 5).
    pub max_insights: u32,
    /// Most recalled events from outside the conversation window in the recall section's turn
    /// (default 8; 0 turns recall off, filling included); their context turns
    /// (`context_turns`) come on top.
    pub max_recall: u32,
    /// With a query, recalled events beyond `max_recall` may then use the tokens every other
    /// section left, best first, with their context turns (the budget stays a hard limit).
    /// The purpose's default when absent: on for responder and planner, off for tool.
    pub recall_fills_budget: Option<bool>,
    /// Message events before and after each recalled event, from its session by write order,
    /// added as its context (default 1; 0 turns it off). They score just below their event
    /// and enter only with it.
    pub context_turns: u32,
    /// Share of a recalled event's relevance that comes from its session (default 0.3, 0..1):
    /// the sum of the session's three best relevances among the candidates, divided by the best
    /// session's. Evidence for a question tends to sit together in one earlier conversation;
    /// a turn of a session that matches the query in several places outranks a lone match of
    /// equal strength. 0 turns it off.
    pub session_support: f64,
    /// Latest message events of the session shown as the conversation (default 12; 0 turns it off).
    pub conversation_window: u32,
    /// Rows each candidate query (most recent, most important, each cue) may return (default 32).
    pub candidates_per_source: u32,
    /// Newest postings read per query term (default 64); rarer terms are read in full.
    pub postings_per_term: u32,
    /// With `query_embedding`: the newest vectors per section compared with it (default 500),
    /// the vector source's bound; the `candidates_per_source` most similar become candidates.
    pub vector_candidates: u32,
    pub fusion: Fusion,
    /// Candidates scoring below this are left out with reason `low_score` (default 0).
    pub min_score: f64,
    pub half_life_hours: HalfLives,
    /// Signal weights; the purpose's defaults when absent.
    pub weights: Option<Weights>,
    /// A guard, not a cap: more active facts than this visible from the scope adds a warning
    /// to `explain.warnings` (default 5000).
    pub max_active_facts: u32,
    /// A fact that replaced another value this many days ago or less says what it replaced
    /// (`was ...`, and `replaced` in the explain), and recalled turns that still state the old
    /// value are marked outdated and demoted (default 90; 0 turns both off). The last
    /// `MAX_CHANGED_FACTS` such facts among the candidates are looked up.
    pub replaced_within_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            policy_id: None,
            max_total_candidates: 200,
            max_facts: 20,
            max_episodes: 5,
            max_procedures: 5,
            max_insights: 5,
            max_recall: 8,
            recall_fills_budget: None,
            context_turns: 1,
            session_support: 0.3,
            conversation_window: 12,
            candidates_per_source: 32,
            postings_per_term: 64,
            vector_candidates: 500,
            fusion: Fusion::default(),
            min_score: 0.0,
            half_life_hours: HalfLives::default(),
            weights: None,
            max_active_facts: 5000,
            replaced_within_days: 90,
        }
    }
}

impl Policy {
    /// The cap on included items for a scored section.
    pub const fn cap_for(&self, section: Section) -> u32 {
        match section {
            Section::Facts => self.max_facts,
            Section::Episodes => self.max_episodes,
            Section::Procedures => self.max_procedures,
            Section::Insights => self.max_insights,
            Section::Recall => self.max_recall,
            Section::ConversationWindow => self.conversation_window,
            _ => u32::MAX,
        }
    }

    /// Whether recall may fill what the other sections left (see `recall_fills_budget`): a
    /// responder or planner acting on a query wants every relevant turn that fits; a tool call
    /// wants its procedures and facts, not conversation.
    pub fn recall_fills_budget_for(&self, purpose: Purpose) -> bool {
        self.recall_fills_budget.unwrap_or(!matches!(purpose, Purpose::Tool))
    }

    pub fn weights_for(&self, purpose: Purpose) -> Weights {
        self.weights.unwrap_or_else(|| Weights::for_purpose(purpose))
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        if !self.min_score.is_finite() {
            return Err(ValidationError::new("min_score", "must be a finite number"));
        }
        if self.postings_per_term == 0 {
            return Err(ValidationError::new("postings_per_term", "must be at least 1"));
        }
        if self.context_turns > MAX_CONTEXT_TURNS {
            return Err(ValidationError::new(
                "context_turns",
                format!("must be at most {MAX_CONTEXT_TURNS}, got {}", self.context_turns),
            ));
        }
        if self.replaced_within_days > MAX_REPLACED_WITHIN_DAYS {
            return Err(ValidationError::new(
                "replaced_within_days",
                format!("must be at most {MAX_REPLACED_WITHIN_DAYS}, got {}", self.replaced_within_days),
            ));
        }
        if !(0.0..=1.0).contains(&self.session_support) {
            return Err(ValidationError::new(
                "session_support",
                format!("must be a number between 0 and 1, got {}", self.session_support),
            ));
        }
        if self.vector_candidates > MAX_VECTOR_CANDIDATES {
            return Err(ValidationError::new(
                "vector_candidates",
                format!("must be at most {MAX_VECTOR_CANDIDATES}, got {}", self.vector_candidates),
            ));
        }
        self.fusion.validate()?;
        let half_lives = self.half_life_hours;
        for (name, hours) in [
            ("facts", half_lives.facts),
            ("episodes", half_lives.episodes),
            ("procedures", half_lives.procedures),
            ("recall", half_lives.recall),
            ("insights", half_lives.insights),
        ] {
            if !hours.is_finite() || hours <= 0.0 {
                return Err(ValidationError::new(
                    format!("half_life_hours.{name}"),
                    format!("must be a number of hours above 0, got {hours}"),
                ));
            }
        }
        if let Some(weights) = &self.weights {
            weights.validate()?;
        }
        Ok(())
    }
}

/// The BPE vocabulary used to count tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tokenizer {
    /// GPT-4o family.
    #[default]
    O200kBase,
    /// GPT-4 / GPT-3.5 family.
    Cl100kBase,
}

impl Tokenizer {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::O200kBase => "o200k_base",
            Self::Cl100kBase => "cl100k_base",
        }
    }
}

/// Token limits of a packet. `max_tokens` is hard: `meta.tokens` never exceeds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    /// Most tokens in `rendered` (default 2000).
    pub max_tokens: u32,
    /// Most tokens per section, heading included.
    pub per_section: BTreeMap<Section, u32>,
    pub tokenizer: Tokenizer,
}

impl Default for Budget {
    fn default() -> Self {
        Self { max_tokens: 2000, per_section: BTreeMap::new(), tokenizer: Tokenizer::O200kBase }
    }
}

impl Budget {
    pub fn with_max_tokens(max_tokens: u32) -> Self {
        Self { max_tokens, ..Self::default() }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.max_tokens == 0 {
            return Err(ValidationError::new("max_tokens", "must be at least 1"));
        }
        Ok(())
    }
}
