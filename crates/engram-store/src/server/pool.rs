//! Opening a connection pool on one host of the DSN: the database created when missing, the
//! session configured, and (when the DSN asks) the host checked to take writes.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};

use super::error::database_error;
use super::options::{SessionAttributes, Target};
use crate::error::{Error, Result};
use crate::sql::Dialect;

/// Opens the pool on the target database on `host`, creating the database first when the
/// server says it does not exist.
pub(super) async fn connect(dialect: Dialect, target: &Target, host: &str) -> Result<AnyPool> {
    let url = target.url(host, Some(&target.database));
    match pool_options(dialect, target).connect(&url).await {
        Ok(pool) => Ok(pool),
        Err(error) if is_missing_database(&error) => {
            create_database(dialect, target, host).await?;
            pool_options(dialect, target).connect(&url).await.map_err(|error| database_error(dialect, error))
        }
        Err(error) => Err(database_error(dialect, error)),
    }
}

/// Whether `host` can be worked on, by one connection attempt within the connect timeout (a
/// pool would retry a refusing host until then): `Unavailable` when it does not answer, or is
/// read-only (a standby in recovery, `default_transaction_read_only`) and the target wants a
/// read-write one.
pub(super) async fn check_host(dialect: Dialect, target: &Target, host: &str) -> Result<()> {
    let unavailable = |detail: String| Error::Unavailable { backend: dialect.backend(), detail };
    let url = target.url(host, Some(&target.database));
    let attempt = tokio::time::timeout(target.options.connect_timeout, AnyConnection::connect(&url)).await;
    let mut connection = match attempt {
        Err(_) => return Err(unavailable(format!("{host}: no answer within the connect timeout"))),
        // The database is created on the host that takes writes (a standby refuses to).
        Ok(Err(error)) if is_missing_database(&error) => return Ok(()),
        Ok(Err(error)) => return Err(prefixed(host, database_error(dialect, error))),
        Ok(Ok(connection)) => connection,
    };
    let read_only = if target.session == SessionAttributes::ReadWrite {
        sqlx::query_scalar::<_, String>("SELECT current_setting('transaction_read_only')")
            .fetch_one(&mut connection)
            .await
            .map(|setting| setting == "on")
    } else {
        Ok(false)
    };
    // A failed close only leaves a socket for the server to drop.
    drop(connection.close().await);
    match read_only {
        Ok(false) => Ok(()),
        Ok(true) => Err(unavailable(format!("{host}: read-only (a standby, or default_transaction_read_only)"))),
        Err(error) => Err(prefixed(host, database_error(dialect, error))),
    }
}

/// The same error with the host it came from, when it says the host cannot be used.
fn prefixed(host: &str, error: Error) -> Error {
    match error {
        Error::Unavailable { backend, detail } => Error::Unavailable { backend, detail: format!("{host}: {detail}") },
        other => other,
    }
}

fn pool_options(dialect: Dialect, target: &Target) -> AnyPoolOptions {
    let options = &target.options;
    AnyPoolOptions::new()
        .max_connections(options.max_connections)
        .min_connections(0)
        .acquire_timeout(options.connect_timeout)
        .idle_timeout(Duration::from_secs(300))
        // A connection that broke while the server was away is found and replaced here, so the
        // same store works again once the server is back.
        .test_before_acquire(true)
        .after_connect(move |connection, _| Box::pin(async move { configure(connection, dialect).await }))
}

/// Session settings: MySQL reads committed rows like Postgres does (its default, REPEATABLE
/// READ, takes gap locks that make concurrent index upserts deadlock).
///
/// On a Galera cluster (`wsrep_on`) a node applies the others' writes asynchronously, so a
/// read could miss a write another node has already acknowledged (a packet built through node
/// 2 without the event just appended through node 1). Causal reads close that:
/// `wsrep_sync_wait` = 1 (READ) makes `BEGIN`, `START TRANSACTION` and `SELECT` wait until the
/// node has applied every write the cluster committed before them. Every engram call runs in a
/// transaction opened by one of those, so READ covers every read, and a read-check-write (the
/// active fact of a key) sees the other nodes' writes rather than losing certification and
/// running again; the UPDATE and INSERT bits would only wait again.
async fn configure(connection: &mut AnyConnection, dialect: Dialect) -> sqlx::Result<()> {
    if dialect == Dialect::MySql {
        connection.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED").await?;
        if runs_galera(connection).await? {
            connection.execute("SET SESSION wsrep_sync_wait = 1").await?;
        }
    }
    Ok(())
}

/// Whether the MySQL server replicates through Galera. `SHOW VARIABLES` answers on servers
/// without the variable too (MySQL, MariaDB built without wsrep), with no row.
async fn runs_galera(connection: &mut AnyConnection) -> sqlx::Result<bool> {
    let row = connection.fetch_optional("SHOW VARIABLES LIKE 'wsrep_on'").await?;
    let value = row.map(|row| row.try_get::<String, _>(1)).transpose()?;
    Ok(value.is_some_and(|value| value.eq_ignore_ascii_case("ON")))
}

/// Postgres 3D000 (invalid_catalog_name); MySQL 1049 (unknown database, SQLSTATE 42000).
fn is_missing_database(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(database) = error else { return false };
    let code = database.code().unwrap_or_default();
    code == "3D000" || database.message().starts_with("Unknown database")
}

/// Runs `sql` on a connection to `host`'s server rather than to the target database
/// (Postgres: the `postgres` database; MySQL: none).
pub(super) async fn on_server(dialect: Dialect, target: &Target, host: &str, sql: String) -> sqlx::Result<()> {
    let url = match dialect {
        Dialect::Postgres => target.url(host, Some("postgres")),
        Dialect::MySql | Dialect::Sqlite => target.url(host, None),
    };
    let pool = pool_options(dialect, target).max_connections(1).connect(&url).await?;
    let done = pool.execute(sqlx::AssertSqlSafe(sql)).await;
    pool.close().await;
    done.map(drop)
}

/// Creates the target database. Another process creating it at the same moment is fine.
async fn create_database(dialect: Dialect, target: &Target, host: &str) -> Result<()> {
    let sql = match dialect {
        Dialect::Postgres => format!("CREATE DATABASE \"{}\" ENCODING 'UTF8' TEMPLATE template0", target.database),
        Dialect::MySql | Dialect::Sqlite => {
            format!("CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", target.database)
        }
    };
    match on_server(dialect, target, host, sql).await {
        Ok(()) => {
            tracing::info!(backend = dialect.backend(), database = target.database.as_str(), host, "created database");
            Ok(())
        }
        // Another process won the race: 42P04 duplicate_database, or 23505 on
        // pg_database_datname_index when both passed the existence check at once.
        Err(sqlx::Error::Database(error)) if matches!(error.code().as_deref(), Some("42P04" | "23505")) => Ok(()),
        Err(error) => Err(database_error(dialect, error)),
    }
}
