//! Space ids: each (tenant, kind, space) of the lexical index gets a small integer id (never
//! reused). Deletions drop spaces left empty, possibly from another process, so every lookup
//! reads the id from the database inside its own transaction; backends run that SQL. What is
//! here is the bookkeeping of one write transaction: the ids it created itself.

use crate::record::RecordKind;

type SpaceKey = (String, RecordKind, String);

/// Space ids created by one write transaction, so its later records in the same space reuse
/// the id without reading it again. Lives only as long as the transaction.
#[derive(Debug, Default)]
pub(crate) struct NewSpaces(Vec<(SpaceKey, i64)>);

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
