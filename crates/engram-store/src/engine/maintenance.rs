//! Deleting, restoring and the item primitives, each one transaction.

use std::collections::{HashMap, HashSet};

use engram_types::{FactStatus, OnConflict, Receipt, Timestamp};

use super::item_writes;
use super::records::id_taken;
use super::run::write;
use crate::error::{Error, Result};
use crate::items::IndexedItem;
use crate::maintenance::{DeleteRequest, StoredState, table_names};
use crate::prepare::{self, Prepared};
use crate::record::{Record, RecordKind};
use crate::store::Transaction;
use crate::store::{Store, WriteMode};
use crate::vectors::record_claims;

/// Deletes records (with their postings, df and totals) and states in one transaction, leaving
/// no readable copy where the database keeps one. Ids that are not there are skipped.
pub(crate) fn delete<S: Store + ?Sized>(store: &S, request: &DeleteRequest) -> Result<Receipt> {
    store.erase(&mut |transaction: &mut dyn Transaction| transaction.delete(request))
}

/// Stores exported records as they were (ids, times, statuses, in the order given, each indexed
/// as on a write) and replaces the given states, in one transaction. Everything is checked
/// before anything is written (the in-memory store has no rollback).
pub(crate) fn restore<S: Store + ?Sized>(store: &S, records: Vec<Record>, states: Vec<StoredState>) -> Result<Receipt> {
    let prepared =
        records.into_iter().map(|record| prepare::restored(record, store.limits())).collect::<Result<Vec<_>>>()?;
    let states: Vec<StoredState> = states.into_iter().map(StoredState::keyed).collect();
    write(store, WriteMode::Once, |transaction| {
        transaction.check_dimensions(&record_claims(&prepared))?;
        check_restorable(transaction, &prepared)?;
        let mut receipt = Receipt::default();
        // Runs of events go in one batch each (numbered in order), before the record after them.
        let mut events = Vec::new();
        for item in &prepared {
            let names = table_names(item.record.kind());
            receipt.add(names.table, 1);
            if prepare::is_indexed(&item.record) {
                receipt.add(names.postings, transaction.postings_rows(item.terms.frequencies.len()));
                receipt.add("record_vectors", u64::from(item.record.embedding().is_some()));
            }
            if let Record::Event(event) = &item.record {
                let (space, terms) = (item.space.clone(), item.terms.clone());
                events.push(Prepared { record: event.clone(), space, terms, line_tokens: item.line_tokens });
                continue;
            }
            if !events.is_empty() {
                transaction.insert_events(&std::mem::take(&mut events))?;
            }
            transaction.write_record(None, item)?;
        }
        if !events.is_empty() {
            transaction.insert_events(&events)?;
        }
        for stored in &states {
            transaction.put_state(stored, false)?;
            receipt.add(stored.table(), 1);
        }
        Ok(receipt)
    })
}

/// `Conflict` on the first record whose id is taken in its tenant (or repeats an earlier one's),
/// or active fact whose key has another active version, stored or restored.
fn check_restorable(transaction: &mut dyn Transaction, prepared: &[Prepared<Record>]) -> Result<()> {
    // The stored ids among the batch's, one read per kind and tenant (not one per record).
    let mut asked: HashMap<(RecordKind, &str), Vec<&str>> = HashMap::new();
    for item in prepared {
        let record = &item.record;
        asked.entry((record.kind(), record.scope().tenant_id.as_str())).or_default().push(record.id());
    }
    let mut taken: HashSet<(RecordKind, &str, String)> = HashSet::new();
    for ((kind, tenant_id), ids) in &asked {
        taken.extend(transaction.taken_ids(*kind, tenant_id, ids)?.into_iter().map(|id| (*kind, *tenant_id, id)));
    }
    let mut ids = HashSet::new();
    let mut active: HashMap<(&str, &str, &str), &str> = HashMap::new();
    for item in prepared {
        let record = &item.record;
        let (kind, tenant_id, id) = (record.kind(), record.scope().tenant_id.as_str(), record.id());
        if !ids.insert((kind, tenant_id, id)) || taken.contains(&(kind, tenant_id, id.to_string())) {
            return Err(id_taken(kind, id));
        }
        let Record::Fact(fact) = record else { continue };
        if fact.status != FactStatus::Active {
            continue;
        }
        let stored = transaction.active_fact(tenant_id, &item.space, &fact.fact_key)?;
        let key = (tenant_id, item.space.as_str(), fact.fact_key.as_str());
        let other = stored.map(|(_, stored)| stored.fact_id).or_else(|| active.get(&key).map(|id| id.to_string()));
        if let Some(other) = other {
            return Err(Error::Conflict {
                entity: "fact",
                id: fact.fact_id.clone(),
                detail: format!("fact_key {:?} already has an active fact ({other})", fact.fact_key),
            });
        }
        active.insert(key, &fact.fact_id);
    }
    Ok(())
}

/// Writes validated items in one transaction (callers use [`Items::put_items`](crate::Items)).
pub(crate) fn write_items<S: Store + ?Sized>(store: &S, items: &[IndexedItem], on_conflict: OnConflict) -> Result<()> {
    let now = prepare::now();
    write(store, WriteMode::Once, |transaction| item_writes::put(&mut *transaction.items(), items, on_conflict, now))
}

pub(crate) fn refresh_items<S: Store + ?Sized>(
    store: &S,
    tenant_id: &str,
    expiries: &[(String, String, Timestamp)],
) -> Result<()> {
    write(store, WriteMode::Once, |transaction| item_writes::refresh(&mut *transaction.items(), tenant_id, expiries))
}

pub(crate) fn remove_items<S: Store + ?Sized>(
    store: &S,
    tenant_id: &str,
    keys: &[(String, String)],
) -> Result<Receipt> {
    store
        .erase(&mut |transaction: &mut dyn Transaction| item_writes::remove(&mut *transaction.items(), tenant_id, keys))
}

pub(crate) fn remove_expired_items<S: Store + ?Sized>(store: &S, now: Timestamp) -> Result<Receipt> {
    store.erase(&mut |transaction: &mut dyn Transaction| item_writes::remove_expired(&mut *transaction.items(), now))
}
