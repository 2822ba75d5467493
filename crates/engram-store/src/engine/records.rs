//! Writing events, episodes, procedures and insights: the rules every backend follows.

use std::sync::Arc;

use engram_types::{
    Episode, EpisodeInput, Event, EventInput, Insight, InsightInput, InsightUpdate, Procedure, ProcedureInput, Scope,
};

use super::run::{read, write};
use crate::error::{Error, Result};
use crate::preparation::{prepare_events, prepare_events_while};
use crate::prepare::{self, Prepared};
use crate::record::{Record, RecordKind};
use crate::store::{Snapshot, Store, Transaction, WriteMode};
use crate::vectors::{claim, indexed_claims};

/// Appends events in one transaction: all are stored or none. Ids must be new in the tenant.
/// Where the store rolls a failed write back, chunks are stored as they are prepared (see
/// `preparation.rs`); a store that cannot roll back gets the whole batch prepared first.
pub(crate) fn append_events<S: Store + ?Sized>(store: &S, events: Vec<EventInput>) -> Result<Vec<Event>> {
    let limits = store.limits();
    // Every vector is checked before any event is stored, as when the batch was prepared first.
    let vectors: Vec<(String, usize, usize)> = events
        .iter()
        .enumerate()
        .filter_map(|(index, event)| {
            event.embedding.as_ref().map(|embedding| (event.scope.tenant_id.clone(), index, embedding.len()))
        })
        .collect();
    if !store.rolls_back() {
        let prepared = prepare_events(events, prepare::now(), limits)?;
        return store_events(store, &vectors, prepared);
    }
    prepare_events_while(events, prepare::now(), limits, |preparation| {
        let (mut prepared, mut handed, mut preparation_failed) = (Vec::new(), 0, false);
        let written = write(store, WriteMode::Once, |transaction| {
            transaction.check_dimensions(&indexed_claims(&vectors))?;
            if !prepared.is_empty() {
                transaction.insert_events(&prepared)?;
            }
            while handed < preparation.chunk_count() {
                let chunk = preparation.take(handed).inspect_err(|_| preparation_failed = true)?;
                handed += 1;
                let start = prepared.len();
                prepared.extend(chunk);
                transaction.insert_events(&prepared[start..])?;
            }
            Ok(())
        });
        match written {
            Ok(()) => Ok(prepared.into_iter().map(|item| item.record).collect()),
            // Chunks are handed in order, so this is the bad input of the lowest index.
            Err(error) if preparation_failed => Err(error),
            // Bad input anywhere in the batch is the error, as if it had all been prepared first.
            Err(error) => {
                for position in handed..preparation.chunk_count() {
                    prepared.extend(preparation.take(position)?);
                }
                Err(conflict_named(store, &prepared, error)?)
            }
        }
    })
}

/// Stores a batch prepared whole, in one transaction.
fn store_events<S: Store + ?Sized>(
    store: &S,
    vectors: &[(String, usize, usize)],
    prepared: Vec<Prepared<Event>>,
) -> Result<Vec<Event>> {
    // Ids are not looked up first (a lookup per event on the hot path): a taken one fails the
    // insert, the batch rolls back, and the first offending event is named after.
    let written = write(store, WriteMode::Once, |transaction| {
        transaction.check_dimensions(&indexed_claims(vectors))?;
        transaction.insert_events(&prepared)
    });
    match written {
        Ok(()) => Ok(prepared.into_iter().map(|item| item.record).collect()),
        Err(error) => Err(conflict_named(store, &prepared, error)?),
    }
}

/// A failed append's error: a conflict names the first event whose id is taken or repeated.
fn conflict_named<S: Store + ?Sized>(store: &S, prepared: &[Prepared<Event>], error: Error) -> Result<Error> {
    match error {
        Error::Conflict { .. } => Ok(read(store, |snapshot| first_conflict(snapshot, prepared))?.unwrap_or(error)),
        other => Ok(other),
    }
}

/// The first event of the batch whose id is taken in its tenant or repeats an earlier id of
/// the batch. `None` when every id is free.
pub(crate) fn first_conflict(snapshot: &mut dyn Snapshot, prepared: &[Prepared<Event>]) -> Result<Option<Error>> {
    let mut by_tenant: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for item in prepared {
        by_tenant.entry(&item.record.scope.tenant_id).or_default().push(&item.record.event_id);
    }
    let mut taken = std::collections::HashSet::new();
    for (tenant_id, ids) in &by_tenant {
        for id in snapshot.taken_ids(RecordKind::Event, tenant_id, ids)? {
            taken.insert((tenant_id.to_string(), id));
        }
    }
    let mut batch_ids = std::collections::HashSet::new();
    for (index, item) in prepared.iter().enumerate() {
        let event = &item.record;
        let key = (event.scope.tenant_id.clone(), event.event_id.clone());
        if taken.contains(&key) || !batch_ids.insert(key) {
            return Ok(Some(Error::Conflict {
                entity: "event",
                id: event.event_id.clone(),
                detail: format!("events[{index}].event_id already exists in the tenant"),
            }));
        }
    }
    Ok(None)
}

pub(crate) fn append_episode<S: Store + ?Sized>(store: &S, episode: EpisodeInput) -> Result<Episode> {
    let prepared = prepare::episode(episode, store.limits())?;
    let record = &prepared.record;
    write(store, WriteMode::Once, |transaction| {
        transaction.check_dimensions(&claim(&record.scope.tenant_id, record.embedding.as_deref()))?;
        check_new_id(transaction, RecordKind::Episode, &record.scope.tenant_id, &record.episode_id)?;
        transaction.write_record(None, &prepared.wrapped(Record::Episode))
    })?;
    Ok(prepared.record)
}

/// Creates a procedure, or replaces the one with the same `procedure_id` in place (same
/// sequence, its use count kept, its index made anew). Only its owner may replace it.
pub(crate) fn upsert_procedure<S: Store + ?Sized>(store: &S, procedure: ProcedureInput) -> Result<Procedure> {
    // Bad input is refused before the lookup by id (an owner conflict comes second; Postgres
    // cannot compare an id holding U+0000).
    procedure.validate(store.limits())?;
    let limits = store.limits();
    write(store, WriteMode::Once, |transaction| {
        transaction.check_dimensions(&claim(&procedure.scope.tenant_id, procedure.embedding.as_deref()))?;
        let existing = match &procedure.procedure_id {
            Some(id) => transaction.find(RecordKind::Procedure, &procedure.scope.tenant_id, id)?,
            None => None,
        };
        let existing = match existing {
            Some(fetched) => match Arc::unwrap_or_clone(fetched.record) {
                Record::Procedure(old) => Some((fetched.sequence, old)),
                _ => None,
            },
            None => None,
        };
        if let Some((_, old)) = &existing {
            prepare::check_procedure_owner(old, &procedure)?;
        }
        let use_count = existing.as_ref().map_or(0, |(_, old)| old.use_count);
        let prepared = prepare::procedure(procedure.clone(), prepare::now(), use_count, limits)?;
        let sequence = existing.map(|(sequence, _)| sequence);
        if let Some(sequence) = sequence {
            transaction.unindex(RecordKind::Procedure, &procedure.scope.tenant_id, sequence)?;
        }
        transaction.write_record(sequence, &prepared.wrapped(Record::Procedure))?;
        Ok(prepared.record)
    })
}

pub(crate) fn append_insight<S: Store + ?Sized>(store: &S, insight: InsightInput) -> Result<Insight> {
    let prepared = prepare::insight(insight, prepare::now(), store.limits())?;
    let record = &prepared.record;
    write(store, WriteMode::Once, |transaction| {
        check_new_id(transaction, RecordKind::Insight, &record.scope.tenant_id, &record.insight_id)?;
        transaction.write_record(None, &prepared.wrapped(Record::Insight))
    })?;
    Ok(prepared.record)
}

/// Changes an insight's validation state or confidence; `NotFound` outside its run. The
/// insight is read locked, so racing promotions apply one after the other.
pub(crate) fn update_insight<S: Store + ?Sized>(store: &S, update: InsightUpdate) -> Result<Insight> {
    update.validate(store.limits())?;
    let not_found = || Error::NotFound { entity: "insight", id: update.insight_id.clone() };
    write(store, WriteMode::Once, |transaction| {
        let found = transaction.find(RecordKind::Insight, &update.scope.tenant_id, &update.insight_id)?;
        let Some(fetched) = found else { return Err(not_found()) };
        let Record::Insight(mut insight) = Arc::unwrap_or_clone(fetched.record) else { return Err(not_found()) };
        if !same_run(&insight.scope, &update.scope) {
            return Err(not_found());
        }
        prepare::update_insight(&update, &mut insight)?;
        transaction.update_record(fetched.sequence, &Record::Insight(insight.clone()))?;
        Ok(insight)
    })
}

/// `Conflict` naming the id when it is taken in the tenant.
pub(super) fn check_new_id(
    transaction: &mut dyn Transaction,
    kind: RecordKind,
    tenant_id: &str,
    id: &str,
) -> Result<()> {
    if transaction.taken_ids(kind, tenant_id, &[id])?.is_empty() { Ok(()) } else { Err(id_taken(kind, id)) }
}

/// The `Conflict` of a record id already taken in its tenant.
pub(super) fn id_taken(kind: RecordKind, id: &str) -> Error {
    Error::Conflict {
        entity: kind.as_str(),
        id: id.to_string(),
        detail: format!("{}_id already exists in the tenant", kind.as_str()),
    }
}

fn same_run(left: &Scope, right: &Scope) -> bool {
    left.tenant_id == right.tenant_id
        && left.user_id == right.user_id
        && left.agent_id == right.agent_id
        && left.session_id == right.session_id
        && left.run_id == right.run_id
}
