//! The `Store` trait every backend implements, and `StoreExt`, the conveniences built on it.

use engram_types::{
    Episode, EpisodeInput, Event, EventInput, EventKind, EventQuery, Fact, FactInput, FactWrite, Insight, InsightInput,
    InsightUpdate, Item, Limits, ListQuery, OnConflict, Procedure, ProcedureInput, Receipt, Scope, ShortTermState,
    ShortTermUpdate, Timestamp, WorkingState, WorkingStatePatch,
};

use crate::error::{Error, Result};
use crate::item_search::{ItemPostings, ItemPostingsRequest};
use crate::items::{IndexedItem, ItemScan};
use crate::maintenance::{DeleteRequest, ScanRequest, StateScan, StoredState};
use crate::record::{
    FetchRequest, Fetched, Postings, PostingsRequest, Reach, Record, RecordKind, Selector, Stats, VectorRequest,
    Vectors,
};

/// Durable agent memory. Object-safe: the packet builder and the conformance suite take
/// `&dyn Store`. Every read is bounded by an index range and a limit; every write is one
/// transaction; every method checks its scope and rejects bad input before writing.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The size limits this store enforces on writes.
    fn limits(&self) -> &Limits;

    /// Appends events in one transaction: all are stored or none. Ids must be new in the tenant.
    fn append_events(&self, events: Vec<EventInput>) -> Result<Vec<Event>>;

    /// Writes a fact: creates it, supersedes the active fact of the same key when the value
    /// differs, or refreshes it (confidence, sources) when the value is the same.
    fn upsert_fact(&self, fact: FactInput) -> Result<FactWrite>;

    /// Every version of a fact key visible from the scope, oldest first.
    fn fact_history(&self, scope: &Scope, fact_key: &str) -> Result<Vec<Fact>>;

    fn append_episode(&self, episode: EpisodeInput) -> Result<Episode>;

    /// Creates a procedure, or replaces the one with the same `procedure_id` (keeping its use count).
    fn upsert_procedure(&self, procedure: ProcedureInput) -> Result<Procedure>;

    fn append_insight(&self, insight: InsightInput) -> Result<Insight>;

    /// Changes an insight's validation state or confidence; `NotFound` outside its run.
    fn update_insight(&self, update: InsightUpdate) -> Result<Insight>;

    /// The run's working state; an empty state at version 0 when nothing was written.
    fn get_working_state(&self, scope: &Scope) -> Result<WorkingState>;

    /// Applies a patch atomically. With `expected_version` set and different from the stored
    /// version, nothing changes and the call fails with `Conflict`.
    fn patch_working_state(&self, patch: WorkingStatePatch) -> Result<WorkingState>;

    /// The session's short-term state; empty when nothing was written.
    fn get_short_term(&self, scope: &Scope) -> Result<ShortTermState>;

    fn update_short_term(&self, update: ShortTermUpdate) -> Result<ShortTermState>;

    /// One bounded read of records (the packet builder's candidate queries).
    fn fetch(&self, request: &FetchRequest) -> Result<Vec<Fetched>>;

    /// The sequences of the records `fetch` would return, in its order, without reading the
    /// records: the SQL backends read only index columns. Tells a reader what changed since
    /// its last fetch.
    fn fetch_sequences(&self, request: &FetchRequest) -> Result<Vec<i64>> {
        Ok(self.fetch(request)?.into_iter().map(|fetched| fetched.sequence).collect())
    }

    /// Postings of query terms in the lexical index: per term the df and the newest
    /// `per_term` sequence numbers, plus the space totals.
    fn postings(&self, request: &PostingsRequest) -> Result<Postings>;

    /// The tenant's vector dimensions, and the newest `limit` vectors (by sequence, across the
    /// given spaces, newest first) of a kind: one index range per space with a LIMIT, merged.
    /// Exactly the records in the lexical index have their vector here: a superseded fact's
    /// leaves with its postings, a deleted record's with its row.
    fn vectors(&self, request: &VectorRequest) -> Result<Vectors>;

    /// Counts for a scope.
    fn stats(&self, scope: &Scope) -> Result<Stats>;

    /// Records matching a scan, oldest sequence first, at most `limit` (maintenance: exports,
    /// forgetting, purges, sweeps; packet builds never scan).
    fn scan(&self, request: &ScanRequest) -> Result<Vec<Fetched>>;

    /// Working and short-term states matching a scan, ordered by owner.
    fn scan_states(&self, request: &StateScan) -> Result<Vec<StoredState>>;

    /// Deletes records (with their postings, df and totals) and states in one transaction.
    /// Ids that are not there are skipped. The receipt counts the rows removed per table.
    fn delete(&self, request: &DeleteRequest) -> Result<Receipt>;

    /// Stores exported records as they were (ids, times, statuses, in the order given, each
    /// indexed as on a write) and replaces the given states, in one transaction. A record id
    /// already in its tenant is a `Conflict` and nothing is written. The receipt counts rows
    /// written per table.
    fn restore(&self, records: Vec<Record>, states: Vec<StoredState>) -> Result<Receipt>;

    /// Writes items in one transaction. A taken key is replaced (its `created_at` kept) or kept
    /// as stored, per `on_conflict`. Takes validated items: callers use
    /// [`Items::put_items`](crate::Items), which checks them first.
    /// An indexed item's postings and its namespace's totals change in the same transaction.
    fn write_items(&self, items: Vec<IndexedItem>, on_conflict: OnConflict) -> Result<()>;

    /// The postings of some terms under a namespace prefix, each term's at most `per_term`
    /// (in key order), and the prefix's indexed items and summed length, from one snapshot.
    fn item_postings(&self, request: &ItemPostingsRequest) -> Result<ItemPostings>;

    /// Sets new expiries of items, by (joined namespace, key), in one transaction (TTLs
    /// restarted by a read); missing ones are skipped.
    fn refresh_items(&self, tenant_id: &str, expiries: &[(String, String, Timestamp)]) -> Result<()>;

    /// One bounded read of items (see [`ItemScan`]).
    fn scan_items(&self, scan: &ItemScan) -> Result<Vec<Item>>;

    /// Deletes items by (joined namespace, key) in one transaction; missing ones are skipped.
    fn remove_items(&self, tenant_id: &str, keys: &[(String, String)]) -> Result<Receipt>;

    /// Deletes the items of every tenant with `expires_at <= now` (the sweep).
    fn remove_expired_items(&self, now: engram_types::Timestamp) -> Result<Receipt>;

    /// Rewrites `tables` (named as receipts name them) so the bytes of rows deleted from them
    /// leave the database's files, and returns the tables rewritten. The servers rewrite each
    /// table (Postgres `VACUUM (FULL)`, MySQL `ALTER TABLE ... FORCE`); SQLite erases as it
    /// deletes and memory keeps nothing on disk, so they have nothing to do. A name outside
    /// engram's schema is `InvalidInput` on the servers.
    fn rewrite_tables(
        &self,
        tables: &std::collections::BTreeSet<String>,
    ) -> Result<std::collections::BTreeSet<String>> {
        let _ = tables;
        Ok(std::collections::BTreeSet::new())
    }

    /// What the database's own consistency checks find wrong, empty when nothing: SQLite runs
    /// `PRAGMA integrity_check` and FTS5's check of each postings index. Memory has no file,
    /// and the servers keep their own checks (`amcheck`, `CHECK TABLE`): they report nothing.
    fn check_integrity(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

/// Conveniences over [`Store`], for every store.
pub trait StoreExt: Store {
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

    /// A run's (or, with `session_wide`, a session's) events, newest first.
    fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>> {
        let records = self.fetch(&events_request(query))?;
        Ok(records
            .into_iter()
            .filter_map(|fetched| {
                let Record::Event(mut event) = fetched.record else { return None };
                if query.with_sequences {
                    event.sequence = Some(fetched.sequence);
                }
                Some(event)
            })
            .collect())
    }

    /// The sequences of the events `list_events` returns for the query, in its order (see
    /// [`Event::sequence`]): whether a listing changed, for the price of an index read.
    fn list_event_sequences(&self, query: &EventQuery) -> Result<Vec<i64>> {
        self.fetch_sequences(&events_request(query))
    }

    /// Active facts visible from the scope (own, agent-shared, tenant-shared), newest first.
    fn list_facts(&self, query: &ListQuery) -> Result<Vec<Fact>> {
        let records = fetch_space(self, RecordKind::Fact, query)?;
        Ok(records
            .into_iter()
            .filter_map(|record| if let Record::Fact(fact) = record { Some(fact) } else { None })
            .collect())
    }

    fn list_episodes(&self, query: &ListQuery) -> Result<Vec<Episode>> {
        let records = fetch_space(self, RecordKind::Episode, query)?;
        Ok(records
            .into_iter()
            .filter_map(|record| if let Record::Episode(episode) = record { Some(episode) } else { None })
            .collect())
    }

    fn list_procedures(&self, query: &ListQuery) -> Result<Vec<Procedure>> {
        let records = fetch_space(self, RecordKind::Procedure, query)?;
        Ok(records
            .into_iter()
            .filter_map(|record| if let Record::Procedure(procedure) = record { Some(procedure) } else { None })
            .collect())
    }

    /// The run's insights, newest first (rejected ones only with `include_inactive`).
    fn list_insights(&self, query: &ListQuery) -> Result<Vec<Insight>> {
        let mut request =
            FetchRequest::new(RecordKind::Insight, query.scope.clone(), Reach::Run, Selector::Newest, query.limit);
        request.active_only = !query.include_inactive;
        let records = self.fetch(&request)?;
        Ok(records
            .into_iter()
            .filter_map(|fetched| if let Record::Insight(insight) = fetched.record { Some(insight) } else { None })
            .collect())
    }

    /// The latest `limit` message events of the session, oldest first.
    fn conversation_window(&self, scope: &Scope, limit: u32) -> Result<Vec<Event>> {
        let mut query = EventQuery::new(scope.clone());
        query.limit = limit;
        query.kinds = vec![EventKind::Message];
        query.session_wide = true;
        let mut events = self.list_events(&query)?;
        events.reverse();
        Ok(events)
    }
}

impl<T: Store + ?Sized> StoreExt for T {}

fn events_request(query: &EventQuery) -> FetchRequest {
    let reach = if query.session_wide { Reach::Session } else { Reach::Run };
    let mut request = FetchRequest::new(RecordKind::Event, query.scope.clone(), reach, Selector::Newest, query.limit);
    request.event_kinds.clone_from(&query.kinds);
    request.before = query.before;
    request.after = query.after;
    request
}

fn fetch_space<S: Store + ?Sized>(store: &S, kind: RecordKind, query: &ListQuery) -> Result<Vec<Record>> {
    let mut request = FetchRequest::new(kind, query.scope.clone(), Reach::Space, Selector::Newest, query.limit);
    request.active_only = !query.include_inactive;
    Ok(store.fetch(&request)?.into_iter().map(|fetched| fetched.record).collect())
}
