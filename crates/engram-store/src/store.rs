//! The `Store` trait every backend implements: how its database runs a snapshot read and a write
//! transaction, and the bounded primitives it offers inside them ([`Snapshot`], [`Transaction`]).
//! What a store *does* — validation, supersede, upserts, owner checks, conflicts — is written
//! once above it, in the engine ([`StoreExt`](crate::StoreExt)).

use std::collections::{BTreeSet, HashSet};

use engram_types::{Event, Fact, Item, Limits, Receipt, Scope, ShortTermState, WorkingState};

use crate::error::Result;
use crate::items::{ItemPostings, ItemPostingsRequest, ItemRows, ItemScan};
use crate::maintenance::{DeleteRequest, ScanRequest, StateOwner, StateScan, StoredState};
use crate::prepare::Prepared;
use crate::reads::{Answer, Read, read_each};
use crate::record::{
    FetchRequest, Fetched, Postings, PostingsRequest, Record, RecordKind, Stats, VectorRequest, Vectors, visible_spaces,
};
use crate::vectors::Claim;

/// Durable agent memory: one database and how it runs work. Object-safe: the engine, the packet
/// builder and the conformance suite take `&dyn Store`.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The size limits this store enforces on writes.
    fn limits(&self) -> &Limits;

    /// Runs `work` on one snapshot of the store: every read it makes sees the same state.
    fn read(&self, work: &mut (dyn FnMut(&mut dyn Snapshot) -> Result<()> + Send)) -> Result<()>;

    /// Runs `work` in one write transaction: all of it is stored, or (on `Err`) none of it.
    /// Where the store cannot roll back ([`Self::rolls_back`]), `work` must check everything
    /// before it changes anything.
    fn write(&self, mode: WriteMode, work: &mut (dyn FnMut(&mut dyn Transaction) -> Result<()> + Send)) -> Result<()>;

    /// [`Self::write`] for a deletion, leaving no readable copy of what it removed where the
    /// database keeps one (SQLite: FTS5 segments rewritten, the WAL checkpointed); the receipt
    /// `work` returns says what was removed, and its `erased` what was done.
    fn erase(&self, work: &mut (dyn FnMut(&mut dyn Transaction) -> Result<Receipt> + Send)) -> Result<Receipt>;

    /// Whether a write that fails after changing something leaves nothing of it behind (a
    /// database transaction): then the engine may store part of a write before it has checked
    /// the rest. `false` (the in-memory store, which changes its state in place) makes the
    /// engine check all of a write before its first change.
    fn rolls_back(&self) -> bool {
        false
    }

    /// Rewrites `tables` (named as receipts name them) so the bytes of rows deleted from them
    /// leave the database's files, and returns the tables rewritten. The servers rewrite each
    /// table (Postgres `VACUUM (FULL)`, MySQL `ALTER TABLE ... FORCE`); SQLite erases as it
    /// deletes and memory keeps nothing on disk, so they have nothing to do. A name outside
    /// engram's schema is `InvalidInput` on the servers.
    fn rewrite_tables(&self, tables: &BTreeSet<String>) -> Result<BTreeSet<String>> {
        let _ = tables;
        Ok(BTreeSet::new())
    }

    /// What the database's own consistency checks find wrong, empty when nothing: SQLite runs
    /// `PRAGMA integrity_check` and FTS5's check of each postings index. Memory has no file,
    /// and the servers keep their own checks (`amcheck`, `CHECK TABLE`): they report nothing.
    fn check_integrity(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

/// How a write transaction runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Once: a unique key taken is the caller's `Conflict`. A transaction the database aborted
    /// whole (a deadlock, a serialization or Galera certification failure) stored nothing, so
    /// it still runs again.
    Once,
    /// Again from the start while it loses a race to a writer in another process (a unique key
    /// taken or a deadlock), so it reads what the winner committed: for writes that read first.
    Retry,
}

/// The bounded reads a backend offers. Every read is an index range with a limit; inputs are
/// validated by the engine before they get here.
pub trait Snapshot {
    /// One bounded read of records (the packet builder's candidate queries).
    fn fetch(&mut self, request: &FetchRequest) -> Result<Vec<Fetched>>;

    /// The sequences of the records `fetch` would return, in its order, without reading the
    /// records: the SQL backends read only index columns.
    fn fetch_sequences(&mut self, request: &FetchRequest) -> Result<Vec<i64>> {
        Ok(self.fetch(request)?.into_iter().map(|fetched| fetched.sequence).collect())
    }

    /// Postings of query terms in the lexical index: per term the df and the newest
    /// `per_term` sequence numbers, plus the space totals.
    fn postings(&mut self, request: &PostingsRequest) -> Result<Postings>;

    /// The tenant's vector dimensions, and the newest `limit` vectors (by sequence, across the
    /// given spaces, newest first) of a kind. Exactly the records in the lexical index have
    /// their vector here.
    fn vectors(&mut self, request: &VectorRequest) -> Result<Vectors>;

    /// Answers independent reads, in order. A store that pays for each statement (a server's
    /// round trip) sends them together; the default runs them one by one.
    fn read_all(&mut self, reads: Vec<Read>) -> Result<Vec<Answer>> {
        read_each(self, reads)
    }

    /// Counts for a scope.
    fn stats(&mut self, scope: &Scope) -> Result<Stats>;

    /// Records matching a scan, oldest sequence first, at most `limit` (maintenance only).
    fn scan(&mut self, request: &ScanRequest) -> Result<Vec<Fetched>>;

    /// The working states (`working`) or short-term states matching a scan, ordered by owner,
    /// at most its limit.
    fn scan_state_table(&mut self, request: &StateScan, working: bool) -> Result<Vec<StoredState>>;

    /// Working states then short-term states matching a scan, each ordered by owner and limited.
    /// A scan of ended runs reads no short-term states.
    fn scan_states(&mut self, request: &StateScan) -> Result<Vec<StoredState>> {
        let mut found = self.scan_state_table(request, true)?;
        if request.ended_at.is_none() {
            found.extend(self.scan_state_table(request, false)?);
        }
        Ok(found)
    }

    /// The record `id` of `kind` in the tenant (in a transaction: locked until it ends).
    fn find(&mut self, kind: RecordKind, tenant_id: &str, id: &str) -> Result<Option<Fetched>>;

    /// Which of `ids` the tenant holds for `kind`.
    fn taken_ids(&mut self, kind: RecordKind, tenant_id: &str, ids: &[&str]) -> Result<HashSet<String>>;

    /// The facts of a key in some of the tenant's spaces (with `active_only`, its active ones:
    /// at most one a space), with their sequences, any order.
    fn facts_of_key(
        &mut self,
        tenant_id: &str,
        spaces: &[String],
        fact_key: &str,
        active_only: bool,
    ) -> Result<Vec<(i64, Fact)>>;

    /// The active fact of a key in one space, with its sequence.
    fn active_fact(&mut self, tenant_id: &str, space: &str, fact_key: &str) -> Result<Option<(i64, Fact)>> {
        let active = self.facts_of_key(tenant_id, &[space.to_string()], fact_key, true)?;
        Ok(active.into_iter().max_by_key(|(sequence, _)| *sequence))
    }

    /// Every version of a fact key in the scope's visible spaces, with sequences, any order.
    fn fact_versions(&mut self, scope: &Scope, fact_key: &str) -> Result<Vec<(i64, Fact)>> {
        self.facts_of_key(&scope.tenant_id, &visible_spaces(scope, RecordKind::Fact), fact_key, false)
    }

    /// The state of `owner` (a run's working state, or a session's short-term state: an owner
    /// without a run), `None` when nothing was written (in a transaction: locked).
    fn stored_state(&mut self, owner: &StateOwner) -> Result<Option<StoredState>>;

    /// The run's working state, `None` when nothing was written (in a transaction: locked).
    fn working_state(&mut self, scope: &Scope) -> Result<Option<WorkingState>> {
        Ok(match self.stored_state(&StateOwner::of_run(scope))? {
            Some(StoredState::WorkingState { state, .. }) => Some(state),
            _ => None,
        })
    }

    /// The session's short-term state, `None` when nothing was written (in a transaction: locked).
    fn short_term(&mut self, scope: &Scope) -> Result<Option<ShortTermState>> {
        Ok(match self.stored_state(&StateOwner::of_session(scope))? {
            Some(StoredState::ShortTerm { state, .. }) => Some(state),
            _ => None,
        })
    }

    /// The postings of some terms under a namespace prefix, and the prefix's totals.
    fn item_postings(&mut self, request: &ItemPostingsRequest) -> Result<ItemPostings>;

    /// One bounded read of items (see [`ItemScan`]).
    fn scan_items(&mut self, scan: &ItemScan) -> Result<Vec<Item>>;
}

/// The writes a backend offers, inside one transaction. Each stores what the engine prepared and
/// checked; it indexes what it stores (postings, vector rows, totals) in the same transaction.
pub trait Transaction: Snapshot {
    /// Checks the vectors of a write against their tenants' lengths, and fixes the length of a
    /// tenant's first vector. Called before any other write of the transaction.
    fn check_dimensions(&mut self, claims: &[Claim<'_>]) -> Result<()>;

    /// Stores events, in order. An id taken in its tenant is a `Conflict` (the engine names it).
    fn insert_events(&mut self, events: &[Prepared<Event>]) -> Result<()>;

    /// Stores a fact, episode, procedure or insight (events go by the batch: [`Self::insert_events`]);
    /// with `sequence`, over the record its tenant stores there (a replaced procedure, its index
    /// made anew).
    /// A record that is not indexed (a superseded fact, restored) gets no postings.
    fn write_record(&mut self, sequence: Option<i64>, record: &Prepared<Record>) -> Result<()>;

    /// Writes what an update changes on a fact (status, validity, confidence, sources) or
    /// insight (validation, confidence, expiry, promotion) its tenant stores at `sequence`; its
    /// index stays as it is.
    fn update_record(&mut self, sequence: i64, record: &Record) -> Result<()>;

    /// Removes the postings and vector row of the tenant's record stored at `sequence`; the
    /// record stays.
    fn unindex(&mut self, kind: RecordKind, tenant_id: &str, sequence: i64) -> Result<()>;

    /// Deletes records (with their postings, df and totals) and states. Ids that are not there
    /// are skipped. The receipt counts the rows removed per table.
    fn delete(&mut self, request: &DeleteRequest) -> Result<Receipt>;

    /// The postings rows a document of `terms` distinct terms occupies, as receipts count them.
    fn postings_rows(&self, terms: usize) -> u64 {
        terms as u64
    }

    /// Writes a working or short-term state, its owner [`keyed`](StoredState::keyed) (`first`:
    /// its owner had none when read, so another writer's first state is a lost race rather than
    /// overwritten).
    fn put_state(&mut self, stored: &StoredState, first: bool) -> Result<()>;

    /// The item rows and their lexical index, as the engine's item writes change them.
    fn items(&mut self) -> Box<dyn ItemRows + '_>;
}
