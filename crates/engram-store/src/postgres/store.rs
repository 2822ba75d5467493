use engram_types::Limits;

use crate::error::Result;
use crate::server::{Database, ServerOptions, ServerStore};
use crate::sql::{Dialect, SqlStore};

/// engram on a Postgres server. Behaves exactly like [`SqliteStore`](crate::SqliteStore):
/// same records, same order, same errors, same packets. The API is synchronous; the store owns
/// a small tokio runtime for sqlx, and may be called from inside another runtime too.
#[derive(Debug)]
pub struct PostgresStore {
    inner: ServerStore,
}

impl PostgresStore {
    /// Connects to `dsn` (`postgres://user:pass@host:5432/engram?sslmode=require`), creating the
    /// database when it does not exist (a DSN without one means `engram`), and applies pending
    /// migrations. `sslmode` is honored; see [`ServerOptions`] for the timeouts.
    pub fn new(dsn: &str) -> Result<Self> {
        Self::with_options(dsn, ServerOptions::default())
    }

    pub fn with_options(dsn: &str, options: ServerOptions) -> Result<Self> {
        Ok(Self { inner: ServerStore::open(Dialect::Postgres, dsn, options)? })
    }

    /// Drops the database `dsn` (or `options.database`) names, with everything in it, if it
    /// exists. For tests and teardown; no store may be using it.
    pub fn drop_database(dsn: &str, options: ServerOptions) -> Result<()> {
        ServerStore::drop_database(Dialect::Postgres, dsn, options)
    }

    /// The same store enforcing `limits` on writes.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.inner.limits = limits;
        self
    }

    /// Whether this store's connections are encrypted (TLS), as the server reports it.
    pub fn uses_tls(&self) -> Result<bool> {
        self.inner.uses_tls()
    }
}

impl SqlStore for PostgresStore {
    type Database = Database;

    fn database(&self) -> &Database {
        &self.inner.database
    }

    fn store_limits(&self) -> &Limits {
        &self.inner.limits
    }
}
