use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use engram_types::{
    Episode, EpisodeInput, Event, EventInput, Fact, FactInput, FactWrite, FactWriteOutcome, Insight, InsightInput,
    InsightUpdate, Item, Limits, OnConflict, Procedure, ProcedureInput, Receipt, Scope, ShortTermState,
    ShortTermUpdate, Timestamp, WorkingState, WorkingStatePatch,
};

use super::items::ItemTable;
use super::maintenance;
use super::postings::PostingsIndex;
use super::tables::{Row, Tables, run_key, session_key};
use super::vectors::VectorIndex;
use crate::error::{Error, Result};
use crate::item_search::{ItemPostings, ItemPostingsRequest};
use crate::items::{IndexedItem, ItemScan};
use crate::maintenance::{DeleteRequest, ScanRequest, StateScan, StoredState};
use crate::packet::{line_tail_tokens, main_text};
use crate::prepare::{self, FactPlan, Prepared};
use crate::record::{
    FetchRequest, Fetched, Postings, PostingsRequest, Record, RecordKind, Stats, VectorRequest, Vectors, visible_spaces,
};
use crate::store::Store;

/// A store in process memory: fast, isolated, gone when dropped. Behaves exactly like the
/// durable backends (same conformance suite), which makes it the reference implementation.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: RwLock<State>,
    limits: Limits,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) tables: Tables,
    pub(super) postings: PostingsIndex,
    pub(super) vectors: VectorIndex,
    pub(super) items: ItemTable,
}

impl InMemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limits(limits: Limits) -> Self {
        Self { state: RwLock::default(), limits }
    }

    pub(super) fn read(&self) -> Result<RwLockReadGuard<'_, State>> {
        self.state.read().map_err(|_| Error::storage("memory", "lock poisoned by a panicked writer"))
    }

    pub(super) fn write(&self) -> Result<RwLockWriteGuard<'_, State>> {
        self.state.write().map_err(|_| Error::storage("memory", "lock poisoned by a panicked writer"))
    }
}

impl State {
    pub(super) fn insert<T>(&mut self, kind: RecordKind, prepared: Prepared<T>, wrap: fn(T) -> Record) -> i64 {
        let sequence = self.tables.next();
        self.insert_at(kind, sequence, prepared, wrap);
        sequence
    }

    fn insert_at<T>(&mut self, kind: RecordKind, sequence: i64, prepared: Prepared<T>, wrap: fn(T) -> Record) {
        let record = wrap(prepared.record);
        let tenant_id = record.scope().tenant_id.clone();
        self.tables.ids.insert((kind, tenant_id.clone(), record.id().to_string()), sequence);
        self.postings.insert(kind, &tenant_id, &prepared.space, sequence, &prepared.terms);
        if let Some(embedding) = record.embedding() {
            self.vectors.insert(kind, &tenant_id, &prepared.space, sequence, embedding);
        }
        let row =
            Row { record, space: prepared.space, terms: Arc::new(prepared.terms), line_tokens: prepared.line_tokens };
        self.tables.table(kind).insert(sequence, row);
    }

    /// Removes a record's postings and vector (it stays in its table), as when a fact is superseded.
    fn unindex(&mut self, kind: RecordKind, sequence: i64) {
        if let Some(row) = self.tables.table(kind).rows.get(&sequence) {
            let tenant_id = row.record.scope().tenant_id.clone();
            let (space, terms) = (row.space.clone(), row.terms.clone());
            self.postings.remove(kind, &tenant_id, &space, sequence, &terms);
            self.vectors.remove(kind, &tenant_id, &space, sequence);
        }
    }

    fn replace_record(&mut self, kind: RecordKind, sequence: i64, record: Record) {
        let table = self.tables.table(kind);
        if let Some(mut row) = table.remove(sequence) {
            // A fact's status or an insight's validation changes, not the text: counted again only
            // if the text its line shows did change.
            if main_text(&row.record) != main_text(&record) {
                row.line_tokens = line_tail_tokens(&record);
            }
            row.record = record;
            table.insert(sequence, row);
        }
    }

    fn id_taken(&self, kind: RecordKind, tenant_id: &str, id: &str) -> bool {
        self.tables.ids.contains_key(&(kind, tenant_id.to_string(), id.to_string()))
    }

    fn lookup(&self, kind: RecordKind, tenant_id: &str, id: &str) -> Option<(i64, &Record)> {
        let sequence = *self.tables.ids.get(&(kind, tenant_id.to_string(), id.to_string()))?;
        let row = self.tables.tables.get(&kind)?.rows.get(&sequence)?;
        Some((sequence, &row.record))
    }
}

impl Store for InMemoryStore {
    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn append_events(&self, events: Vec<EventInput>) -> Result<Vec<Event>> {
        let prepared = prepare::events(events, prepare::now(), &self.limits)?;
        let mut state = self.write()?;
        let dimensions = state.vectors.check(&crate::vectors::event_claims(&prepared))?;
        let mut batch_ids = std::collections::HashSet::new();
        for (index, item) in prepared.iter().enumerate() {
            let event = &item.record;
            if state.id_taken(RecordKind::Event, &event.scope.tenant_id, &event.event_id)
                || !batch_ids.insert((&event.scope.tenant_id, &event.event_id))
            {
                return Err(Error::Conflict {
                    entity: "event",
                    id: event.event_id.clone(),
                    detail: format!("events[{index}].event_id already exists in the tenant"),
                });
            }
        }
        let stored = prepared.iter().map(|item| item.record.clone()).collect();
        state.vectors.fix(dimensions);
        for item in prepared {
            state.insert(RecordKind::Event, item, Record::Event);
        }
        Ok(stored)
    }

    fn upsert_fact(&self, fact: FactInput) -> Result<FactWrite> {
        let prepared = prepare::fact(fact, prepare::now(), &self.limits)?;
        let mut state = self.write()?;
        let tenant_id = prepared.record.scope.tenant_id.clone();
        let dimensions =
            state.vectors.check(&crate::vectors::claim(&tenant_id, prepared.record.embedding.as_deref()))?;
        let key = (tenant_id.clone(), prepared.space.clone(), prepared.record.fact_key.clone());
        let active_sequence = state.tables.active_facts.get(&key).copied();
        let active = active_sequence.and_then(|sequence| {
            match state.tables.tables.get(&RecordKind::Fact)?.rows.get(&sequence) {
                Some(Row { record: Record::Fact(fact), .. }) => Some(fact.clone()),
                _ => None,
            }
        });
        match prepare::plan_fact(active, prepared) {
            FactPlan::Create(new) => {
                check_new_fact_id(&state, &new.record)?;
                state.vectors.fix(dimensions);
                let fact = new.record.clone();
                let sequence = state.insert(RecordKind::Fact, new, Record::Fact);
                state.tables.active_facts.insert(key, sequence);
                Ok(FactWrite { fact, outcome: FactWriteOutcome::Created, superseded: None })
            }
            FactPlan::Supersede { previous, new } => {
                check_new_fact_id(&state, &new.record)?;
                state.vectors.fix(dimensions);
                let previous_id = previous.fact_id.clone();
                if let Some(previous_sequence) = active_sequence {
                    state.unindex(RecordKind::Fact, previous_sequence);
                    state.replace_record(RecordKind::Fact, previous_sequence, Record::Fact(previous));
                }
                let fact = new.record.clone();
                let sequence = state.insert(RecordKind::Fact, new, Record::Fact);
                state.tables.active_facts.insert(key, sequence);
                Ok(FactWrite { fact, outcome: FactWriteOutcome::Superseded, superseded: Some(previous_id) })
            }
            FactPlan::Refresh(fact) => {
                if let Some(sequence) = active_sequence {
                    state.replace_record(RecordKind::Fact, sequence, Record::Fact(fact.clone()));
                }
                Ok(FactWrite { fact, outcome: FactWriteOutcome::Refreshed, superseded: None })
            }
        }
    }

    fn fact_history(&self, scope: &Scope, fact_key: &str) -> Result<Vec<Fact>> {
        scope.validate(self.limits.max_id_bytes)?;
        engram_types::check_id("fact_key", fact_key, self.limits.max_id_bytes)?;
        let state = self.read()?;
        let spaces = visible_spaces(scope, RecordKind::Fact);
        let mut history: Vec<(i64, Fact)> = state
            .tables
            .tables
            .get(&RecordKind::Fact)
            .map(|table| {
                table
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
                    .collect()
            })
            .unwrap_or_default();
        history.sort_by_key(|(sequence, fact)| (fact.recorded_at, *sequence));
        Ok(history.into_iter().map(|(_, fact)| fact).collect())
    }

    fn append_episode(&self, episode: EpisodeInput) -> Result<Episode> {
        let prepared = prepare::episode(episode, &self.limits)?;
        let mut state = self.write()?;
        let record = prepared.record.clone();
        let dimensions =
            state.vectors.check(&crate::vectors::claim(&record.scope.tenant_id, record.embedding.as_deref()))?;
        if state.id_taken(RecordKind::Episode, &record.scope.tenant_id, &record.episode_id) {
            return Err(Error::Conflict {
                entity: "episode",
                id: record.episode_id,
                detail: "episode_id already exists in the tenant".into(),
            });
        }
        state.vectors.fix(dimensions);
        state.insert(RecordKind::Episode, prepared, Record::Episode);
        Ok(record)
    }

    fn upsert_procedure(&self, procedure: ProcedureInput) -> Result<Procedure> {
        // Bad input is refused before the lookup by id (an owner conflict comes second).
        procedure.validate(&self.limits)?;
        let mut state = self.write()?;
        let dimensions =
            state.vectors.check(&crate::vectors::claim(&procedure.scope.tenant_id, procedure.embedding.as_deref()))?;
        let existing = procedure
            .procedure_id
            .as_ref()
            .and_then(|id| state.lookup(RecordKind::Procedure, &procedure.scope.tenant_id, id))
            .map(|(sequence, record)| (sequence, record.clone()));
        if let Some((_, record)) = &existing
            && !same_owner(record.scope(), &procedure.scope)
        {
            return Err(Error::Conflict {
                entity: "procedure",
                id: record.id().to_string(),
                detail: "procedure_id belongs to another user or agent".into(),
            });
        }
        let use_count = match &existing {
            Some((_, Record::Procedure(old))) => old.use_count,
            _ => 0,
        };
        let prepared = prepare::procedure(procedure, prepare::now(), use_count, &self.limits)?;
        let record = prepared.record.clone();
        state.vectors.fix(dimensions);
        match existing {
            Some((sequence, _)) => {
                state.unindex(RecordKind::Procedure, sequence);
                state.tables.table(RecordKind::Procedure).remove(sequence);
                state.insert_at(RecordKind::Procedure, sequence, prepared, Record::Procedure);
            }
            None => {
                state.insert(RecordKind::Procedure, prepared, Record::Procedure);
            }
        }
        Ok(record)
    }

    fn append_insight(&self, insight: InsightInput) -> Result<Insight> {
        let prepared = prepare::insight(insight, prepare::now(), &self.limits)?;
        let mut state = self.write()?;
        let record = prepared.record.clone();
        if state.id_taken(RecordKind::Insight, &record.scope.tenant_id, &record.insight_id) {
            return Err(Error::Conflict {
                entity: "insight",
                id: record.insight_id,
                detail: "insight_id already exists in the tenant".into(),
            });
        }
        state.insert(RecordKind::Insight, prepared, Record::Insight);
        Ok(record)
    }

    fn update_insight(&self, update: InsightUpdate) -> Result<Insight> {
        update.validate(&self.limits)?;
        let mut state = self.write()?;
        let not_found = || Error::NotFound { entity: "insight", id: update.insight_id.clone() };
        let (sequence, record) =
            state.lookup(RecordKind::Insight, &update.scope.tenant_id, &update.insight_id).ok_or_else(not_found)?;
        let Record::Insight(mut insight) = record.clone() else { return Err(not_found()) };
        if run_key(&insight.scope) != run_key(&update.scope) {
            return Err(not_found());
        }
        prepare::update_insight(&update, &mut insight)?;
        state.replace_record(RecordKind::Insight, sequence, Record::Insight(insight.clone()));
        Ok(insight)
    }

    fn get_working_state(&self, scope: &Scope) -> Result<WorkingState> {
        scope.validate(self.limits.max_id_bytes)?;
        Ok(self.read()?.tables.working_states.get(&run_key(scope)).cloned().unwrap_or_default())
    }

    fn patch_working_state(&self, patch: WorkingStatePatch) -> Result<WorkingState> {
        patch.validate(&self.limits)?;
        let mut state = self.write()?;
        let entry = state.tables.working_states.entry(run_key(&patch.scope)).or_default();
        if let Some(expected) = patch.expected_version
            && expected != entry.version
        {
            return Err(Error::stale_version(&patch.scope, expected, entry.version));
        }
        let mut next = entry.clone();
        patch.apply_to(&mut next, prepare::now());
        *entry = next.clone();
        Ok(next)
    }

    fn get_short_term(&self, scope: &Scope) -> Result<ShortTermState> {
        scope.validate(self.limits.max_id_bytes)?;
        Ok(self.read()?.tables.short_terms.get(&session_key(scope)).cloned().unwrap_or_default())
    }

    fn update_short_term(&self, update: ShortTermUpdate) -> Result<ShortTermState> {
        update.validate(&self.limits)?;
        let mut state = self.write()?;
        let entry = state.tables.short_terms.entry(session_key(&update.scope)).or_default();
        update.apply_to(entry, prepare::now());
        Ok(entry.clone())
    }

    fn fetch(&self, request: &FetchRequest) -> Result<Vec<Fetched>> {
        request.scope.validate(self.limits.max_id_bytes)?;
        request.validate()?;
        let state = self.read()?;
        Ok(state.tables.tables.get(&request.kind).map(|table| table.fetch(request)).unwrap_or_default())
    }

    fn postings(&self, request: &PostingsRequest) -> Result<Postings> {
        Ok(self.read()?.postings.read(request))
    }

    fn vectors(&self, request: &VectorRequest) -> Result<Vectors> {
        request.validate(&self.limits)?;
        let state = self.read()?;
        Ok(state.vectors.read(request))
    }

    fn stats(&self, scope: &Scope) -> Result<Stats> {
        scope.validate(self.limits.max_id_bytes)?;
        let state = self.read()?;
        let mut stats = Stats {
            working_state_version: state
                .tables
                .working_states
                .get(&run_key(scope))
                .map_or(0, |working| working.version),
            ..Stats::default()
        };
        for (kind, table) in &state.tables.tables {
            let spaces = visible_spaces(scope, *kind);
            for row in table.rows.values() {
                if row.record.scope().tenant_id != scope.tenant_id || !spaces.contains(&row.space) {
                    continue;
                }
                match &row.record {
                    Record::Event(event) => {
                        stats.events += 1;
                        stats.oldest_event = Some(stats.oldest_event.map_or(event.ts, |oldest| oldest.min(event.ts)));
                        stats.newest_event = Some(stats.newest_event.map_or(event.ts, |newest| newest.max(event.ts)));
                    }
                    Record::Fact(fact) => *stats.facts.entry(fact.status.as_str().to_string()).or_insert(0) += 1,
                    Record::Episode(episode) => {
                        stats.add(RecordKind::Episode, episode.compression_level.as_str().to_string(), 1)
                    }
                    Record::Procedure(_) => stats.procedures += 1,
                    // An insight belongs to its session's run, as `list_insights` reads it.
                    Record::Insight(insight) if insight.scope.session_id == scope.session_id => {
                        *stats.insights.entry(insight.validation.as_str().to_string()).or_insert(0) += 1
                    }
                    Record::Insight(_) => {}
                }
            }
        }
        Ok(stats)
    }

    fn scan(&self, request: &ScanRequest) -> Result<Vec<Fetched>> {
        request.validate()?;
        Ok(maintenance::scan(&*self.read()?, request))
    }

    fn scan_states(&self, request: &StateScan) -> Result<Vec<StoredState>> {
        request.validate()?;
        Ok(maintenance::scan_states(&*self.read()?, request))
    }

    fn delete(&self, request: &DeleteRequest) -> Result<Receipt> {
        Ok(maintenance::delete(&mut *self.write()?, request))
    }

    fn restore(&self, records: Vec<Record>, states: Vec<StoredState>) -> Result<Receipt> {
        let prepared =
            records.into_iter().map(|record| prepare::restored(record, &self.limits)).collect::<Result<Vec<_>>>()?;
        maintenance::restore(&mut *self.write()?, prepared, states)
    }

    fn write_items(&self, items: Vec<IndexedItem>, on_conflict: OnConflict) -> Result<()> {
        self.write()?.items.put(items, on_conflict, prepare::now());
        Ok(())
    }

    fn item_postings(&self, request: &ItemPostingsRequest) -> Result<ItemPostings> {
        Ok(self.read()?.items.postings(request))
    }

    fn refresh_items(&self, tenant_id: &str, expiries: &[(String, String, Timestamp)]) -> Result<()> {
        self.write()?.items.refresh(tenant_id, expiries);
        Ok(())
    }

    fn scan_items(&self, scan: &ItemScan) -> Result<Vec<Item>> {
        Ok(self.read()?.items.scan(scan))
    }

    fn remove_items(&self, tenant_id: &str, keys: &[(String, String)]) -> Result<Receipt> {
        Ok(self.write()?.items.remove(tenant_id, keys))
    }

    fn remove_expired_items(&self, now: Timestamp) -> Result<Receipt> {
        Ok(self.write()?.items.remove_expired(now))
    }
}

fn same_owner(left: &Scope, right: &Scope) -> bool {
    left.tenant_id == right.tenant_id && left.user_id == right.user_id && left.agent_id == right.agent_id
}

fn check_new_fact_id(state: &State, fact: &Fact) -> Result<()> {
    if state.id_taken(RecordKind::Fact, &fact.scope.tenant_id, &fact.fact_id) {
        return Err(Error::Conflict {
            entity: "fact",
            id: fact.fact_id.clone(),
            detail: "fact_id already exists in the tenant".into(),
        });
    }
    Ok(())
}
