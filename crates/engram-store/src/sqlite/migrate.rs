//! Numbered SQL migrations, embedded in the binary and applied at open, each recorded in
//! `engram_migrations` so reopening applies nothing twice.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::error::{BACKEND, storage};
use crate::error::{Error, Result};

/// (version, name, SQL), in order. Append only: a released migration never changes.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, "lifecycle", include_str!("../../migrations/sqlite/0002_lifecycle.sql")),
    (3, "items", include_str!("../../migrations/sqlite/0003_items.sql")),
    (4, "item_search", include_str!("../../migrations/sqlite/0004_item_search.sql")),
    (5, "vectors", include_str!("../../migrations/sqlite/0005_vectors.sql")),
    (6, "one_active_fact", include_str!("../../migrations/sqlite/0006_one_active_fact.sql")),
    (7, "event_terms", include_str!("../../migrations/sqlite/0007_event_terms.sql")),
    (8, "event_line_tokens", include_str!("../../migrations/sqlite/0008_event_line_tokens.sql")),
    (9, "fact_supersedes", include_str!("../../migrations/sqlite/0009_fact_supersedes.sql")),
];

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
    let latest: Option<i64> = transaction
        .query_row("SELECT MAX(version) FROM engram_migrations", [], |row| row.get(0))
        .optional()
        .map_err(storage)?
        .flatten();
    let latest = latest.unwrap_or(0);
    let known = MIGRATIONS.last().map_or(0, |(version, _, _)| *version);
    if latest > known {
        return Err(Error::storage(
            BACKEND,
            format!("the database has schema version {latest}, this build knows up to {known}"),
        ));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(version, _, _)| *version > latest) {
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
