//! Space ids: each (tenant, kind, space) of the lexical index gets a small integer id (never
//! reused). Deletions drop spaces left empty, possibly from another process, so every lookup
//! reads the id from the database inside its own transaction, as does [`SpaceIds`], the
//! bookkeeping of one write transaction: the ids it read (locked until it ends) or created.

use super::connection::Connection;
use super::statement::Statement;
use crate::error::Result;
use crate::record::RecordKind;

type SpaceKey = (String, RecordKind, String);

/// Space ids one write transaction resolved, so its later records in the same space (a batch
/// of events is usually in one or a few) reuse the id without reading it again. Lives only as
/// long as the transaction.
#[derive(Debug, Default)]
pub(crate) struct SpaceIds(Vec<(SpaceKey, i64)>);

impl SpaceIds {
    /// An id this transaction resolved.
    pub(crate) fn find(&self, tenant_id: &str, kind: RecordKind, space: &str) -> Option<i64> {
        self.0
            .iter()
            .find(|((tenant, known_kind, known_space), _)| {
                tenant == tenant_id && *known_kind == kind && known_space == space
            })
            .map(|(_, id)| *id)
    }

    pub(crate) fn push(&mut self, tenant_id: &str, kind: RecordKind, space: &str, id: i64) {
        self.0.push(((tenant_id.to_string(), kind, space.to_string()), id));
    }
}

/// The id of an existing space, or `None` when nothing was ever indexed in it, read in the
/// caller's transaction (another process may have dropped the space and a later write created
/// it again under a new id). On a server its row is share-locked until the transaction ends: a
/// purge cannot drop it under a writer that read it, and a writer reading it while a purge drops
/// it waits, then finds it gone. SQLite's writer holds the whole database already.
///
/// `for_update` locks it for update instead: a purge locks the spaces it may drop before
/// changing their counts, so a writer that read the space commits first or finds it gone.
pub(crate) fn lookup(
    connection: &mut dyn Connection,
    tenant_id: &str,
    kind: RecordKind,
    space: &str,
    for_update: bool,
) -> Result<Option<i64>> {
    let dialect = connection.dialect();
    let lock = if for_update { dialect.update_lock() } else { dialect.share_lock() };
    Statement::new(format!("SELECT space_id FROM lexical_spaces WHERE tenant_id = ? AND kind = ? AND space = ?{lock}"))
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(space)
        .first_row(connection, |row| row.integer(0))
}

/// The id of a space, created inside the caller's transaction when new (a concurrent writer
/// creating the same space is absorbed by the unique key).
pub(crate) fn resolve(
    connection: &mut dyn Connection,
    tenant_id: &str,
    kind: RecordKind,
    space: &str,
    known: &mut SpaceIds,
) -> Result<i64> {
    if let Some(id) = known.find(tenant_id, kind, space) {
        return Ok(id);
    }
    if let Some(id) = lookup(connection, tenant_id, kind, space, false)? {
        known.push(tenant_id, kind, space, id);
        return Ok(id);
    }
    let dialect = connection.dialect();
    Statement::new(format!(
        "INSERT INTO lexical_spaces (tenant_id, kind, space) VALUES (?, ?, ?) {}",
        dialect.ignore_existing("tenant_id, kind, space", "space_id")
    ))
    .bind(tenant_id)
    .bind(kind.as_str())
    .bind(space)
    .execute(connection)?;
    let id = lookup(connection, tenant_id, kind, space, false)?
        .ok_or_else(|| crate::Error::storage(dialect.backend(), "a created lexical space is not there"))?;
    known.push(tenant_id, kind, space, id);
    Ok(id)
}
