//! What `PostgresStore` and `MySqlStore` share: a [`Database`] with its limits.

use engram_types::Limits;

use super::database::Database;
use super::options::{ServerOptions, Target};
use crate::error::Result;
use crate::sql::Dialect;

/// A store on a Postgres or MySQL server.
#[derive(Debug)]
pub(crate) struct ServerStore {
    pub database: Database,
    pub limits: Limits,
}

impl ServerStore {
    pub(crate) fn open(dialect: Dialect, dsn: &str, options: ServerOptions) -> Result<Self> {
        let target = Target::parse(dialect, dsn, options)?;
        Ok(Self { database: Database::open(dialect, &target)?, limits: Limits::default() })
    }

    /// Drops the database `dsn` (or `options.database`) names, if it exists.
    pub(crate) fn drop_database(dialect: Dialect, dsn: &str, options: ServerOptions) -> Result<()> {
        super::database::drop_database(dialect, &Target::parse(dialect, dsn, options)?)
    }

    /// Whether the connections to the server are encrypted (Postgres only: `pg_stat_ssl`).
    #[cfg(feature = "postgres")]
    pub(crate) fn uses_tls(&self) -> Result<bool> {
        use crate::sql::{Database as _, Statement};
        let ssl = self.database.read(|connection| {
            Statement::new("SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .first_row(connection, |row| row.integer(0))
        })?;
        Ok(ssl == Some(1))
    }
}
