//! The item rows and their lexical index as a write transaction changes them: the primitives a
//! backend offers ([`ItemRows`]), over which the engine writes a put, a removal and the sweep of
//! expired items once for every backend.

use std::collections::BTreeMap;

use engram_types::{ItemWrite, Timestamp, join_namespace};

use crate::error::Result;
use crate::lexical::DocumentTerms;

/// An item's key in the store: its tenant, joined namespace and key (the tables' primary key,
/// and its order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ItemKey {
    pub tenant_id: String,
    /// Joined (`join_namespace`).
    pub namespace: String,
    pub key: String,
}

impl ItemKey {
    pub fn new(tenant_id: impl Into<String>, namespace: impl Into<String>, key: impl Into<String>) -> Self {
        Self { tenant_id: tenant_id.into(), namespace: namespace.into(), key: key.into() }
    }

    pub(crate) fn of(write: &ItemWrite) -> Self {
        Self::new(write.tenant_id.as_str(), join_namespace(&write.namespace), write.key.as_str())
    }
}

/// An item's row as a write stores it.
#[derive(Debug)]
pub struct ItemRow<'a> {
    pub key: ItemKey,
    pub write: &'a ItemWrite,
    /// Its `updated_at`, and its `created_at` when it creates the key.
    pub now: Timestamp,
    /// Terms in its indexed text (`None` when it is not indexed).
    pub index_length: Option<u32>,
}

/// The item writes a backend offers inside one write transaction. Each is one step of a rule the
/// engine writes (`engine/item_writes.rs`): none keeps the index or the totals in step with the
/// rows by itself.
pub trait ItemRows {
    /// `None` when the item is not stored; else the length of its indexed text (`None` when it
    /// is not indexed). Locks the row until the transaction ends: its postings and totals change
    /// with it, and another process may be writing the same key.
    fn stored_index(&mut self, key: &ItemKey) -> Result<Option<Option<u32>>>;

    /// Inserts the row if no row holds its key, and says whether it did. When another process's
    /// write is creating the key too, this waits for that write to end and inserts nothing.
    fn create(&mut self, row: &ItemRow<'_>) -> Result<bool>;

    /// Writes the row, over the stored one if any (whose `created_at` stays).
    fn replace(&mut self, row: &ItemRow<'_>) -> Result<()>;

    /// Deletes the item's row (not its postings); the rows deleted.
    fn delete(&mut self, key: &ItemKey) -> Result<u64>;

    /// Adds the item's postings: one per distinct term of its indexed text.
    fn index(&mut self, key: &ItemKey, terms: &DocumentTerms) -> Result<()>;

    /// Removes the item's postings.
    fn unindex(&mut self, key: &ItemKey) -> Result<()>;

    /// Adds each namespace's change to its totals, never going below zero.
    fn change_totals(&mut self, totals: TotalsChanges) -> Result<()>;

    /// Sets a new expiry of the item, if it is stored.
    fn refresh(&mut self, key: &ItemKey, expires_at: Timestamp) -> Result<()>;

    /// The items of every tenant with `expires_at <= now`, as [`Self::stored_index`] reads
    /// them (locked).
    fn expired(&mut self, now: Timestamp) -> Result<Vec<(ItemKey, Option<u32>)>>;

    /// Deletes the rows of every tenant with `expires_at <= now`; the rows deleted.
    fn delete_expired(&mut self, now: Timestamp) -> Result<u64>;
}

/// Per (tenant, joined namespace), the change of indexed items and their summed length a write
/// makes: backends add it to `item_totals` once per namespace.
#[derive(Debug, Default)]
pub struct TotalsChanges {
    pub changes: BTreeMap<(String, String), (i64, i64)>,
}

impl TotalsChanges {
    /// Counts an item's indexed text of `length` terms in (`sign` 1) or out (`sign` -1).
    pub(crate) fn count(&mut self, key: &ItemKey, sign: i64, length: u32) {
        let entry = self.changes.entry((key.tenant_id.clone(), key.namespace.clone())).or_default();
        entry.0 += sign;
        entry.1 += sign * i64::from(length);
    }
}
