//! Applying SQLite's migrations (`sql/migrations.rs`), so reopening applies nothing twice.

use rusqlite::{Connection, TransactionBehavior, params};

use super::error::{BACKEND, storage};
use crate::error::Result;
use crate::sql::{Migration, migrations, pending};

const MIGRATIONS: &[Migration] = migrations!("sqlite");

/// Applies the migrations this database lacks, all in one immediate transaction (two processes
/// opening a new file at once serialize here; the second finds them applied).
pub(super) fn apply(connection: &mut Connection) -> Result<()> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(storage)?;
    transaction
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS engram_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at INTEGER NOT NULL
            )",
        )
        .map_err(storage)?;
    let latest: i64 = transaction
        .query_row("SELECT COALESCE(MAX(version), 0) FROM engram_migrations", [], |row| row.get(0))
        .map_err(storage)?;
    for (version, name, sql) in pending(MIGRATIONS, latest, BACKEND)? {
        transaction.execute_batch(sql).map_err(storage)?;
        transaction
            .execute(
                "INSERT INTO engram_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                params![version, name, crate::prepare::now().timestamp_millis()],
            )
            .map_err(storage)?;
        tracing::debug!(version, name, "applied sqlite migration");
    }
    transaction.commit().map_err(storage)
}
