//! Forgetting: one event, one fact key, a filtered set of records, or a whole user.

use engram_types::{ForgetRequest, Receipt, RecordKind, Scope, check_id};

use super::{PAGE, each_page};
use crate::StoreExt;
use crate::error::{Error, Result};
use crate::maintenance::{DeleteRequest, ScanRequest, StateScan};
use crate::record::Record;
use crate::store::Store;

pub(super) fn delete_event(store: &dyn Store, scope: &Scope, event_id: &str) -> Result<Receipt> {
    scope.validate(store.limits().max_id_bytes)?;
    check_id("event_id", event_id, store.limits().max_id_bytes)?;
    let mut scan = ScanRequest::owned_by(RecordKind::Event, scope, 1);
    scan.ids = vec![event_id.to_string()];
    if store.scan(&scan)?.is_empty() {
        return Err(Error::NotFound { entity: "event", id: event_id.to_string() });
    }
    let receipt = store.delete(&DeleteRequest {
        tenant_id: scope.tenant_id.clone(),
        records: vec![(RecordKind::Event, event_id.to_string())],
        states: Vec::new(),
        drop_empty_spaces: true,
    })?;
    deleted_by_this_call(receipt, "events", "event", event_id)
}

/// A deletion that found its records gone by the time it deleted (a racing call deleted them
/// after the lookup) is `NotFound`: of callers racing to delete one thing, exactly one succeeds.
fn deleted_by_this_call(receipt: Receipt, table: &str, entity: &'static str, id: &str) -> Result<Receipt> {
    if receipt.rows.get(table).copied().unwrap_or(0) == 0 {
        return Err(Error::NotFound { entity, id: id.to_string() });
    }
    Ok(receipt)
}

pub(super) fn delete_fact(store: &dyn Store, scope: &Scope, fact_key: &str) -> Result<Receipt> {
    scope.validate(store.limits().max_id_bytes)?;
    check_id("fact_key", fact_key, store.limits().max_id_bytes)?;
    let owned: Vec<(RecordKind, String)> = store
        .fact_history(scope, fact_key)?
        .into_iter()
        .filter(|fact| fact.scope.user_id == scope.user_id && fact.scope.agent_id == scope.agent_id)
        .map(|fact| (RecordKind::Fact, fact.fact_id))
        .collect();
    if owned.is_empty() {
        return Err(Error::NotFound { entity: "fact", id: fact_key.to_string() });
    }
    let receipt = store.delete(&DeleteRequest {
        tenant_id: scope.tenant_id.clone(),
        records: owned,
        states: Vec::new(),
        drop_empty_spaces: true,
    })?;
    deleted_by_this_call(receipt, "facts", "fact", fact_key)
}

pub(super) fn forget(store: &dyn Store, request: &ForgetRequest) -> Result<Receipt> {
    request.validate(store.limits())?;
    let kinds = if request.kinds.is_empty() { RecordKind::ALL.to_vec() } else { request.kinds.clone() };
    let mut receipt = Receipt::default();
    for kind in kinds {
        let mut scan = ScanRequest::owned_by(kind, &request.scope, PAGE);
        scan.before = request.before;
        if request.session_only {
            scan.session_id = Some(request.scope.session_id.clone());
        }
        delete_scanned(
            store,
            &mut scan,
            |record| request.tags.is_empty() || labels(record).iter().any(|tag| request.tags.contains(tag)),
            &mut receipt,
        )?;
    }
    Ok(receipt)
}

/// After a purge no read returns anything of the user, and no row of any table (postings,
/// df, totals and lexical spaces included) belongs to it.
pub(super) fn purge_user(store: &dyn Store, tenant_id: &str, user_id: &str) -> Result<Receipt> {
    let limits = store.limits();
    check_id("tenant_id", tenant_id, limits.max_id_bytes)?;
    check_id("user_id", user_id, limits.max_id_bytes)?;
    let mut receipt = Receipt::default();
    for kind in RecordKind::ALL {
        let mut scan = ScanRequest::new(kind, PAGE);
        scan.tenant_id = Some(tenant_id.to_string());
        scan.user_id = Some(user_id.to_string());
        delete_scanned(store, &mut scan, |_| true, &mut receipt)?;
    }
    loop {
        let states = store.scan_states(&StateScan {
            tenant_id: Some(tenant_id.to_string()),
            user_id: Some(user_id.to_string()),
            limit: PAGE,
            ..StateScan::default()
        })?;
        if states.is_empty() {
            break;
        }
        let removed = store.delete(&DeleteRequest {
            tenant_id: tenant_id.to_string(),
            states: states.iter().map(|state| state.owner().clone()).collect(),
            ..DeleteRequest::default()
        })?;
        if removed.total() == 0 {
            break;
        }
        receipt.merge(removed);
    }
    Ok(receipt)
}

pub(super) fn compact(store: &dyn Store, mut receipt: Receipt) -> Result<Receipt> {
    let touched = receipt.rows.iter().filter(|(_, count)| **count > 0).map(|(table, _)| table.clone()).collect();
    // Checked here too, so a receipt naming no table of the schema fails on every backend.
    crate::tables::known_tables("receipt.rows", &touched)?;
    for table in store.rewrite_tables(&touched)? {
        receipt.mark_erased(&table);
    }
    Ok(receipt)
}

/// Pages through a scan, deleting the records `keep` selects, one transaction per page.
pub(super) fn delete_scanned(
    store: &dyn Store,
    scan: &mut ScanRequest,
    keep: impl Fn(&Record) -> bool,
    receipt: &mut Receipt,
) -> Result<()> {
    each_page(store, scan, |page| {
        let mut by_tenant: std::collections::BTreeMap<String, Vec<(RecordKind, String)>> = Default::default();
        for fetched in page.iter().filter(|fetched| keep(&fetched.record)) {
            let record = &fetched.record;
            by_tenant
                .entry(record.scope().tenant_id.clone())
                .or_default()
                .push((record.kind(), record.id().to_string()));
        }
        for (tenant_id, records) in by_tenant {
            receipt.merge(store.delete(&DeleteRequest {
                tenant_id,
                records,
                states: Vec::new(),
                drop_empty_spaces: true,
            })?);
        }
        Ok(())
    })
}

fn labels(record: &Record) -> &[String] {
    match record {
        Record::Event(event) => &event.tags,
        Record::Fact(fact) => &fact.tags,
        Record::Episode(episode) => &episode.tags,
        Record::Procedure(procedure) => &procedure.tags,
        Record::Insight(insight) => &insight.tags,
    }
}
