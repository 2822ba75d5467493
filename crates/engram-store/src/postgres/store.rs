use crate::error::Result;
use crate::server::server_store;
use crate::sql::{Database as _, Dialect, Statement};

server_store! {
    /// engram on a Postgres server. Behaves exactly like [`SqliteStore`](crate::SqliteStore):
    /// same records, same order, same errors, same packets. The API is synchronous; the store owns
    /// a small tokio runtime for sqlx, and may be called from inside another runtime too.
    PostgresStore on Dialect::Postgres;
    /// Connects to `dsn` (`postgres://user:pass@host:5432/engram?sslmode=require`), creating the
    /// database when it does not exist (a DSN without one means `engram`), and applies pending
    /// migrations. `sslmode` is honored; see [`ServerOptions`](crate::ServerOptions) for the timeouts.
}

impl PostgresStore {
    /// Whether this store's connections are encrypted (TLS), as the server reports it
    /// (`pg_stat_ssl`).
    pub fn uses_tls(&self) -> Result<bool> {
        let ssl = self.database.read(|connection| {
            Statement::new("SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .first_row(connection, |row| row.integer(0))
        })?;
        Ok(ssl == Some(1))
    }
}
