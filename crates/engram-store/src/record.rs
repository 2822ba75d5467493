//! The read primitives backends implement: fetching records by a bounded selector, reading
//! postings of the lexical index, and reading the newest vectors.

use std::collections::BTreeMap;
use std::sync::Arc;

pub use engram_types::RecordKind;
use engram_types::{Episode, Event, Fact, Insight, Procedure, Scope, ScopeLevel, Timestamp};
use serde::{Deserialize, Serialize};

use crate::lexical::IndexedTerms;

/// A stored record of any kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Event(Event),
    Fact(Fact),
    Episode(Episode),
    Procedure(Procedure),
    Insight(Insight),
}

/// Which records of a scope a fetch may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The scope's run (events, insights).
    Run,
    /// The scope's session (events).
    Session,
    /// The scope's memory space: (tenant, user, agent), plus records shared at agent or
    /// tenant level (facts, episodes, procedures; for events, all the user's sessions).
    Space,
}

/// How a fetch picks its records. Every selector is served by an index range with a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Newest first (by event ts, fact recorded_at, episode end_ts, procedure updated_at,
    /// insight created_at), ties by insertion order, newest first.
    Newest,
    /// Highest importance (procedures: priority; insights: confidence) first, then newest.
    MostImportant,
    /// These records, by the sequence numbers the lexical index returned.
    Sequences(Vec<i64>),
    /// Events around these anchors in their own sessions (by time, then sequence): for each
    /// anchor and each event kind asked for, the `limit` nearest before it and the `limit`
    /// nearest after it, the anchor itself excluded. Rows found for several anchors come once,
    /// newest first; the caller picks each anchor's nearest. Events only, `Reach::Space`.
    Neighbours(Vec<Anchor>),
}

/// A place in a session's timeline: a stored event's session, time and sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub session_id: String,
    pub time: Timestamp,
    pub sequence: i64,
}

impl Anchor {
    /// Where `time` and `sequence` sit relative to the anchor, in its session's order.
    pub fn position(&self, time: Timestamp, sequence: i64) -> std::cmp::Ordering {
        (time.timestamp_millis(), sequence).cmp(&(self.time.timestamp_millis(), self.sequence))
    }
}

/// One bounded read of records.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchRequest {
    pub kind: RecordKind,
    pub scope: Scope,
    pub reach: Reach,
    pub selector: Selector,
    pub limit: u32,
    /// Only current records: active facts, insights not rejected. Expiry is not filtered here.
    pub active_only: bool,
    /// Events only: keep these event kinds (all when empty).
    pub event_kinds: Vec<engram_types::EventKind>,
    /// Only records whose time is strictly before / after these instants.
    pub before: Option<Timestamp>,
    pub after: Option<Timestamp>,
}

impl FetchRequest {
    /// Checks the request is one every backend serves from an index with a limit. Events are
    /// indexed newest first per session: a newest-first fetch of events must name a session
    /// or run, and events are not fetched by importance (the lexical index reaches the rest).
    pub fn validate(&self) -> Result<(), engram_types::ValidationError> {
        if matches!(self.selector, Selector::Neighbours(_)) && self.kind != RecordKind::Event {
            return Err(engram_types::ValidationError::new("selector", "only events are fetched around anchors"));
        }
        if self.kind == RecordKind::Event {
            if self.selector == Selector::MostImportant {
                return Err(engram_types::ValidationError::new(
                    "selector",
                    "events are fetched newest first or by sequence, not by importance",
                ));
            }
            if let Selector::Neighbours(_) = self.selector
                && self.reach != Reach::Space
            {
                return Err(engram_types::ValidationError::new("reach", "neighbour fetches reach the whole space"));
            }
            if self.reach == Reach::Space && self.selector == Selector::Newest {
                return Err(engram_types::ValidationError::new(
                    "reach",
                    "newest-first event fetches must name a session or run",
                ));
            }
        }
        Ok(())
    }

    /// Whether a record passes this request's filters other than tenant and space (which
    /// every backend applies in its index lookup): activity, reach, time bounds, event kinds.
    pub fn matches(&self, record: &Record) -> bool {
        if self.active_only && !record.is_active() {
            return false;
        }
        let owner = record.scope();
        let within_reach = match self.reach {
            Reach::Space => true,
            Reach::Session => owner.session_id == self.scope.session_id,
            Reach::Run => owner.run_id == self.scope.run_id && owner.session_id == self.scope.session_id,
        };
        let time = record.time();
        if !within_reach
            || self.before.is_some_and(|before| time >= before)
            || self.after.is_some_and(|after| time <= after)
        {
            return false;
        }
        match record {
            Record::Event(event) => self.event_kinds.is_empty() || self.event_kinds.contains(&event.kind),
            _ => true,
        }
    }

    pub fn new(kind: RecordKind, scope: Scope, reach: Reach, selector: Selector, limit: u32) -> Self {
        Self {
            kind,
            scope,
            reach,
            selector,
            limit,
            active_only: true,
            event_kinds: Vec::new(),
            before: None,
            after: None,
        }
    }
}

/// A record together with its insertion sequence (the lexical index's document id).
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub sequence: i64,
    /// Shared: the in-memory store hands out its own copy, and a packet moves it into a
    /// candidate without copying.
    pub record: Arc<Record>,
    /// The terms the record was indexed with, when the store keeps them at hand: a packet then
    /// scores the record without analyzing its text again.
    pub terms: Option<IndexedTerms>,
    /// The token count kept from write time of the text that ends the record's full line in a
    /// packet ([`crate::prepare::Prepared::line_tokens`]), when the store keeps it: a packet
    /// then counts only the short head of that line.
    pub line_tokens: Option<u32>,
}

impl Fetched {
    /// A fetched record whose indexed terms and line tokens are not at hand (they are derived
    /// when needed).
    pub fn new(sequence: i64, record: Record) -> Self {
        Self { sequence, record: Arc::new(record), terms: None, line_tokens: None }
    }
}

/// Read the newest `per_term` postings of each term, in the spaces visible from a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct PostingsRequest {
    pub kind: RecordKind,
    pub tenant_id: String,
    pub spaces: Vec<String>,
    pub terms: Vec<String>,
    pub per_term: u32,
}

/// The postings of one term: document frequency over the spaces read, and the newest
/// sequence numbers (at most `per_term`), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermPostings {
    pub document_frequency: u64,
    pub sequences: Vec<i64>,
}

/// What a postings read returns: per term its postings, plus the totals BM25 needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Postings {
    pub terms: BTreeMap<String, TermPostings>,
    /// Documents in the spaces read.
    pub document_count: u64,
    /// Sum of the lexical lengths of those documents.
    pub total_length: u64,
}

/// The newest vectors of a kind in some spaces: the vector candidate source's one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorRequest {
    pub kind: RecordKind,
    pub tenant_id: String,
    /// At most [`MAX_VECTOR_SPACES`] spaces (those [`visible_spaces`] gives).
    pub spaces: Vec<String>,
    /// 1 to [`engram_types::MAX_VECTOR_CANDIDATES`] vectors.
    pub limit: u32,
}

/// The most spaces one vector read covers: a scope sees at most three (own, agent, tenant).
pub const MAX_VECTOR_SPACES: usize = 3;

impl VectorRequest {
    /// Checks the read is one every backend serves with at most three limited index ranges.
    pub fn validate(&self, limits: &engram_types::Limits) -> Result<(), engram_types::ValidationError> {
        engram_types::check_id("tenant_id", &self.tenant_id, limits.max_id_bytes)?;
        if self.kind == RecordKind::Insight {
            return Err(engram_types::ValidationError::new("kind", "insights have no vectors"));
        }
        if self.spaces.len() > MAX_VECTOR_SPACES {
            return Err(engram_types::ValidationError::new(
                "spaces",
                format!("names {} spaces, the limit is {MAX_VECTOR_SPACES}", self.spaces.len()),
            ));
        }
        if self.limit == 0 || self.limit > engram_types::MAX_VECTOR_CANDIDATES {
            return Err(engram_types::ValidationError::new(
                "limit",
                format!("must be 1 to {}, got {}", engram_types::MAX_VECTOR_CANDIDATES, self.limit),
            ));
        }
        Ok(())
    }
}

/// One stored vector and the sequence of its record (as [`Fetched::sequence`] and
/// [`Selector::Sequences`] use it).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVector {
    pub sequence: i64,
    pub embedding: Vec<f32>,
}

/// What a vector read returns: the tenant's vector length (`None` before its first vector),
/// and the newest vectors, newest (highest sequence) first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vectors {
    pub dimensions: Option<u32>,
    pub vectors: Vec<StoredVector>,
}

/// The memory spaces a scope can read: its own, then the agent-wide and tenant-wide ones.
/// Identifiers cannot hold control characters, so the unit separator keeps keys unambiguous.
pub fn visible_spaces(scope: &Scope, kind: RecordKind) -> Vec<String> {
    match kind {
        RecordKind::Event => vec![space_key(scope, ScopeLevel::User)],
        RecordKind::Insight => vec![run_space_key(scope)],
        _ => [ScopeLevel::User, ScopeLevel::Agent, ScopeLevel::Tenant]
            .into_iter()
            .map(|level| space_key(scope, level))
            .collect(),
    }
}

/// The memory space a record of `scope` at `level` lives in.
pub fn space_key(scope: &Scope, level: ScopeLevel) -> String {
    match level {
        ScopeLevel::User => ["u", &scope.user_id, &scope.agent_id].join("\u{1f}"),
        ScopeLevel::Agent => ["a", &scope.agent_id].join("\u{1f}"),
        ScopeLevel::Tenant => "t".to_string(),
    }
}

/// Insights are scoped to their run: each run is its own space.
pub fn run_space_key(scope: &Scope) -> String {
    ["r", &scope.user_id, &scope.agent_id, &scope.run_id].join("\u{1f}")
}

/// Counts of a scope's records, for `stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Events of the user's memory space (all sessions).
    pub events: u64,
    /// Facts by status.
    pub facts: BTreeMap<String, u64>,
    pub episodes: u64,
    pub procedures: u64,
    /// Insights of the run by validation state.
    pub insights: BTreeMap<String, u64>,
    pub oldest_event: Option<Timestamp>,
    pub newest_event: Option<Timestamp>,
    pub working_state_version: u64,
    /// Episodes by compression level as stored.
    #[serde(default)]
    pub episode_levels: BTreeMap<String, u64>,
    /// Size of the whole database in bytes, where the backend can tell (not in memory).
    #[serde(default)]
    pub database_bytes: Option<u64>,
}

impl Stats {
    /// Adds `count` records of `kind` in state `label` (fact status, insight validation).
    pub fn add(&mut self, kind: RecordKind, label: String, count: u64) {
        match kind {
            RecordKind::Fact if count > 0 => *self.facts.entry(label).or_insert(0) += count,
            RecordKind::Insight if count > 0 => *self.insights.entry(label).or_insert(0) += count,
            RecordKind::Episode => {
                self.episodes += count;
                if count > 0 {
                    *self.episode_levels.entry(label).or_insert(0) += count;
                }
            }
            RecordKind::Procedure => self.procedures += count,
            RecordKind::Event => self.events += count,
            _ => {}
        }
    }
}

impl Record {
    pub const fn kind(&self) -> RecordKind {
        match self {
            Self::Event(_) => RecordKind::Event,
            Self::Fact(_) => RecordKind::Fact,
            Self::Episode(_) => RecordKind::Episode,
            Self::Procedure(_) => RecordKind::Procedure,
            Self::Insight(_) => RecordKind::Insight,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Event(event) => &event.event_id,
            Self::Fact(fact) => &fact.fact_id,
            Self::Episode(episode) => &episode.episode_id,
            Self::Procedure(procedure) => &procedure.procedure_id,
            Self::Insight(insight) => &insight.insight_id,
        }
    }

    pub const fn scope(&self) -> &Scope {
        match self {
            Self::Event(event) => &event.scope,
            Self::Fact(fact) => &fact.scope,
            Self::Episode(episode) => &episode.scope,
            Self::Procedure(procedure) => &procedure.scope,
            Self::Insight(insight) => &insight.scope,
        }
    }

    /// The level a long-term record is shared at; events and insights have none (their space
    /// is their user's, or their run).
    pub const fn scope_level(&self) -> Option<ScopeLevel> {
        match self {
            Self::Fact(fact) => Some(fact.scope_level),
            Self::Episode(episode) => Some(episode.scope_level),
            Self::Procedure(procedure) => Some(procedure.scope_level),
            Self::Event(_) | Self::Insight(_) => None,
        }
    }

    /// The instant `Selector::Newest` orders by.
    pub const fn time(&self) -> Timestamp {
        match self {
            Self::Event(event) => event.ts,
            Self::Fact(fact) => fact.recorded_at,
            Self::Episode(episode) => episode.end_ts,
            Self::Procedure(procedure) => procedure.updated_at,
            Self::Insight(insight) => insight.created_at,
        }
    }

    /// The number `Selector::MostImportant` orders by.
    pub const fn weight(&self) -> f64 {
        match self {
            Self::Event(event) => event.importance,
            Self::Fact(fact) => fact.importance,
            Self::Episode(episode) => episode.importance,
            Self::Procedure(procedure) => procedure.priority,
            Self::Insight(insight) => insight.confidence,
        }
    }

    /// Tokens of the record's main text, counted when it was written.
    pub const fn token_count(&self) -> u32 {
        match self {
            Self::Event(event) => event.token_count,
            Self::Fact(fact) => fact.token_count,
            Self::Episode(episode) => episode.token_count,
            Self::Procedure(procedure) => procedure.token_count,
            Self::Insight(insight) => insight.token_count,
        }
    }

    /// Current: an active fact, an insight not rejected; every other record.
    pub fn is_active(&self) -> bool {
        match self {
            Self::Fact(fact) => fact.status == engram_types::FactStatus::Active,
            Self::Insight(insight) => insight.validation != engram_types::ValidationState::Rejected,
            _ => true,
        }
    }

    /// The record's vector, if it has one (insights never do).
    pub fn embedding(&self) -> Option<&[f32]> {
        match self {
            Self::Event(event) => event.embedding.as_deref(),
            Self::Fact(fact) => fact.embedding.as_deref(),
            Self::Episode(episode) => episode.embedding.as_deref(),
            Self::Procedure(procedure) => procedure.embedding.as_deref(),
            Self::Insight(_) => None,
        }
    }

    pub const fn expires_at(&self) -> Option<Timestamp> {
        match self {
            Self::Event(event) => event.expires_at,
            Self::Fact(fact) => fact.expires_at,
            Self::Episode(episode) => episode.expires_at,
            Self::Procedure(procedure) => procedure.expires_at,
            Self::Insight(insight) => insight.expires_at,
        }
    }
}
