use serde::{Deserialize, Serialize};

use crate::validation::{ValidationError, check_id};

/// Who and where a record belongs: every query carries a complete scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub tenant_id: String,
    pub user_id: String,
    pub agent_id: String,
    pub session_id: String,
    pub run_id: String,
}

impl Scope {
    /// Checks every part: non-empty, at most `max_bytes`, no control characters.
    pub fn validate(&self, max_bytes: usize) -> Result<(), ValidationError> {
        for (name, value) in [
            ("tenant_id", &self.tenant_id),
            ("user_id", &self.user_id),
            ("agent_id", &self.agent_id),
            ("session_id", &self.session_id),
            ("run_id", &self.run_id),
        ] {
            check_id(name, value, max_bytes).map_err(|error| error.within("scope"))?;
        }
        Ok(())
    }
}

/// Who may see a long-term record (fact, episode, procedure).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ScopeLevel {
    /// Only the (tenant, user, agent) that wrote it.
    #[default]
    User,
    /// Every user of the same agent within the tenant.
    Agent,
    /// Everyone in the tenant.
    Tenant,
}

impl ScopeLevel {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Agent => "agent",
            Self::Tenant => "tenant",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "user" => Some(Self::User),
            "agent" => Some(Self::Agent),
            "tenant" => Some(Self::Tenant),
            _ => None,
        }
    }
}

/// A newest-first listing of long-term records visible from a scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub scope: Scope,
    /// At most this many records (default 100).
    #[serde(default = "default_list_limit")]
    pub limit: u32,
    /// Include superseded / rejected / expired records (default false).
    #[serde(default)]
    pub include_inactive: bool,
}

impl ListQuery {
    pub fn new(scope: Scope) -> Self {
        Self { scope, limit: default_list_limit(), include_inactive: false }
    }
}

pub(crate) const fn default_list_limit() -> u32 {
    100
}
