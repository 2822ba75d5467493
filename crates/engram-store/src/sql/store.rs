//! The one `Store` implementation of the SQL backends. A backend says how it opens connections
//! and transactions ([`Database`]); everything a store does with them is written here once.

use std::collections::BTreeSet;

use engram_types::{
    Episode, EpisodeInput, Event, EventInput, Fact, FactInput, FactWrite, Insight, InsightInput, InsightUpdate, Item,
    Limits, OnConflict, Procedure, ProcedureInput, Receipt, Scope, ShortTermState, ShortTermUpdate, Timestamp,
    WorkingState, WorkingStatePatch,
};

use super::connection::Connection;
use super::spaces::NewSpaces;
use super::{events, facts, fetch, item_store, maintenance, records, state, stats, vectors};
use crate::error::{Error, Result};
use crate::item_search::{ItemPostings, ItemPostingsRequest};
use crate::items::{IndexedItem, ItemScan};
use crate::maintenance::{DeleteRequest, ScanRequest, StateScan, StoredState};
use crate::prepare;
use crate::record::{FetchRequest, Fetched, Postings, PostingsRequest, Record, Stats, VectorRequest, Vectors};
use crate::store::Store;
use crate::vectors::{claim, event_claims, record_claims};

/// How one SQL backend runs work on its database.
pub(crate) trait Database: Send + Sync + std::fmt::Debug {
    /// Runs `work` inside one read transaction: every statement sees one snapshot.
    fn read<T: Send>(&self, work: impl FnOnce(&mut dyn Connection) -> Result<T> + Send) -> Result<T>;

    /// Runs `work`, a single statement, outside any transaction (a statement is its own
    /// snapshot, and BEGIN and COMMIT would cost a hot read a good part of its time).
    fn read_statement<T: Send>(&self, work: impl FnOnce(&mut dyn Connection) -> Result<T> + Send) -> Result<T> {
        self.read(work)
    }

    /// Runs `work` in one write transaction: committed when it returns `Ok`, rolled back
    /// otherwise. With `retry`, a transaction that lost a race to a writer in another process
    /// runs again from the start, so it reads what the winner committed.
    fn write<T: Send>(
        &self,
        retry: bool,
        work: impl FnMut(&mut dyn Connection, &mut NewSpaces) -> Result<T> + Send,
    ) -> Result<T>;

    /// [`Self::write`] for a deletion, leaving no readable copy of what it removed where the
    /// database keeps one (the receipt's `erased` says what was done).
    fn erase(&self, work: impl FnOnce(&mut dyn Connection) -> Result<Receipt> + Send) -> Result<Receipt>;

    /// See [`Store::rewrite_tables`].
    fn rewrite_tables(&self, tables: &BTreeSet<String>) -> Result<BTreeSet<String>>;

    /// See [`Store::check_integrity`].
    fn check_integrity(&self) -> Result<Vec<String>>;
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

    fn append_events(&self, events: Vec<EventInput>) -> Result<Vec<Event>> {
        let prepared = prepare::events(events, prepare::now(), self.limits())?;
        let batch = &prepared;
        let written = self.database().write(false, |connection, created| {
            vectors::check_dimensions(connection, &event_claims(batch))?;
            events::insert(connection, batch, created)
        });
        match written {
            Ok(()) => Ok(prepared.into_iter().map(|item| item.record).collect()),
            Err(error @ Error::Conflict { .. }) => {
                // A unique key refused an id; name the first offending event as the in-memory
                // store would (the batch was rolled back).
                let named = self.database().read(|connection| events::first_conflict(connection, batch))?;
                Err(named.unwrap_or(error))
            }
            Err(error) => Err(error),
        }
    }

    fn upsert_fact(&self, fact: FactInput) -> Result<FactWrite> {
        let prepared = prepare::fact(fact, prepare::now(), self.limits())?;
        // One active fact per key is the database's unique index: a writer in another process
        // that created or superseded the key first makes this run again, and supersede or
        // refresh what it wrote.
        self.database().write(true, |connection, created| {
            let claims = claim(&prepared.record.scope.tenant_id, prepared.record.embedding.as_deref());
            vectors::check_dimensions(connection, &claims)?;
            facts::upsert(connection, prepared.clone(), created)
        })
    }

    fn fact_history(&self, scope: &Scope, fact_key: &str) -> Result<Vec<Fact>> {
        scope.validate(self.limits().max_id_bytes)?;
        engram_types::check_id("fact_key", fact_key, self.limits().max_id_bytes)?;
        self.database().read(|connection| facts::history(connection, scope, fact_key))
    }

    fn append_episode(&self, episode: EpisodeInput) -> Result<Episode> {
        let prepared = prepare::episode(episode, self.limits())?;
        self.database().write(false, |connection, created| {
            let record = &prepared.record;
            vectors::check_dimensions(connection, &claim(&record.scope.tenant_id, record.embedding.as_deref()))?;
            records::append_episode(connection, &prepared, created)
        })?;
        Ok(prepared.record)
    }

    fn upsert_procedure(&self, procedure: ProcedureInput) -> Result<Procedure> {
        // Bad input is refused before the lookup by id (an owner conflict comes second;
        // Postgres cannot compare an id holding U+0000).
        procedure.validate(self.limits())?;
        let limits = self.limits();
        self.database().write(false, |connection, created| {
            vectors::check_dimensions(connection, &claim(&procedure.scope.tenant_id, procedure.embedding.as_deref()))?;
            records::upsert_procedure(connection, procedure.clone(), limits, created)
        })
    }

    fn append_insight(&self, insight: InsightInput) -> Result<Insight> {
        let prepared = prepare::insight(insight, prepare::now(), self.limits())?;
        self.database().write(false, |connection, created| records::append_insight(connection, &prepared, created))?;
        Ok(prepared.record)
    }

    fn update_insight(&self, update: InsightUpdate) -> Result<Insight> {
        update.validate(self.limits())?;
        self.database().write(false, |connection, _| records::update_insight(connection, &update))
    }

    fn get_working_state(&self, scope: &Scope) -> Result<WorkingState> {
        scope.validate(self.limits().max_id_bytes)?;
        self.database().read(|connection| state::working_state(connection, scope, false))
    }

    fn patch_working_state(&self, patch: WorkingStatePatch) -> Result<WorkingState> {
        patch.validate(self.limits())?;
        // A run's first patch from another process makes this one run again, on its version.
        self.database().write(true, |connection, _| state::patch_working_state(connection, &patch))
    }

    fn get_short_term(&self, scope: &Scope) -> Result<ShortTermState> {
        scope.validate(self.limits().max_id_bytes)?;
        self.database().read(|connection| state::short_term(connection, scope, false))
    }

    fn update_short_term(&self, update: ShortTermUpdate) -> Result<ShortTermState> {
        update.validate(self.limits())?;
        // A session's first update from another process makes this one run again, on its state.
        self.database().write(true, |connection, _| state::update_short_term(connection, &update))
    }

    fn fetch(&self, request: &FetchRequest) -> Result<Vec<Fetched>> {
        request.scope.validate(self.limits().max_id_bytes)?;
        request.validate()?;
        self.database().read(|connection| fetch::fetch(connection, request))
    }

    fn fetch_sequences(&self, request: &FetchRequest) -> Result<Vec<i64>> {
        request.scope.validate(self.limits().max_id_bytes)?;
        request.validate()?;
        self.database().read(|connection| fetch::fetch_sequences(connection, request))
    }

    fn postings(&self, request: &PostingsRequest) -> Result<Postings> {
        self.database().read(|connection| connection.postings_layout().read(connection, request))
    }

    fn vectors(&self, request: &VectorRequest) -> Result<Vectors> {
        request.validate(self.limits())?;
        self.database().read(|connection| vectors::read(connection, request))
    }

    fn stats(&self, scope: &Scope) -> Result<Stats> {
        scope.validate(self.limits().max_id_bytes)?;
        self.database().read(|connection| stats::stats(connection, scope))
    }

    fn scan(&self, request: &ScanRequest) -> Result<Vec<Fetched>> {
        request.validate()?;
        self.database().read(|connection| fetch::scan(connection, request))
    }

    fn scan_states(&self, request: &StateScan) -> Result<Vec<StoredState>> {
        request.validate()?;
        self.database().read(|connection| state::scan(connection, request))
    }

    fn delete(&self, request: &DeleteRequest) -> Result<Receipt> {
        self.database().erase(|connection| maintenance::delete(connection, request))
    }

    fn restore(&self, records: Vec<Record>, states: Vec<StoredState>) -> Result<Receipt> {
        let prepared =
            records.into_iter().map(|record| prepare::restored(record, self.limits())).collect::<Result<Vec<_>>>()?;
        self.database().write(false, |connection, created| {
            vectors::check_dimensions(connection, &record_claims(&prepared))?;
            maintenance::restore(connection, prepared.clone(), &states, created)
        })
    }

    fn write_items(&self, items: Vec<IndexedItem>, on_conflict: OnConflict) -> Result<()> {
        let now = prepare::now();
        self.database().write(false, |connection, _| item_store::put(connection, &items, on_conflict, now))
    }

    fn item_postings(&self, request: &ItemPostingsRequest) -> Result<ItemPostings> {
        self.database().read(|connection| item_store::postings(connection, request))
    }

    fn refresh_items(&self, tenant_id: &str, expiries: &[(String, String, Timestamp)]) -> Result<()> {
        self.database().write(false, |connection, _| item_store::refresh(connection, tenant_id, expiries))
    }

    fn scan_items(&self, scan: &ItemScan) -> Result<Vec<Item>> {
        self.database().read_statement(|connection| item_store::scan(connection, scan))
    }

    fn remove_items(&self, tenant_id: &str, keys: &[(String, String)]) -> Result<Receipt> {
        self.database().erase(|connection| item_store::remove(connection, tenant_id, keys))
    }

    fn remove_expired_items(&self, now: Timestamp) -> Result<Receipt> {
        self.database().erase(|connection| item_store::remove_expired(connection, now))
    }

    fn rewrite_tables(&self, tables: &BTreeSet<String>) -> Result<BTreeSet<String>> {
        self.database().rewrite_tables(tables)
    }

    fn check_integrity(&self) -> Result<Vec<String>> {
        self.database().check_integrity()
    }
}
