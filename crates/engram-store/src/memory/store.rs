use std::collections::HashSet;
use std::sync::RwLock;

use engram_types::{Event, Fact, Item, Limits, Receipt, Scope};

use super::maintenance;
use super::state::State;
use crate::engine::first_conflict;
use crate::error::{Error, Result};
use crate::items::{ItemPostings, ItemPostingsRequest, ItemRows, ItemScan};
use crate::maintenance::{DeleteRequest, ScanRequest, StateOwner, StateScan, StoredState};
use crate::prepare::Prepared;
use crate::record::{
    FetchRequest, Fetched, Postings, PostingsRequest, Record, RecordKind, Stats, VectorRequest, Vectors, visible_spaces,
};
use crate::store::{Snapshot, Store, Transaction, WriteMode};
use crate::vectors::Claim;

/// A store in process memory: fast, isolated, gone when dropped. Behaves exactly like the
/// durable backends (same conformance suite), which makes it the reference implementation.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: RwLock<State>,
    limits: Limits,
}

impl InMemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limits(limits: Limits) -> Self {
        Self { state: RwLock::default(), limits }
    }
}

fn poisoned() -> Error {
    Error::storage("memory", "lock poisoned by a panicked writer")
}

impl Store for InMemoryStore {
    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn read(&self, work: &mut (dyn FnMut(&mut dyn Snapshot) -> Result<()> + Send)) -> Result<()> {
        let state = self.state.read().map_err(|_| poisoned())?;
        work(&mut MemorySnapshot(&state))
    }

    /// Under the write lock. The engine checks everything a write can fail on before it changes
    /// anything, so a failed write leaves nothing behind; the one check that records something
    /// (a tenant's first vector length) takes effect only when the write succeeds.
    fn write(&self, _mode: WriteMode, work: &mut (dyn FnMut(&mut dyn Transaction) -> Result<()> + Send)) -> Result<()> {
        self.erase(&mut |transaction| work(transaction).map(|()| Receipt::default())).map(drop)
    }

    /// Memory keeps no copy of what it removed: a deletion is a write.
    fn erase(&self, work: &mut (dyn FnMut(&mut dyn Transaction) -> Result<Receipt> + Send)) -> Result<Receipt> {
        let mut state = self.state.write().map_err(|_| poisoned())?;
        let mut transaction = MemoryTransaction { state: &mut state, dimensions: Vec::new() };
        let receipt = work(&mut transaction)?;
        let dimensions = std::mem::take(&mut transaction.dimensions);
        state.vectors.fix(dimensions);
        Ok(receipt)
    }
}

/// Reads of a [`State`], whether under the read lock or inside a write.
trait StateView {
    fn state(&self) -> &State;
}

struct MemorySnapshot<'a>(&'a State);

impl StateView for MemorySnapshot<'_> {
    fn state(&self) -> &State {
        self.0
    }
}

struct MemoryTransaction<'a> {
    state: &'a mut State,
    /// Vector lengths this write fixes for tenants that had none, applied when it succeeds.
    dimensions: Vec<(String, u32)>,
}

impl StateView for MemoryTransaction<'_> {
    fn state(&self) -> &State {
        self.state
    }
}

impl<T: StateView> Snapshot for T {
    fn fetch(&mut self, request: &FetchRequest) -> Result<Vec<Fetched>> {
        Ok(self.state().tables.get(&request.kind).map(|table| table.fetch(request)).unwrap_or_default())
    }

    fn fetch_sequences(&mut self, request: &FetchRequest) -> Result<Vec<i64>> {
        Ok(self.state().tables.get(&request.kind).map(|table| table.fetch_sequences(request)).unwrap_or_default())
    }

    fn postings(&mut self, request: &PostingsRequest) -> Result<Postings> {
        Ok(self.state().postings.read(request))
    }

    fn vectors(&mut self, request: &VectorRequest) -> Result<Vectors> {
        Ok(self.state().vectors.read(request))
    }

    fn stats(&mut self, scope: &Scope) -> Result<Stats> {
        Ok(stats(self.state(), scope))
    }

    fn scan(&mut self, request: &ScanRequest) -> Result<Vec<Fetched>> {
        Ok(maintenance::scan(self.state(), request))
    }

    fn scan_state_table(&mut self, request: &StateScan, working: bool) -> Result<Vec<StoredState>> {
        let states = self.state().states.values();
        let matching = states.filter(|stored| stored.owner().run_id.is_some() == working && request.matches(stored));
        Ok(matching.take(request.limit as usize).cloned().collect())
    }

    fn find(&mut self, kind: RecordKind, tenant_id: &str, id: &str) -> Result<Option<Fetched>> {
        let state = self.state();
        let Some(sequence) = state.ids.get(&(kind, tenant_id.to_string(), id.to_string())) else { return Ok(None) };
        Ok(state.tables.get(&kind).and_then(|table| table.rows.get(sequence)).map(|row| row.fetched(*sequence)))
    }

    fn taken_ids(&mut self, kind: RecordKind, tenant_id: &str, ids: &[&str]) -> Result<HashSet<String>> {
        let state = self.state();
        Ok(ids
            .iter()
            .filter(|id| state.ids.contains_key(&(kind, tenant_id.to_string(), id.to_string())))
            .map(|id| id.to_string())
            .collect())
    }

    /// Active facts through the key map (an upsert reads one per write), every version by a walk.
    fn facts_of_key(
        &mut self,
        tenant_id: &str,
        spaces: &[String],
        fact_key: &str,
        active_only: bool,
    ) -> Result<Vec<(i64, Fact)>> {
        let state = self.state();
        let Some(table) = state.tables.get(&RecordKind::Fact) else { return Ok(Vec::new()) };
        let version = |sequence: &i64| match &*table.rows.get(sequence)?.record {
            Record::Fact(fact) if fact.fact_key == fact_key && fact.scope.tenant_id == tenant_id => {
                Some((*sequence, fact.clone()))
            }
            _ => None,
        };
        Ok(if active_only {
            let key = |space: &String| (tenant_id.to_string(), space.clone(), fact_key.to_string());
            spaces.iter().filter_map(|space| version(state.active_facts.get(&key(space))?)).collect()
        } else {
            let in_spaces = table.rows.iter().filter(|(_, row)| spaces.contains(&row.space));
            in_spaces.filter_map(|(sequence, _)| version(sequence)).collect()
        })
    }

    fn stored_state(&mut self, owner: &StateOwner) -> Result<Option<StoredState>> {
        Ok(self.state().states.get(owner).cloned())
    }

    fn item_postings(&mut self, request: &ItemPostingsRequest) -> Result<ItemPostings> {
        Ok(self.state().items.postings(request))
    }

    fn scan_items(&mut self, scan: &ItemScan) -> Result<Vec<Item>> {
        Ok(self.state().items.scan(scan))
    }
}

impl Transaction for MemoryTransaction<'_> {
    fn check_dimensions(&mut self, claims: &[Claim<'_>]) -> Result<()> {
        let new = self.state.vectors.check(claims)?;
        self.dimensions.extend(new);
        Ok(())
    }

    /// Every id is checked before any event is stored: memory has no rollback.
    fn insert_events(&mut self, events: &[Prepared<Event>]) -> Result<()> {
        if let Some(conflict) = first_conflict(self, events)? {
            return Err(conflict);
        }
        for item in events {
            self.state.insert(item.wrapped(Record::Event));
        }
        Ok(())
    }

    fn write_record(&mut self, sequence: Option<i64>, record: &Prepared<Record>) -> Result<()> {
        match sequence {
            Some(sequence) => {
                self.state.remove(record.record.kind(), sequence);
                self.state.insert_at(sequence, record.clone());
            }
            None => self.state.insert(record.clone()),
        }
        Ok(())
    }

    fn update_record(&mut self, sequence: i64, record: &Record) -> Result<()> {
        self.state.replace_record(record.kind(), sequence, record.clone());
        Ok(())
    }

    fn unindex(&mut self, kind: RecordKind, _tenant_id: &str, sequence: i64) -> Result<()> {
        // Sequences are unique across tenants here; the SQL stores key a record by both.
        self.state.unindex(kind, sequence);
        Ok(())
    }

    fn delete(&mut self, request: &DeleteRequest) -> Result<Receipt> {
        Ok(maintenance::delete(self.state, request))
    }

    fn put_state(&mut self, stored: &StoredState, _first: bool) -> Result<()> {
        self.state.states.insert(stored.owner().clone(), stored.clone());
        Ok(())
    }

    fn items(&mut self) -> Box<dyn ItemRows + '_> {
        Box::new(&mut self.state.items)
    }
}

fn stats(state: &State, scope: &Scope) -> Stats {
    let mut stats = Stats::default();
    if let Some(StoredState::WorkingState { state: working, .. }) = state.states.get(&StateOwner::of_run(scope)) {
        stats.working_state_version = working.version;
    }
    for (kind, table) in &state.tables {
        let spaces = visible_spaces(scope, *kind);
        for row in table.rows.values() {
            if row.record.scope().tenant_id != scope.tenant_id || !spaces.contains(&row.space) {
                continue;
            }
            // Counted by the states the SQL backends group by.
            let label = match &*row.record {
                Record::Event(event) => {
                    stats.oldest_event = Some(stats.oldest_event.map_or(event.ts, |oldest| oldest.min(event.ts)));
                    stats.newest_event = Some(stats.newest_event.map_or(event.ts, |newest| newest.max(event.ts)));
                    ""
                }
                Record::Fact(fact) => fact.status.as_str(),
                Record::Episode(episode) => episode.compression_level.as_str(),
                Record::Procedure(_) => "",
                // An insight belongs to its session's run, as `list_insights` reads it.
                Record::Insight(insight) if insight.scope.session_id != scope.session_id => continue,
                Record::Insight(insight) => insight.validation.as_str(),
            };
            stats.add(*kind, label.to_string(), 1);
        }
    }
    stats
}
