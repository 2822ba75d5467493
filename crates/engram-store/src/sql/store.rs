//! The one `Store` implementation of the SQL backends. A backend says how it opens connections
//! and transactions ([`Database`]); the primitives a store offers inside them are written here
//! once ([`SqlView`]).

use std::collections::{BTreeSet, HashSet};

use engram_types::{Event, Fact, Item, Limits, Receipt, Scope};

use super::connection::Connection;
use super::index_changes::IndexChanges;
use super::item_store::SqlItemRows;
use super::spaces::SpaceIds;
use super::{batch, events, facts, fetch, item_store, maintenance, records, state, stats, vectors};
use crate::error::Result;
use crate::items::{ItemPostings, ItemPostingsRequest, ItemRows, ItemScan};
use crate::maintenance::{DeleteRequest, ScanRequest, StateOwner, StateScan, StoredState};
use crate::prepare::Prepared;
use crate::reads::{Answer, Read, read_each};
use crate::record::{
    FetchRequest, Fetched, Postings, PostingsRequest, Record, RecordKind, Stats, VectorRequest, Vectors,
};
use crate::store::{Snapshot, Store, Transaction, WriteMode};
use crate::vectors::Claim;

/// How one SQL backend runs work on its database.
pub(crate) trait Database: Send + Sync + std::fmt::Debug {
    /// Runs `work` inside one read transaction: every statement sees one snapshot. A read
    /// changes nothing, so a backend may run `work` again (on another host after a failover).
    fn read<T: Send>(&self, work: impl FnMut(&mut dyn Connection) -> Result<T> + Send) -> Result<T>;

    /// Runs `work` in one write transaction: committed when it returns `Ok`, rolled back
    /// otherwise. With `retry`, a transaction that lost a race to a writer in another process
    /// runs again from the start, so it reads what the winner committed; one the database
    /// aborted whole (deadlock, serialization or certification failure) runs again either way.
    fn write<T: Send>(&self, retry: bool, work: impl FnMut(&mut dyn Connection) -> Result<T> + Send) -> Result<T>;

    /// [`Self::write`] for a deletion, leaving no readable copy of what it removed where the
    /// database keeps one (the receipt's `erased` says what was done). The servers keep deleted
    /// bytes until a table is rewritten ([`Self::rewrite_tables`]).
    fn erase(&self, work: impl FnMut(&mut dyn Connection) -> Result<Receipt> + Send) -> Result<Receipt> {
        self.write(false, work)
    }

    /// See [`Store::rewrite_tables`] (SQLite erases as it deletes: nothing is left to rewrite).
    fn rewrite_tables(&self, tables: &BTreeSet<String>) -> Result<BTreeSet<String>> {
        let _ = tables;
        Ok(BTreeSet::new())
    }

    /// See [`Store::check_integrity`] (the servers keep their own checks: `amcheck`,
    /// `CHECK TABLE`).
    fn check_integrity(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

/// A store over a SQL [`Database`]: `SqliteStore`, `PostgresStore` and `MySqlStore`.
pub(crate) trait SqlStore: Send + Sync + std::fmt::Debug {
    type Database: Database;
    fn database(&self) -> &Self::Database;
    fn store_limits(&self) -> &Limits;
}

impl<S: SqlStore> Store for S {
    fn limits(&self) -> &Limits {
        self.store_limits()
    }

    fn read(&self, work: &mut (dyn FnMut(&mut dyn Snapshot) -> Result<()> + Send)) -> Result<()> {
        self.database().read(|connection| work(&mut SqlView::new(connection, false)))
    }

    fn write(&self, mode: WriteMode, work: &mut (dyn FnMut(&mut dyn Transaction) -> Result<()> + Send)) -> Result<()> {
        self.database().write(mode == WriteMode::Retry, |connection| SqlView::write(connection, &mut *work))
    }

    fn rolls_back(&self) -> bool {
        true
    }

    fn erase(&self, work: &mut (dyn FnMut(&mut dyn Transaction) -> Result<Receipt> + Send)) -> Result<Receipt> {
        self.database().erase(|connection| SqlView::write(connection, &mut *work))
    }

    fn rewrite_tables(&self, tables: &BTreeSet<String>) -> Result<BTreeSet<String>> {
        self.database().rewrite_tables(tables)
    }

    fn check_integrity(&self) -> Result<Vec<String>> {
        self.database().check_integrity()
    }
}

/// A connection inside a read or write transaction, as the engine sees it.
struct SqlView<'a> {
    connection: &'a mut dyn Connection,
    /// Inside a write: reads lock what they read (rows the write then changes).
    locking: bool,
    /// Space ids this transaction resolved.
    spaces: SpaceIds,
    /// Postings, vector rows and counts to write before the transaction commits.
    changes: IndexChanges,
}

impl<'a> SqlView<'a> {
    fn new(connection: &'a mut dyn Connection, locking: bool) -> Self {
        Self { connection, locking, spaces: SpaceIds::default(), changes: IndexChanges::default() }
    }

    /// Runs `work` inside a write transaction, then writes the index changes its writes gathered.
    fn write<T>(connection: &'a mut dyn Connection, work: impl FnOnce(&mut dyn Transaction) -> Result<T>) -> Result<T> {
        let mut view = Self::new(connection, true);
        let value = work(&mut view)?;
        view.changes.apply(view.connection)?;
        Ok(value)
    }
}

impl Snapshot for SqlView<'_> {
    fn fetch(&mut self, request: &FetchRequest) -> Result<Vec<Fetched>> {
        fetch::fetch(self.connection, request)
    }

    fn fetch_sequences(&mut self, request: &FetchRequest) -> Result<Vec<i64>> {
        fetch::fetch_sequences(self.connection, request)
    }

    /// On a server one statement for every read (`batch.rs`); SQLite runs them one by one from
    /// its statement cache, where a statement costs no round trip.
    fn read_all(&mut self, reads: Vec<Read>) -> Result<Vec<Answer>> {
        if self.connection.dialect().unions_ranges() {
            batch::read_all(self.connection, reads)
        } else {
            read_each(self, reads)
        }
    }

    fn postings(&mut self, request: &PostingsRequest) -> Result<Postings> {
        let layout = self.connection.postings_layout();
        layout.read(self.connection, request)
    }

    fn vectors(&mut self, request: &VectorRequest) -> Result<Vectors> {
        vectors::read(self.connection, request)
    }

    fn stats(&mut self, scope: &Scope) -> Result<Stats> {
        stats::stats(self.connection, scope)
    }

    fn scan(&mut self, request: &ScanRequest) -> Result<Vec<Fetched>> {
        fetch::scan(self.connection, request)
    }

    fn scan_state_table(&mut self, request: &StateScan, working: bool) -> Result<Vec<StoredState>> {
        state::scan(self.connection, request, working)
    }

    fn find(&mut self, kind: RecordKind, tenant_id: &str, id: &str) -> Result<Option<Fetched>> {
        maintenance::find(self.connection, kind, tenant_id, id, self.locking)
    }

    fn taken_ids(&mut self, kind: RecordKind, tenant_id: &str, ids: &[&str]) -> Result<HashSet<String>> {
        Ok(records::sequences_of(self.connection, kind, tenant_id, ids)?.into_iter().map(|(id, _)| id).collect())
    }

    fn facts_of_key(
        &mut self,
        tenant_id: &str,
        spaces: &[String],
        fact_key: &str,
        active_only: bool,
    ) -> Result<Vec<(i64, Fact)>> {
        facts::of_key(self.connection, tenant_id, spaces, fact_key, active_only)
    }

    fn stored_state(&mut self, owner: &StateOwner) -> Result<Option<StoredState>> {
        state::stored(self.connection, owner, self.locking)
    }

    fn item_postings(&mut self, request: &ItemPostingsRequest) -> Result<ItemPostings> {
        item_store::postings(self.connection, request)
    }

    fn scan_items(&mut self, scan: &ItemScan) -> Result<Vec<Item>> {
        item_store::scan(self.connection, scan)
    }
}

impl Transaction for SqlView<'_> {
    fn check_dimensions(&mut self, claims: &[Claim<'_>]) -> Result<()> {
        vectors::check_dimensions(self.connection, claims)
    }

    fn insert_events(&mut self, events: &[Prepared<Event>]) -> Result<()> {
        events::insert(self.connection, events, &mut self.changes, &mut self.spaces)
    }

    fn write_record(&mut self, sequence: Option<i64>, record: &Prepared<Record>) -> Result<()> {
        records::write(self.connection, sequence, record, &mut self.changes, &mut self.spaces)
    }

    fn update_record(&mut self, sequence: i64, record: &Record) -> Result<()> {
        records::update(self.connection, sequence, record)
    }

    fn unindex(&mut self, kind: RecordKind, tenant_id: &str, sequence: i64) -> Result<()> {
        records::unindex(self.connection, kind, tenant_id, sequence, &mut self.changes)
    }

    fn delete(&mut self, request: &DeleteRequest) -> Result<Receipt> {
        maintenance::delete(self.connection, request)
    }

    fn postings_rows(&self, terms: usize) -> u64 {
        self.connection.postings_layout().rows_per_document(terms)
    }

    fn put_state(&mut self, stored: &StoredState, first: bool) -> Result<()> {
        state::write(self.connection, stored, !first)
    }

    fn items(&mut self) -> Box<dyn ItemRows + '_> {
        Box::new(SqlItemRows(&mut *self.connection))
    }
}
