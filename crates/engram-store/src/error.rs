use engram_types::ValidationError;

/// The broad class of an [`Error`], the same on every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    InvalidInput,
    NotFound,
    Conflict,
    Storage,
    Unavailable,
}

impl ErrorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Storage => "storage",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Everything that can go wrong in engram-store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was rejected before anything was written; names the field.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] ValidationError),
    /// The record addressed does not exist in this scope.
    #[error("{entity} not found: {id}")]
    NotFound { entity: &'static str, id: String },
    /// The write lost a race: a stale `expected_version`, or an id already taken.
    #[error("conflict on {entity} {id}: {detail}")]
    Conflict { entity: &'static str, id: String, detail: String },
    /// The database failed or returned something engram cannot read.
    #[error("{backend} storage error: {detail}")]
    Storage {
        backend: &'static str,
        detail: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The database cannot be reached, or did not answer in time.
    #[error("{backend} unavailable: {detail}")]
    Unavailable { backend: &'static str, detail: String },
}

impl Error {
    pub const fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::Conflict { .. } => ErrorKind::Conflict,
            Self::Storage { .. } => ErrorKind::Storage,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
        }
    }

    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::InvalidInput(ValidationError::new(field, problem))
    }

    pub fn storage(backend: &'static str, detail: impl Into<String>) -> Self {
        Self::Storage { backend, detail: detail.into(), source: None }
    }

    /// A compare-and-set patch of a run's working state lost to a newer version.
    pub fn stale_version(scope: &engram_types::Scope, expected: u64, actual: u64) -> Self {
        Self::Conflict {
            entity: "working_state",
            id: scope.run_id.clone(),
            detail: format!("expected_version {expected} but the stored version is {actual}"),
        }
    }

    /// An insight is promoted once: it already became `target` (`fact:<id>`, `procedure:<id>`).
    pub fn already_promoted(insight_id: &str, target: &str) -> Self {
        Self::Conflict {
            entity: "insight",
            id: insight_id.to_string(),
            detail: format!("already promoted to {target}"),
        }
    }

    /// Names the batch position of a validation error: `events[3].scope.user_id: missing`.
    #[must_use]
    pub fn within_batch(self, index: usize) -> Self {
        match self {
            Self::InvalidInput(invalid) => Self::InvalidInput(invalid.within(&format!("events[{index}]"))),
            other => other,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
