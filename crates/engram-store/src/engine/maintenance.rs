//! Deleting, restoring and the item primitives, each one transaction.

use engram_types::{OnConflict, Receipt, Timestamp};

use super::run::write;
use crate::error::Result;
use crate::items::IndexedItem;
use crate::maintenance::{DeleteRequest, StoredState};
use crate::prepare;
use crate::record::Record;
use crate::store::Transaction;
use crate::store::{Store, WriteMode};
use crate::vectors::record_claims;

/// Deletes records (with their postings, df and totals) and states in one transaction, leaving
/// no readable copy where the database keeps one. Ids that are not there are skipped.
pub(crate) fn delete<S: Store + ?Sized>(store: &S, request: &DeleteRequest) -> Result<Receipt> {
    store.erase(&mut |transaction: &mut dyn Transaction| transaction.delete(request))
}

/// Stores exported records as they were and replaces the given states, in one transaction.
pub(crate) fn restore<S: Store + ?Sized>(store: &S, records: Vec<Record>, states: Vec<StoredState>) -> Result<Receipt> {
    let prepared =
        records.into_iter().map(|record| prepare::restored(record, store.limits())).collect::<Result<Vec<_>>>()?;
    write(store, WriteMode::Once, |transaction| {
        transaction.check_dimensions(&record_claims(&prepared))?;
        transaction.restore(&prepared, &states)
    })
}

/// Writes validated items in one transaction (callers use [`Items::put_items`](crate::Items)).
pub(crate) fn write_items<S: Store + ?Sized>(store: &S, items: &[IndexedItem], on_conflict: OnConflict) -> Result<()> {
    let now = prepare::now();
    write(store, WriteMode::Once, |transaction| transaction.write_items(items, on_conflict, now))
}

pub(crate) fn refresh_items<S: Store + ?Sized>(
    store: &S,
    tenant_id: &str,
    expiries: &[(String, String, Timestamp)],
) -> Result<()> {
    write(store, WriteMode::Once, |transaction| transaction.refresh_items(tenant_id, expiries))
}

pub(crate) fn remove_items<S: Store + ?Sized>(
    store: &S,
    tenant_id: &str,
    keys: &[(String, String)],
) -> Result<Receipt> {
    store.erase(&mut |transaction: &mut dyn Transaction| transaction.remove_items(tenant_id, keys))
}

pub(crate) fn remove_expired_items<S: Store + ?Sized>(store: &S, now: Timestamp) -> Result<Receipt> {
    store.erase(&mut |transaction: &mut dyn Transaction| transaction.remove_expired_items(now))
}
