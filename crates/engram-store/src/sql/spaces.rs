//! Space ids: each (tenant, kind, space) of the lexical index gets a small integer id (never
//! reused). Deletions drop spaces left empty, possibly from another process, so writes and
//! index removals resolve ids from the database inside their transaction. Backends run the
//! SQL; the bookkeeping is here.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::record::RecordKind;

type SpaceKey = (String, RecordKind, String);

/// The committed space ids a store has seen.
#[derive(Debug, Default)]
pub(crate) struct SpaceIds {
    committed: Mutex<HashMap<SpaceKey, i64>>,
}

/// Space ids created by a write transaction, remembered only once it commits, so a
/// rolled-back id never reaches the cache.
#[derive(Debug, Default)]
pub(crate) struct NewSpaces(Vec<(SpaceKey, i64)>);

impl SpaceIds {
    /// Caches an id read from the database (so committed).
    pub(crate) fn learn(&self, tenant_id: &str, kind: RecordKind, space: &str, id: i64) -> Result<()> {
        self.committed.lock().map_err(|_| poisoned())?.insert((tenant_id.to_string(), kind, space.to_string()), id);
        Ok(())
    }

    /// Drops cached ids of spaces a deletion dropped.
    pub(crate) fn forget(&self, ids: &[i64]) -> Result<()> {
        if !ids.is_empty() {
            self.committed.lock().map_err(|_| poisoned())?.retain(|_, id| !ids.contains(id));
        }
        Ok(())
    }

    /// Call after the transaction that created `created` committed.
    pub(crate) fn remember(&self, created: NewSpaces) -> Result<()> {
        if created.0.is_empty() {
            return Ok(());
        }
        self.committed.lock().map_err(|_| poisoned())?.extend(created.0);
        Ok(())
    }
}

impl NewSpaces {
    /// An id this transaction created.
    pub(crate) fn find(&self, tenant_id: &str, kind: RecordKind, space: &str) -> Option<i64> {
        self.0
            .iter()
            .find(|((tenant, created_kind, created_space), _)| {
                tenant == tenant_id && *created_kind == kind && created_space == space
            })
            .map(|(_, id)| *id)
    }

    pub(crate) fn push(&mut self, tenant_id: &str, kind: RecordKind, space: &str, id: i64) {
        self.0.push(((tenant_id.to_string(), kind, space.to_string()), id));
    }
}

fn poisoned() -> Error {
    Error::storage("engram", "space id cache poisoned by a panicked thread")
}
