//! Applying each server's migrations (`sql/migrations.rs`). A server-wide lock makes concurrent
//! openers apply them once.

use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

use super::error::database_error;
use crate::error::Result;
use crate::sql::{Dialect, Migration, migrations, pending};

const POSTGRES: &[Migration] = migrations!("postgres");
const MYSQL: &[Migration] = migrations!("mysql");

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
    for (version, name, sql) in pending(migrations, latest, dialect.backend())? {
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
