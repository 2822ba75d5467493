//! Numbered SQL migrations per server, embedded in the binary and applied at open, each recorded
//! in `engram_migrations`. A server-wide lock makes concurrent openers apply them once.

use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

use super::error::database_error;
use crate::error::{Error, Result};
use crate::sql::Dialect;

/// (version, name, SQL) per server, in order. Append only: a released migration never changes.
const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "lifecycle", include_str!("../../migrations/postgres/0002_lifecycle.sql")),
    (3, "items", include_str!("../../migrations/postgres/0003_items.sql")),
    (4, "item_search", include_str!("../../migrations/postgres/0004_item_search.sql")),
    (5, "vectors", include_str!("../../migrations/postgres/0005_vectors.sql")),
    (6, "one_active_fact", include_str!("../../migrations/postgres/0006_one_active_fact.sql")),
    (7, "event_terms", include_str!("../../migrations/postgres/0007_event_terms.sql")),
    (8, "event_line_tokens", include_str!("../../migrations/postgres/0008_event_line_tokens.sql")),
    (9, "fact_supersedes", include_str!("../../migrations/postgres/0009_fact_supersedes.sql")),
];
const MYSQL: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/mysql/0001_init.sql")),
    (2, "lifecycle", include_str!("../../migrations/mysql/0002_lifecycle.sql")),
    (3, "items", include_str!("../../migrations/mysql/0003_items.sql")),
    (4, "item_search", include_str!("../../migrations/mysql/0004_item_search.sql")),
    (5, "vectors", include_str!("../../migrations/mysql/0005_vectors.sql")),
    (6, "one_active_fact", include_str!("../../migrations/mysql/0006_one_active_fact.sql")),
    (7, "event_terms", include_str!("../../migrations/mysql/0007_event_terms.sql")),
    (8, "event_line_tokens", include_str!("../../migrations/mysql/0008_event_line_tokens.sql")),
    (9, "fact_supersedes", include_str!("../../migrations/mysql/0009_fact_supersedes.sql")),
];

pub(super) async fn apply(connection: &mut AnyConnection, dialect: Dialect) -> Result<()> {
    let (lock, unlock) = match dialect {
        Dialect::Postgres => {
            ("SELECT 1 FROM pg_advisory_lock(726567261)", "SELECT 1 FROM pg_advisory_unlock(726567261)")
        }
        Dialect::MySql | Dialect::Sqlite => {
            ("SELECT GET_LOCK('engram_migrations', 60)", "SELECT RELEASE_LOCK('engram_migrations')")
        }
    };
    run(connection, dialect, lock).await?;
    let applied = apply_locked(connection, dialect).await;
    let released = run(connection, dialect, unlock).await;
    applied.and(released)
}

/// Runs one statement of engram's own, with no parameters.
async fn run(connection: &mut AnyConnection, dialect: Dialect, sql: &str) -> Result<()> {
    connection.execute(AssertSqlSafe(sql.to_string())).await.map_err(|error| database_error(dialect, error))?;
    Ok(())
}

async fn apply_locked(connection: &mut AnyConnection, dialect: Dialect) -> Result<()> {
    run(
        connection,
        dialect,
        "CREATE TABLE IF NOT EXISTS engram_migrations (version BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let latest: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM engram_migrations")
        .fetch_one(&mut *connection)
        .await
        .map_err(|error| database_error(dialect, error))?;
    let migrations = match dialect {
        Dialect::Postgres => POSTGRES,
        Dialect::MySql | Dialect::Sqlite => MYSQL,
    };
    let known = migrations.last().map_or(0, |(version, _, _)| *version);
    if latest > known {
        return Err(Error::storage(
            dialect.backend(),
            format!("the database has schema version {latest}, this build knows up to {known}"),
        ));
    }
    for (version, name, sql) in migrations.iter().filter(|(version, _, _)| *version > latest) {
        // Postgres applies a migration atomically; MySQL commits each DDL statement on its own.
        let mut transaction = connection.begin().await.map_err(|error| database_error(dialect, error))?;
        for statement in statements(sql) {
            run(&mut transaction, dialect, &statement).await?;
        }
        let record = dialect.sql("INSERT INTO engram_migrations (version, name, applied_at) VALUES (?, ?, ?)");
        sqlx::query(AssertSqlSafe(record.into_owned()))
            .bind(*version)
            .bind(*name)
            .bind(crate::prepare::now().timestamp_millis())
            .execute(&mut *transaction)
            .await
            .map_err(|error| database_error(dialect, error))?;
        transaction.commit().await.map_err(|error| database_error(dialect, error))?;
        tracing::debug!(backend = dialect.backend(), version, name, "applied migration");
    }
    Ok(())
}

/// The statements of a migration file: separated by `;` at the end of a line, comments and
/// blank chunks dropped.
fn statements(sql: &str) -> impl Iterator<Item = String> + '_ {
    sql.split(";\n").filter_map(|chunk| {
        let code: Vec<&str> =
            chunk.lines().filter(|line| !line.trim_start().starts_with("--") && !line.trim().is_empty()).collect();
        if code.is_empty() { None } else { Some(code.join("\n").trim_end_matches(';').to_string()) }
    })
}
