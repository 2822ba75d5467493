//! `StoreExt`: every operation of the engine, for every [`Store`]. Each is written once in its
//! file (`records.rs`, `facts.rs`, ...); backends only provide the primitives.

use engram_types::{
    Episode, EpisodeInput, Event, EventInput, EventQuery, Fact, FactInput, FactWrite, Insight, InsightInput,
    InsightUpdate, Item, ListQuery, OnConflict, Procedure, ProcedureInput, Receipt, Scope, ShortTermState,
    ShortTermUpdate, Timestamp, WorkingState, WorkingStatePatch,
};

use super::{facts, maintenance, reads, records, states};
use crate::error::{Error, Result};
use crate::items::{IndexedItem, ItemScan};
use crate::items::{ItemPostings, ItemPostingsRequest};
use crate::maintenance::{DeleteRequest, ScanRequest, StateScan, StoredState};
use crate::record::{FetchRequest, Fetched, Postings, PostingsRequest, Record, Stats, VectorRequest, Vectors};
use crate::store::Store;

/// The operations of agent memory over any [`Store`]: validated, one transaction (or one
/// snapshot) each, the same rules on every backend.
pub trait StoreExt: Store {
    /// Appends events in one transaction: all are stored or none. Ids must be new in the tenant.
    fn append_events(&self, events: Vec<EventInput>) -> Result<Vec<Event>> {
        records::append_events(self, events)
    }

    /// Appends one event. Errors name fields as for a single event (`scope.user_id`).
    fn append_event(&self, event: EventInput) -> Result<Event> {
        let appended = self.append_events(vec![event]).map_err(|error| match error {
            Error::InvalidInput(mut invalid) => {
                if let Some(field) = invalid.field.strip_prefix("events[0].") {
                    invalid.field = field.to_string();
                }
                Error::InvalidInput(invalid)
            }
            other => other,
        })?;
        appended.into_iter().next().ok_or_else(|| Error::storage("engram", "append returned no event"))
    }

    /// Writes a fact: creates it, supersedes the active fact of the same key when the value
    /// differs, or refreshes it (confidence, sources) when the value is the same.
    fn upsert_fact(&self, fact: FactInput) -> Result<FactWrite> {
        facts::upsert_fact(self, fact)
    }

    /// Every version of a fact key visible from the scope, oldest first.
    fn fact_history(&self, scope: &Scope, fact_key: &str) -> Result<Vec<Fact>> {
        facts::fact_history(self, scope, fact_key)
    }

    fn append_episode(&self, episode: EpisodeInput) -> Result<Episode> {
        records::append_episode(self, episode)
    }

    /// Creates a procedure, or replaces the one with the same `procedure_id` (keeping its use count).
    fn upsert_procedure(&self, procedure: ProcedureInput) -> Result<Procedure> {
        records::upsert_procedure(self, procedure)
    }

    fn append_insight(&self, insight: InsightInput) -> Result<Insight> {
        records::append_insight(self, insight)
    }

    /// Changes an insight's validation state or confidence; `NotFound` outside its run.
    fn update_insight(&self, update: InsightUpdate) -> Result<Insight> {
        records::update_insight(self, update)
    }

    /// The run's working state; an empty state at version 0 when nothing was written.
    fn get_working_state(&self, scope: &Scope) -> Result<WorkingState> {
        states::get_working_state(self, scope)
    }

    /// Applies a patch atomically. With `expected_version` set and different from the stored
    /// version, nothing changes and the call fails with `Conflict`.
    fn patch_working_state(&self, patch: WorkingStatePatch) -> Result<WorkingState> {
        states::patch_working_state(self, patch)
    }

    /// The session's short-term state; empty when nothing was written.
    fn get_short_term(&self, scope: &Scope) -> Result<ShortTermState> {
        states::get_short_term(self, scope)
    }

    fn update_short_term(&self, update: ShortTermUpdate) -> Result<ShortTermState> {
        states::update_short_term(self, update)
    }

    /// One bounded read of records (the packet builder's candidate queries).
    fn fetch(&self, request: &FetchRequest) -> Result<Vec<Fetched>> {
        reads::fetch(self, request)
    }

    /// The sequences of the records `fetch` would return, in its order, without reading them.
    fn fetch_sequences(&self, request: &FetchRequest) -> Result<Vec<i64>> {
        reads::fetch_sequences(self, request)
    }

    /// Postings of query terms in the lexical index, plus the space totals.
    fn postings(&self, request: &PostingsRequest) -> Result<Postings> {
        reads::postings(self, request)
    }

    /// The tenant's vector dimensions and the newest vectors of a kind.
    fn vectors(&self, request: &VectorRequest) -> Result<Vectors> {
        reads::vectors(self, request)
    }

    /// Counts for a scope.
    fn stats(&self, scope: &Scope) -> Result<Stats> {
        reads::stats(self, scope)
    }

    /// Records matching a scan, oldest sequence first (maintenance only).
    fn scan(&self, request: &ScanRequest) -> Result<Vec<Fetched>> {
        reads::scan(self, request)
    }

    /// Working and short-term states matching a scan, ordered by owner.
    fn scan_states(&self, request: &StateScan) -> Result<Vec<StoredState>> {
        reads::scan_states(self, request)
    }

    /// Deletes records and states in one transaction; the receipt counts rows per table.
    fn delete(&self, request: &DeleteRequest) -> Result<Receipt> {
        maintenance::delete(self, request)
    }

    /// Stores exported records as they were and replaces the given states, in one transaction.
    fn restore(&self, records: Vec<Record>, states: Vec<StoredState>) -> Result<Receipt> {
        maintenance::restore(self, records, states)
    }

    /// Writes validated items in one transaction (callers use [`Items::put_items`](crate::Items)).
    fn write_items(&self, items: Vec<IndexedItem>, on_conflict: OnConflict) -> Result<()> {
        maintenance::write_items(self, &items, on_conflict)
    }

    /// The postings of some terms under a namespace prefix, and its totals, from one snapshot.
    fn item_postings(&self, request: &ItemPostingsRequest) -> Result<ItemPostings> {
        reads::item_postings(self, request)
    }

    /// Sets new expiries of items (TTLs restarted by a read); missing ones are skipped.
    fn refresh_items(&self, tenant_id: &str, expiries: &[(String, String, Timestamp)]) -> Result<()> {
        maintenance::refresh_items(self, tenant_id, expiries)
    }

    /// One bounded read of items (see [`ItemScan`]).
    fn scan_items(&self, scan: &ItemScan) -> Result<Vec<Item>> {
        reads::scan_items(self, scan)
    }

    /// Deletes items by (joined namespace, key) in one transaction; missing ones are skipped.
    fn remove_items(&self, tenant_id: &str, keys: &[(String, String)]) -> Result<Receipt> {
        maintenance::remove_items(self, tenant_id, keys)
    }

    /// Deletes the items of every tenant with `expires_at <= now` (the sweep).
    fn remove_expired_items(&self, now: Timestamp) -> Result<Receipt> {
        maintenance::remove_expired_items(self, now)
    }

    /// A run's (or, with `session_wide`, a session's) events, newest first.
    fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>> {
        reads::list_events(self, query)
    }

    /// The sequences of the events `list_events` returns for the query, in its order.
    fn list_event_sequences(&self, query: &EventQuery) -> Result<Vec<i64>> {
        reads::list_event_sequences(self, query)
    }

    /// Active facts visible from the scope (own, agent-shared, tenant-shared), newest first.
    fn list_facts(&self, query: &ListQuery) -> Result<Vec<Fact>> {
        reads::list_facts(self, query)
    }

    fn list_episodes(&self, query: &ListQuery) -> Result<Vec<Episode>> {
        reads::list_episodes(self, query)
    }

    fn list_procedures(&self, query: &ListQuery) -> Result<Vec<Procedure>> {
        reads::list_procedures(self, query)
    }

    /// The run's insights, newest first (rejected ones only with `include_inactive`).
    fn list_insights(&self, query: &ListQuery) -> Result<Vec<Insight>> {
        reads::list_insights(self, query)
    }

    /// The latest `limit` message events of the session, oldest first.
    fn conversation_window(&self, scope: &Scope, limit: u32) -> Result<Vec<Event>> {
        reads::conversation_window(self, scope, limit)
    }
}

impl<T: Store + ?Sized> StoreExt for T {}
