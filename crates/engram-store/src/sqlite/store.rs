use std::path::Path;

use engram_types::{
    Episode, EpisodeInput, Event, EventInput, Fact, FactInput, FactWrite, Insight, InsightInput, InsightUpdate, Item,
    Limits, OnConflict, Procedure, ProcedureInput, Receipt, Scope, ShortTermState, ShortTermUpdate, Timestamp,
    WorkingState, WorkingStatePatch,
};
use rusqlite::{Connection, TransactionBehavior};

use super::connection::Connections;
use super::error::storage;
use super::postings::NewSpaces;
use super::{events, facts, fetch, integrity, items, maintenance, postings, records, state, stats, vectors};
use crate::error::{Error, Result};
use crate::item_search::{ItemPostings, ItemPostingsRequest};
use crate::items::{IndexedItem, ItemScan};
use crate::maintenance::{DeleteRequest, ScanRequest, StateScan, StoredState};
use crate::open::Synchronous;
use crate::prepare::{self};
use crate::record::{FetchRequest, Fetched, Postings, PostingsRequest, Record, Stats, VectorRequest, Vectors};
use crate::store::Store;
use crate::vectors::{claim, event_claims, record_claims};

/// A durable store in one SQLite file (WAL, one writer and a pool of readers), or in memory.
/// Behaves exactly like [`InMemoryStore`](crate::InMemoryStore): same records, same order,
/// same errors, same postings.
#[derive(Debug)]
pub struct SqliteStore {
    connections: Connections,
    limits: Limits,
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path`, creating missing parent directories,
    /// and applies pending migrations. Commits are durable across process crashes
    /// (`synchronous = NORMAL` in WAL mode); see [`SqliteStore::with_synchronous_full`].
    pub fn new(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self { connections: Connections::open_file(path.as_ref())?, limits: Limits::default() })
    }

    /// A private in-memory database, gone when the store is dropped. One connection serves
    /// reads and writes.
    pub fn in_memory() -> Result<Self> {
        Ok(Self { connections: Connections::open_memory()?, limits: Limits::default() })
    }

    /// The same store enforcing `limits` on writes.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Fsyncs every commit (`synchronous = FULL`): acknowledged writes also survive power
    /// loss, at the cost of one fsync per transaction.
    pub fn with_synchronous_full(self) -> Result<Self> {
        self.connections.set_synchronous_full()?;
        Ok(self)
    }

    /// When this store's commits reach the disk, as SQLite reports it.
    pub fn synchronous(&self) -> Result<Synchronous> {
        match self.connections.synchronous()? {
            1 => Ok(Synchronous::Normal),
            2 | 3 => Ok(Synchronous::Full),
            other => Err(Error::storage(super::error::BACKEND, format!("unexpected synchronous level {other}"))),
        }
    }

    /// The `EXPLAIN QUERY PLAN` lines of every statement [`Store::fetch`] runs for `request`.
    pub fn explain_fetch(&self, request: &FetchRequest) -> Result<Vec<String>> {
        fetch::explain(&*self.connections.reader()?, request)
    }

    /// The `EXPLAIN QUERY PLAN` lines of every statement [`Store::fetch_sequences`] runs for a
    /// newest-first or most-important-first `request`.
    pub fn explain_fetch_sequences(&self, request: &FetchRequest) -> Result<Vec<String>> {
        fetch::explain_sequences(&*self.connections.reader()?, request)
    }

    /// The `EXPLAIN QUERY PLAN` lines of the statements [`Store::postings`] runs for `request`.
    pub fn explain_postings(&self, request: &PostingsRequest) -> Result<Vec<String>> {
        postings::explain(&*self.connections.reader()?, request)
    }

    /// The `EXPLAIN QUERY PLAN` lines of the range [`Store::vectors`] reads per space.
    pub fn explain_vectors(&self, request: &VectorRequest) -> Result<Vec<String>> {
        vectors::explain(&*self.connections.reader()?, request)
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the writer: committed when it
    /// returns `Ok`, rolled back otherwise.
    fn write<T>(&self, work: impl FnOnce(&Connection, &mut NewSpaces) -> Result<T>) -> Result<T> {
        let mut connection = self.connections.writer()?;
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(storage)?;
        let mut created = NewSpaces::default();
        let value = work(&transaction, &mut created)?;
        transaction.commit().map_err(storage)?;
        Ok(value)
    }

    /// [`Self::write`] for a deletion, so that it leaves no readable copy of what it removed:
    /// the connection zeroes deleted content in the pages it writes and frees (`secure_delete`);
    /// each postings table the receipt names is rewritten without the deleted documents (FTS5
    /// only marks a contentless document deleted, its tokens stay in the segment until a merge
    /// rewrites it); then the WAL is checkpointed into the file and truncated, so no older frame
    /// keeps a copy.
    /// The receipt's `erased` says which of these happened.
    fn erase(&self, work: impl FnOnce(&Connection) -> Result<Receipt>) -> Result<Receipt> {
        let mut receipt = self.write(|connection, _| {
            let mut receipt = work(connection)?;
            postings::rewrite_without_deleted(connection, &mut receipt)?;
            Ok(receipt)
        })?;
        if receipt.total() == 0 {
            return Ok(receipt);
        }
        receipt.mark_erased("pages");
        if self.connections.checkpoint_truncate()? {
            receipt.mark_erased("wal");
        } else {
            tracing::warn!("a reader held the WAL: its frames of the deleted content go at the next checkpoint");
        }
        Ok(receipt)
    }

    /// Runs `work` on a reader inside one read transaction: every statement sees one snapshot.
    fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut connection = self.connections.reader()?;
        let transaction = connection.transaction().map_err(storage)?;
        let value = work(&transaction)?;
        transaction.commit().map_err(storage)?;
        Ok(value)
    }

    /// Runs `work`, one statement, on a reader without a transaction around it: SQLite runs a
    /// statement in a snapshot of its own, and BEGIN and COMMIT would cost a hot read (a
    /// checkpoint's) a sixth of its time.
    fn read_statement<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let connection = self.connections.reader()?;
        work(&connection)
    }
}

impl Store for SqliteStore {
    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn append_events(&self, events: Vec<EventInput>) -> Result<Vec<Event>> {
        let prepared = prepare::events(events, prepare::now(), &self.limits)?;
        let written = self.write(|connection, created| {
            vectors::check_dimensions(connection, &event_claims(&prepared))?;
            events::insert(connection, &prepared, created)
        });
        match written {
            Ok(()) => Ok(prepared.into_iter().map(|item| item.record).collect()),
            Err(error @ Error::Conflict { .. }) => {
                // The unique index refused an id; name the first offending event as the
                // in-memory store would (the batch was rolled back).
                let named = self.read(|connection| events::first_conflict(connection, &prepared))?;
                Err(named.unwrap_or(error))
            }
            Err(error) => Err(error),
        }
    }

    fn upsert_fact(&self, fact: FactInput) -> Result<FactWrite> {
        let prepared = prepare::fact(fact, prepare::now(), &self.limits)?;
        self.write(|connection, created| {
            vectors::check_dimensions(
                connection,
                &claim(&prepared.record.scope.tenant_id, prepared.record.embedding.as_deref()),
            )?;
            facts::upsert(connection, prepared, created)
        })
    }

    fn fact_history(&self, scope: &Scope, fact_key: &str) -> Result<Vec<Fact>> {
        scope.validate(self.limits.max_id_bytes)?;
        engram_types::check_id("fact_key", fact_key, self.limits.max_id_bytes)?;
        self.read(|connection| facts::history(connection, scope, fact_key))
    }

    fn append_episode(&self, episode: EpisodeInput) -> Result<Episode> {
        let prepared = prepare::episode(episode, &self.limits)?;
        self.write(|connection, created| {
            let record = &prepared.record;
            vectors::check_dimensions(connection, &claim(&record.scope.tenant_id, record.embedding.as_deref()))?;
            records::append_episode(connection, &prepared, created)
        })?;
        Ok(prepared.record)
    }

    fn upsert_procedure(&self, procedure: ProcedureInput) -> Result<Procedure> {
        // Bad input is refused before the lookup by id (an owner conflict comes second).
        procedure.validate(&self.limits)?;
        self.write(|connection, created| {
            vectors::check_dimensions(connection, &claim(&procedure.scope.tenant_id, procedure.embedding.as_deref()))?;
            records::upsert_procedure(connection, procedure, &self.limits, created)
        })
    }

    fn append_insight(&self, insight: InsightInput) -> Result<Insight> {
        let prepared = prepare::insight(insight, prepare::now(), &self.limits)?;
        self.write(|connection, created| records::append_insight(connection, &prepared, created))?;
        Ok(prepared.record)
    }

    fn update_insight(&self, update: InsightUpdate) -> Result<Insight> {
        update.validate(&self.limits)?;
        self.write(|connection, _| records::update_insight(connection, &update))
    }

    fn get_working_state(&self, scope: &Scope) -> Result<WorkingState> {
        scope.validate(self.limits.max_id_bytes)?;
        self.read(|connection| state::working_state(connection, scope))
    }

    fn patch_working_state(&self, patch: WorkingStatePatch) -> Result<WorkingState> {
        patch.validate(&self.limits)?;
        self.write(|connection, _| state::patch_working_state(connection, &patch))
    }

    fn get_short_term(&self, scope: &Scope) -> Result<ShortTermState> {
        scope.validate(self.limits.max_id_bytes)?;
        self.read(|connection| state::short_term(connection, scope))
    }

    fn update_short_term(&self, update: ShortTermUpdate) -> Result<ShortTermState> {
        update.validate(&self.limits)?;
        self.write(|connection, _| state::update_short_term(connection, &update))
    }

    fn fetch(&self, request: &FetchRequest) -> Result<Vec<Fetched>> {
        request.scope.validate(self.limits.max_id_bytes)?;
        request.validate()?;
        self.read(|connection| fetch::fetch(connection, request))
    }

    fn fetch_sequences(&self, request: &FetchRequest) -> Result<Vec<i64>> {
        request.scope.validate(self.limits.max_id_bytes)?;
        request.validate()?;
        self.read(|connection| fetch::fetch_sequences(connection, request))
    }

    fn postings(&self, request: &PostingsRequest) -> Result<Postings> {
        self.read(|connection| postings::read(connection, request))
    }

    fn vectors(&self, request: &VectorRequest) -> Result<Vectors> {
        request.validate(&self.limits)?;
        self.read(|connection| vectors::read(connection, request))
    }

    fn stats(&self, scope: &Scope) -> Result<Stats> {
        scope.validate(self.limits.max_id_bytes)?;
        self.read(|connection| stats::stats(connection, scope))
    }

    fn scan(&self, request: &ScanRequest) -> Result<Vec<Fetched>> {
        request.validate()?;
        self.read(|connection| fetch::scan(connection, request))
    }

    fn scan_states(&self, request: &StateScan) -> Result<Vec<StoredState>> {
        request.validate()?;
        self.read(|connection| state::scan(connection, request))
    }

    fn delete(&self, request: &DeleteRequest) -> Result<Receipt> {
        self.erase(|connection| maintenance::delete(connection, request))
    }

    fn restore(&self, records: Vec<Record>, states: Vec<StoredState>) -> Result<Receipt> {
        let prepared =
            records.into_iter().map(|record| prepare::restored(record, &self.limits)).collect::<Result<Vec<_>>>()?;
        self.write(|connection, created| {
            vectors::check_dimensions(connection, &record_claims(&prepared))?;
            maintenance::restore(connection, prepared, &states, created)
        })
    }

    fn write_items(&self, items: Vec<IndexedItem>, on_conflict: OnConflict) -> Result<()> {
        let now = prepare::now();
        self.write(|connection, _| items::put(connection, &items, on_conflict, now))
    }

    fn item_postings(&self, request: &ItemPostingsRequest) -> Result<ItemPostings> {
        self.read(|connection| items::postings(connection, request))
    }

    fn refresh_items(&self, tenant_id: &str, expiries: &[(String, String, Timestamp)]) -> Result<()> {
        self.write(|connection, _| items::refresh(connection, tenant_id, expiries))
    }

    fn scan_items(&self, scan: &ItemScan) -> Result<Vec<Item>> {
        self.read_statement(|connection| items::scan(connection, scan))
    }

    fn remove_items(&self, tenant_id: &str, keys: &[(String, String)]) -> Result<Receipt> {
        self.erase(|connection| items::remove(connection, tenant_id, keys))
    }

    fn remove_expired_items(&self, now: Timestamp) -> Result<Receipt> {
        self.erase(|connection| items::remove_expired(connection, now))
    }

    fn check_integrity(&self) -> Result<Vec<String>> {
        // The FTS5 check is an INSERT command: it runs on the writer, and writes nothing.
        self.write(|connection, _| integrity::check(connection))
    }
}
