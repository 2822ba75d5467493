//! The public server stores, `PostgresStore` and `MySqlStore` (features `postgres`, `mysql`): a
//! [`Database`] with its limits, the type written once ([`server_store!`]).

use super::database::{Database, drop_database};
use super::options::{ServerOptions, Target};
use crate::error::Result;
use crate::sql::{Dialect, SqlStore};

/// Defines the public store type `$name` on a `$dialect` server, with its docs and those of its
/// `new` (which names the DSN's form).
macro_rules! server_store {
    ($(#[$doc:meta])* $name:ident on $dialect:expr; $(#[$new_doc:meta])*) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            database: Database,
            limits: engram_types::Limits,
        }

        impl $name {
            $(#[$new_doc])*
            pub fn new(dsn: &str) -> Result<Self> {
                Self::with_options(dsn, ServerOptions::default())
            }

            pub fn with_options(dsn: &str, options: ServerOptions) -> Result<Self> {
                let database = Database::open($dialect, Target::parse($dialect, dsn, options)?)?;
                Ok(Self { database, limits: engram_types::Limits::default() })
            }

            /// Drops the database `dsn` (or `options.database`) names, with everything in it, if it
            /// exists. For tests and teardown; no store may be using it.
            pub fn drop_database(dsn: &str, options: ServerOptions) -> Result<()> {
                drop_database($dialect, &Target::parse($dialect, dsn, options)?)
            }

            /// The same store enforcing `limits` on writes.
            #[must_use]
            pub fn with_limits(mut self, limits: engram_types::Limits) -> Self {
                self.limits = limits;
                self
            }
        }

        impl SqlStore for $name {
            type Database = Database;

            fn database(&self) -> &Database {
                &self.database
            }

            fn store_limits(&self) -> &engram_types::Limits {
                &self.limits
            }
        }
    };
}

#[cfg(feature = "postgres")]
server_store! {
    /// engram on a Postgres server. Behaves exactly like [`SqliteStore`](crate::SqliteStore):
    /// same records, same order, same errors, same packets. The API is synchronous; the store owns
    /// a small tokio runtime for sqlx, and may be called from inside another runtime too.
    PostgresStore on Dialect::Postgres;
    /// Connects to `dsn` (`postgres://user:pass@host:5432/engram?sslmode=require`), creating the
    /// database when it does not exist (a DSN without one means `engram`), and applies pending
    /// migrations. `sslmode` is honored; see [`ServerOptions`](crate::ServerOptions) for the timeouts.
    ///
    /// A DSN may name several hosts, as libpq's do (`postgres://user@primary:5432,standby:5432/engram`):
    /// they are tried in order, at open and whenever the current one fails or turns out
    /// read-only, and the store works on the first that takes writes (`target_session_attrs`:
    /// `read-write`, the default with several hosts, or `any`). After such a failover a read,
    /// or a write that failed before its COMMIT was sent, runs again on the new host; a write
    /// whose COMMIT went unanswered is `Unavailable` (it may have committed).
}

#[cfg(feature = "postgres")]
impl PostgresStore {
    /// Whether this store's connections are encrypted (TLS), as the server reports it
    /// (`pg_stat_ssl`).
    pub fn uses_tls(&self) -> Result<bool> {
        use crate::sql::{Database as _, Statement};
        let ssl = self.database.read(|connection| {
            Statement::new("SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .first_row(connection, |row| row.integer(0))
        })?;
        Ok(ssl == Some(1))
    }
}

#[cfg(feature = "mysql")]
server_store! {
    /// engram on a MySQL or MariaDB server. Behaves exactly like [`SqliteStore`](crate::SqliteStore):
    /// same records, same order, same errors, same packets. The API is synchronous; the store owns
    /// a small tokio runtime for sqlx, and may be called from inside another runtime too.
    MySqlStore on Dialect::MySql;
    /// Connects to `dsn` (`mysql://user:pass@host:3306/engram`), creating the database when it
    /// does not exist (a DSN without one means `engram`), and applies pending migrations. See
    /// [`ServerOptions`](crate::ServerOptions) for the timeouts.
}
