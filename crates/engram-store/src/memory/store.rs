use std::collections::HashSet;
use std::sync::RwLock;

use engram_types::{Event, Fact, Item, Limits, Receipt, Scope, ShortTermState, WorkingState};

use super::maintenance;
use super::state::State;
use super::tables::Row;
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
        Ok(self.state().tables.tables.get(&request.kind).map(|table| table.fetch(request)).unwrap_or_default())
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

    fn scan_states(&mut self, request: &StateScan) -> Result<Vec<StoredState>> {
        Ok(maintenance::scan_states(self.state(), request))
    }

    fn find(&mut self, kind: RecordKind, tenant_id: &str, id: &str) -> Result<Option<Fetched>> {
        let tables = &self.state().tables;
        let Some(sequence) = tables.ids.get(&(kind, tenant_id.to_string(), id.to_string())) else { return Ok(None) };
        Ok(tables.tables.get(&kind).and_then(|table| table.rows.get(sequence)).map(|row| row.fetched(*sequence)))
    }

    fn taken_ids(&mut self, kind: RecordKind, tenant_id: &str, ids: &[&str]) -> Result<HashSet<String>> {
        let tables = &self.state().tables;
        Ok(ids
            .iter()
            .filter(|id| tables.ids.contains_key(&(kind, tenant_id.to_string(), id.to_string())))
            .map(|id| id.to_string())
            .collect())
    }

    fn active_fact(&mut self, tenant_id: &str, space: &str, fact_key: &str) -> Result<Option<(i64, Fact)>> {
        let tables = &self.state().tables;
        let key = (tenant_id.to_string(), space.to_string(), fact_key.to_string());
        let Some(sequence) = tables.active_facts.get(&key) else { return Ok(None) };
        Ok(match tables.tables.get(&RecordKind::Fact).and_then(|table| table.rows.get(sequence)) {
            Some(Row { record: Record::Fact(fact), .. }) => Some((*sequence, fact.clone())),
            _ => None,
        })
    }

    fn fact_versions(&mut self, scope: &Scope, fact_key: &str) -> Result<Vec<(i64, Fact)>> {
        let spaces = visible_spaces(scope, RecordKind::Fact);
        let Some(table) = self.state().tables.tables.get(&RecordKind::Fact) else { return Ok(Vec::new()) };
        Ok(table
            .rows
            .iter()
            .filter_map(|(sequence, row)| match &row.record {
                Record::Fact(fact)
                    if fact.fact_key == fact_key
                        && fact.scope.tenant_id == scope.tenant_id
                        && spaces.contains(&row.space) =>
                {
                    Some((*sequence, fact.clone()))
                }
                _ => None,
            })
            .collect())
    }

    fn working_state(&mut self, scope: &Scope) -> Result<Option<WorkingState>> {
        Ok(self.state().tables.working_states.get(&StateOwner::of_run(scope)).cloned())
    }

    fn short_term(&mut self, scope: &Scope) -> Result<Option<ShortTermState>> {
        Ok(self.state().tables.short_terms.get(&StateOwner::of_session(scope)).cloned())
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

    fn insert_events(&mut self, events: &[Prepared<Event>]) -> Result<()> {
        let mut batch_ids = HashSet::new();
        for item in events {
            let event = &item.record;
            let key = (RecordKind::Event, event.scope.tenant_id.clone(), event.event_id.clone());
            if self.state.tables.ids.contains_key(&key) || !batch_ids.insert(key) {
                return Err(Error::Conflict {
                    entity: "event",
                    id: event.event_id.clone(),
                    detail: "event_id already exists in the tenant".into(),
                });
            }
        }
        for item in events {
            self.state.insert(item.wrapped(Record::Event));
        }
        Ok(())
    }

    fn write_record(&mut self, sequence: Option<i64>, record: &Prepared<Record>) -> Result<()> {
        let sequence = match sequence {
            Some(sequence) => {
                self.state.tables.table(record.record.kind()).remove(sequence);
                sequence
            }
            None => self.state.tables.next(),
        };
        self.state.insert_at(sequence, record.clone());
        Ok(())
    }

    fn update_record(&mut self, sequence: i64, record: &Record) -> Result<()> {
        self.state.replace_record(record.kind(), sequence, record.clone());
        Ok(())
    }

    fn unindex(&mut self, kind: RecordKind, sequence: i64) -> Result<()> {
        self.state.unindex(kind, sequence);
        Ok(())
    }

    fn delete(&mut self, request: &DeleteRequest) -> Result<Receipt> {
        Ok(maintenance::delete(self.state, request))
    }

    fn put_state(&mut self, stored: &StoredState, _first: bool) -> Result<()> {
        let scope = stored.owner().scope();
        match stored {
            StoredState::WorkingState { state, .. } => {
                self.state.tables.working_states.insert(StateOwner::of_run(&scope), state.clone());
            }
            StoredState::ShortTerm { state, .. } => {
                self.state.tables.short_terms.insert(StateOwner::of_session(&scope), state.clone());
            }
        }
        Ok(())
    }

    fn items(&mut self) -> Box<dyn ItemRows + '_> {
        Box::new(&mut self.state.items)
    }
}

fn stats(state: &State, scope: &Scope) -> Stats {
    let working = state.tables.working_states.get(&StateOwner::of_run(scope));
    let mut stats = Stats { working_state_version: working.map_or(0, |working| working.version), ..Stats::default() };
    for (kind, table) in &state.tables.tables {
        let spaces = visible_spaces(scope, *kind);
        for row in table.rows.values() {
            if row.record.scope().tenant_id != scope.tenant_id || !spaces.contains(&row.space) {
                continue;
            }
            // Counted by the states the SQL backends group by.
            let label = match &row.record {
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
