//! The maintenance primitives backends implement for the lifecycle (`lifecycle/`): scanning an
//! owner's records and states in insertion order, deleting them with their index entries, and
//! restoring exported ones as they were. Packet builds never use these.

use engram_types::{RecordKind, Scope, ShortTermState, Timestamp, ValidationError, WorkingState};
use serde::{Deserialize, Serialize};

use crate::record::Record;

/// Records of one kind, oldest sequence first, matching every filter given. Without a tenant
/// a scan must bound expiry or time (the sweep); every other scan names its tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRequest {
    pub kind: RecordKind,
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub session_id: Option<String>,
    pub run_id: Option<String>,
    /// Only these ids (within the tenant).
    pub ids: Vec<String>,
    /// Only records with `expires_at <= expired_at`.
    pub expired_at: Option<Timestamp>,
    /// Only records whose time (`Record::time`) is strictly before this.
    pub before: Option<Timestamp>,
    /// Only records with a larger sequence: the page cursor.
    pub after_sequence: i64,
    pub limit: u32,
}

impl ScanRequest {
    pub fn new(kind: RecordKind, limit: u32) -> Self {
        Self {
            kind,
            tenant_id: None,
            user_id: None,
            agent_id: None,
            session_id: None,
            run_id: None,
            ids: Vec::new(),
            expired_at: None,
            before: None,
            after_sequence: 0,
            limit,
        }
    }

    /// The records of one user and agent (every session and run).
    pub fn owned_by(kind: RecordKind, scope: &Scope, limit: u32) -> Self {
        Self {
            tenant_id: Some(scope.tenant_id.clone()),
            user_id: Some(scope.user_id.clone()),
            agent_id: Some(scope.agent_id.clone()),
            ..Self::new(kind, limit)
        }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.tenant_id.is_none() && self.expired_at.is_none() && self.before.is_none() {
            return Err(ValidationError::new(
                "tenant_id",
                "a scan without a tenant must select expired or old records (expired_at or before)",
            ));
        }
        if self.tenant_id.is_none() && (self.user_id.is_some() || !self.ids.is_empty()) {
            return Err(ValidationError::new("tenant_id", "is required with user_id or ids"));
        }
        if self.limit == 0 {
            return Err(ValidationError::new("limit", "must be at least 1"));
        }
        Ok(())
    }

    /// Whether a record passes the filters (the in-memory store's scan, and a check for the others).
    pub fn matches(&self, record: &Record) -> bool {
        let owner = record.scope();
        let same = |filter: &Option<String>, value: &str| filter.as_deref().is_none_or(|wanted| wanted == value);
        same(&self.tenant_id, &owner.tenant_id)
            && same(&self.user_id, &owner.user_id)
            && same(&self.agent_id, &owner.agent_id)
            && same(&self.session_id, &owner.session_id)
            && same(&self.run_id, &owner.run_id)
            && (self.ids.is_empty() || self.ids.iter().any(|id| id == record.id()))
            && self.expired_at.is_none_or(|now| record.expires_at().is_some_and(|expires_at| expires_at <= now))
            && self.before.is_none_or(|before| record.time() < before)
    }
}

/// Whose working and short-term states a state scan returns. `ended_at` selects the working
/// states of runs ended at or before it (any tenant; the sweep).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateScan {
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub ended_at: Option<Timestamp>,
    pub limit: u32,
}

impl StateScan {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.tenant_id.is_none() && self.ended_at.is_none() {
            return Err(ValidationError::new("tenant_id", "a state scan without a tenant must select ended runs"));
        }
        if self.limit == 0 {
            return Err(ValidationError::new("limit", "must be at least 1"));
        }
        Ok(())
    }

    pub fn matches(&self, stored: &StoredState) -> bool {
        let owner = stored.owner();
        let ended_at = match stored {
            StoredState::WorkingState { state, .. } => state.ended_at,
            StoredState::ShortTerm { .. } => None,
        };
        let same = |filter: &Option<String>, value: &str| filter.as_deref().is_none_or(|wanted| wanted == value);
        same(&self.tenant_id, &owner.tenant_id)
            && same(&self.user_id, &owner.user_id)
            && same(&self.agent_id, &owner.agent_id)
            && self.ended_at.is_none_or(|now| ended_at.is_some_and(|ended| ended <= now))
    }
}

/// Who a stored state belongs to: a session's short-term state has no run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StateOwner {
    pub tenant_id: String,
    pub user_id: String,
    pub agent_id: String,
    pub session_id: String,
    #[serde(default)]
    pub run_id: Option<String>,
}

impl StateOwner {
    /// The scope this owner stands for (a short-term owner's run is empty: keys ignore it).
    pub fn scope(&self) -> Scope {
        Scope {
            tenant_id: self.tenant_id.clone(),
            user_id: self.user_id.clone(),
            agent_id: self.agent_id.clone(),
            session_id: self.session_id.clone(),
            run_id: self.run_id.clone().unwrap_or_default(),
        }
    }

    pub fn of_run(scope: &Scope) -> Self {
        Self { run_id: Some(scope.run_id.clone()), ..Self::of_session(scope) }
    }

    /// The table its state is stored in: a run's working state, or a session's short-term state.
    pub const fn table(&self) -> &'static str {
        if self.run_id.is_some() { "working_states" } else { "short_terms" }
    }

    pub fn of_session(scope: &Scope) -> Self {
        Self {
            tenant_id: scope.tenant_id.clone(),
            user_id: scope.user_id.clone(),
            agent_id: scope.agent_id.clone(),
            session_id: scope.session_id.clone(),
            run_id: None,
        }
    }
}

/// A working state or short-term state as stored, with its owner (exports, purges, sweeps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoredState {
    WorkingState { owner: StateOwner, state: WorkingState },
    ShortTerm { owner: StateOwner, state: ShortTermState },
}

impl StoredState {
    pub const fn owner(&self) -> &StateOwner {
        match self {
            Self::WorkingState { owner, .. } | Self::ShortTerm { owner, .. } => owner,
        }
    }

    /// The table it is stored in.
    pub const fn table(&self) -> &'static str {
        match self {
            Self::WorkingState { .. } => "working_states",
            Self::ShortTerm { .. } => "short_terms",
        }
    }

    /// The state with its owner as its table keys it: a working state's with a run (empty when
    /// missing), a short-term state's without, so [`StateOwner::table`] is [`Self::table`].
    pub fn keyed(self) -> Self {
        let scope = self.owner().scope();
        match self {
            Self::WorkingState { state, .. } => Self::WorkingState { owner: StateOwner::of_run(&scope), state },
            Self::ShortTerm { state, .. } => Self::ShortTerm { owner: StateOwner::of_session(&scope), state },
        }
    }
}

/// Records (by id within one tenant) and states to delete, each with its index entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeleteRequest {
    pub tenant_id: String,
    pub records: Vec<(RecordKind, String)>,
    /// Working states (owner with a run) and short-term states (owner without).
    pub states: Vec<StateOwner>,
    /// Also delete the lexical spaces (with their totals) the deletion left without documents,
    /// so no row keeps naming a forgotten user. Writes resolve space ids from the database in
    /// their own transaction, so a dropped space is simply created again by the next write.
    pub drop_empty_spaces: bool,
}

/// The tables a kind's rows and postings live in, as receipts name them.
#[derive(Debug, Clone, Copy)]
pub struct TableNames {
    pub table: &'static str,
    pub postings: &'static str,
}

pub const fn table_names(kind: RecordKind) -> TableNames {
    match kind {
        RecordKind::Event => TableNames { table: "events", postings: "event_postings" },
        RecordKind::Fact => TableNames { table: "facts", postings: "fact_postings" },
        RecordKind::Episode => TableNames { table: "episodes", postings: "episode_postings" },
        RecordKind::Procedure => TableNames { table: "procedures", postings: "procedure_postings" },
        RecordKind::Insight => TableNames { table: "insights", postings: "insight_postings" },
    }
}
