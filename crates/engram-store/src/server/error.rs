//! sqlx errors -> engram error kinds, the same mapping on Postgres and MySQL.

use sqlx::error::ErrorKind as DatabaseErrorKind;

use crate::error::Error;
use crate::sql::Dialect;

/// The server could not be reached, did not answer or cannot take writes now (network, pool,
/// TLS, shutdown, a cancelled statement, a read-only server) -> `Unavailable`; a DSN sqlx cannot parse -> `InvalidInput` on `dsn`; a unique key taken -> `Conflict`; a deadlock or serialization
/// failure -> `Conflict` on the transaction (another process wrote the same keys; running the
/// call again succeeds); the rest -> `Storage`.
pub(super) fn database_error(dialect: Dialect, error: sqlx::Error) -> Error {
    let backend = dialect.backend();
    match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::Unavailable { backend, detail: error.to_string() },
        // A DSN sqlx cannot parse (empty host, bad port, unknown sslmode) is the caller's input.
        sqlx::Error::Configuration(problem) => Error::invalid("dsn", problem.to_string()),
        sqlx::Error::Database(database) => {
            let code = database.code().unwrap_or_default().to_string();
            if database.kind() == DatabaseErrorKind::UniqueViolation {
                Error::Conflict { entity: UNIQUE_KEY, id: String::new(), detail: database.message().to_string() }
            } else if is_retryable_code(&code) {
                Error::Conflict { entity: TRANSACTION, id: String::new(), detail: database.message().to_string() }
            } else if is_unavailable_code(dialect, &code, database.message()) {
                Error::Unavailable { backend, detail: database.message().to_string() }
            } else {
                Error::Storage { backend, detail: error.to_string(), source: Some(Box::new(error)) }
            }
        }
        _ => Error::Storage { backend, detail: error.to_string(), source: Some(Box::new(error)) },
    }
}

/// The entity of a `Conflict` the database raised: a unique key taken, or a deadlock or
/// serialization failure.
const UNIQUE_KEY: &str = "record";
const TRANSACTION: &str = "transaction";

/// Whether a write failed because a concurrent writer (another process) got there first: the
/// database refused a unique key or broke a deadlock. Running it again reads what that writer
/// committed, so writes that read before they write retry on this.
pub(super) fn lost_race(error: &Error) -> bool {
    matches!(error, Error::Conflict { entity: UNIQUE_KEY | TRANSACTION, .. })
}

/// Whether the database aborted the whole transaction (a deadlock, a serialization failure, a
/// Galera certification failure: MySQL 1213, SQLSTATE 40001): nothing of it was stored, so any
/// write may run again. Galera certifies a node's transaction against those other nodes
/// committed meanwhile, and concurrent writes through two nodes to one scope (its postings and
/// totals rows) fail it often.
pub(super) fn aborted(error: &Error) -> bool {
    matches!(error, Error::Conflict { entity: TRANSACTION, .. })
}

/// Deadlock and serialization failure: the transaction can simply run again.
fn is_retryable_code(code: &str) -> bool {
    matches!(code, "40001" | "40P01")
}

/// SQLSTATE class 08 (connection; a Galera node outside the primary component answers 1047,
/// 08S01, "WSREP has not yet prepared node for application use"), 57 (operator intervention:
/// shutdown, cancelled statement), 53 (insufficient resources: too many connections), 25006
/// (read_only_sql_transaction: a write sent to a standby or a read-only server, which cannot take
/// writes now; with several hosts the store moves to one that can); MySQL's lock wait timeout
/// (also Galera's causal read that timed out); a Galera commit the node could not replicate
/// because it left the primary component meanwhile (1180, HY000: nothing stored).
fn is_unavailable_code(dialect: Dialect, code: &str, message: &str) -> bool {
    code == "25006"
        || code.starts_with("08")
        || code.starts_with("57")
        || code.starts_with("53")
        || (dialect == Dialect::MySql
            && (message.contains("Lock wait timeout") || message.contains("Not connected to Primary Component")))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::error::ErrorKind;

    /// A server's error as sqlx hands it over: its SQLSTATE and message.
    #[derive(Debug)]
    struct ServerError {
        code: &'static str,
        message: &'static str,
    }

    impl std::fmt::Display for ServerError {
        fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str(self.message)
        }
    }

    impl std::error::Error for ServerError {}

    impl sqlx::error::DatabaseError for ServerError {
        fn message(&self) -> &str {
            self.message
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.code))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> DatabaseErrorKind {
            DatabaseErrorKind::Other
        }
    }

    fn mapped(code: &'static str, message: &'static str) -> Error {
        database_error(Dialect::MySql, sqlx::Error::Database(Box::new(ServerError { code, message })))
    }

    /// The messages a MariaDB Galera node answered in `tests/it/galera.rs`.
    #[test]
    fn galera_errors_map_to_the_usual_kinds() {
        let certification = mapped("40001", "Deadlock found when trying to get lock; try restarting transaction");
        assert!(aborted(&certification), "{certification}");
        let outside = mapped("08S01", "WSREP has not yet prepared node for application use");
        assert_eq!(outside.kind(), ErrorKind::Unavailable, "{outside}");
        let unreplicated = mapped(
            "HY000",
            "Error while appending streaming replication fragment(provider status: Not connected to Primary Component)",
        );
        assert_eq!(unreplicated.kind(), ErrorKind::Unavailable, "{unreplicated}");
        let other = mapped("HY000", "Got error 1 during COMMIT");
        assert_eq!(other.kind(), ErrorKind::Storage, "{other}");
    }
}
