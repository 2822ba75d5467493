//! Facts: an upsert creates, supersedes or refreshes; the history lists every version.

use engram_types::{Fact, FactInput, FactWrite, FactWriteOutcome, Scope};

use super::records::check_new_id;
use super::run::{read, write};
use crate::error::Result;
use crate::prepare::{self, FactPlan};
use crate::record::{Record, RecordKind};
use crate::store::{Store, WriteMode};
use crate::vectors::claim;

/// Writes a fact: creates it, supersedes the active fact of the same key when the value
/// differs, or refreshes it (confidence, sources) when the value is the same. One active fact
/// per key is the database's unique index: a writer in another process that created or
/// superseded the key first makes this run again, and supersede or refresh what it wrote.
pub(crate) fn upsert_fact<S: Store + ?Sized>(store: &S, fact: FactInput) -> Result<FactWrite> {
    let prepared = prepare::fact(fact, prepare::now(), store.limits())?;
    write(store, WriteMode::Retry, |transaction| {
        let record = &prepared.record;
        let tenant_id = &record.scope.tenant_id;
        transaction.check_dimensions(&claim(tenant_id, record.embedding.as_deref()))?;
        let active = transaction.active_fact(tenant_id, &prepared.space, &record.fact_key)?;
        let (active_sequence, active) = match active {
            Some((sequence, fact)) => (Some(sequence), Some(fact)),
            None => (None, None),
        };
        match prepare::plan_fact(active, prepared.clone()) {
            FactPlan::Create(new) => {
                check_new_id(transaction, RecordKind::Fact, tenant_id, &new.record.fact_id)?;
                transaction.write_record(None, &new.wrapped(Record::Fact))?;
                Ok(FactWrite { fact: new.record, outcome: FactWriteOutcome::Created, superseded: None })
            }
            FactPlan::Supersede { previous, new } => {
                check_new_id(transaction, RecordKind::Fact, tenant_id, &new.record.fact_id)?;
                if let Some(sequence) = active_sequence {
                    transaction.unindex(RecordKind::Fact, tenant_id, sequence)?;
                    transaction.update_record(sequence, &Record::Fact(previous.clone()))?;
                }
                transaction.write_record(None, &new.wrapped(Record::Fact))?;
                let superseded = Some(previous.fact_id);
                Ok(FactWrite { fact: new.record, outcome: FactWriteOutcome::Superseded, superseded })
            }
            FactPlan::Refresh(fact) => {
                if let Some(sequence) = active_sequence {
                    transaction.update_record(sequence, &Record::Fact(fact.clone()))?;
                }
                Ok(FactWrite { fact, outcome: FactWriteOutcome::Refreshed, superseded: None })
            }
        }
    })
}

/// Every version of a fact key visible from the scope, oldest first (by recorded_at, then
/// insertion order).
pub(crate) fn fact_history<S: Store + ?Sized>(store: &S, scope: &Scope, fact_key: &str) -> Result<Vec<Fact>> {
    scope.validate(store.limits().max_id_bytes)?;
    engram_types::check_id("fact_key", fact_key, store.limits().max_id_bytes)?;
    let mut versions = read(store, |snapshot| snapshot.fact_versions(scope, fact_key))?;
    versions.sort_by_key(|(sequence, fact)| (fact.recorded_at, *sequence));
    Ok(versions.into_iter().map(|(_, fact)| fact).collect())
}
