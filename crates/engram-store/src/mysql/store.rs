use crate::server::server_store;
use crate::sql::Dialect;

server_store! {
    /// engram on a MySQL or MariaDB server. Behaves exactly like [`SqliteStore`](crate::SqliteStore):
    /// same records, same order, same errors, same packets. The API is synchronous; the store owns
    /// a small tokio runtime for sqlx, and may be called from inside another runtime too.
    MySqlStore on Dialect::MySql;
    /// Connects to `dsn` (`mysql://user:pass@host:3306/engram`), creating the database when it
    /// does not exist (a DSN without one means `engram`), and applies pending migrations. See
    /// [`ServerOptions`](crate::ServerOptions) for the timeouts.
}
