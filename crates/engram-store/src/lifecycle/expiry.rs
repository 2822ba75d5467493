//! The sweep: expired records of every tenant, ended runs' working states, and raw events
//! past the retention policy.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;

use engram_types::{Receipt, RecordKind, SweepRequest};

use super::forget::delete_scanned;
use super::{PAGE, each_page};
use crate::StoreExt;
use crate::error::Result;
use crate::maintenance::{DeleteRequest, ScanRequest, StateScan};
use crate::prepare;
use crate::record::Record;
use crate::store::Store;

pub(super) fn sweep(store: &dyn Store, request: &SweepRequest) -> Result<Receipt> {
    request.validate()?;
    let now = request.now.map_or_else(prepare::now, prepare::normalize_time);
    let mut receipt = Receipt::default();
    for kind in RecordKind::ALL {
        let mut scan = ScanRequest::new(kind, PAGE);
        scan.expired_at = Some(now);
        delete_scanned(store, &mut scan, |_| true, &mut receipt)?;
    }
    receipt.merge(store.remove_expired_items(now)?);
    sweep_ended_runs(store, now, &mut receipt)?;
    // A cutoff before chrono's earliest instant has no event older than it: nothing to delete.
    let cutoff = request
        .retention
        .max_event_age_days
        .and_then(|days| chrono::Duration::try_days(i64::from(days)))
        .and_then(|age| now.checked_sub_signed(age));
    if let Some(cutoff) = cutoff {
        let mut scan = ScanRequest::new(RecordKind::Event, PAGE);
        scan.before = Some(cutoff);
        delete_scanned(store, &mut scan, |_| true, &mut receipt)?;
    }
    if let Some(keep) = request.retention.max_events_per_session {
        trim_sessions(store, keep as usize, &mut receipt)?;
    }
    Ok(receipt)
}

fn sweep_ended_runs(store: &dyn Store, now: engram_types::Timestamp, receipt: &mut Receipt) -> Result<()> {
    loop {
        let ended = store.scan_states(&StateScan { ended_at: Some(now), limit: PAGE, ..StateScan::default() })?;
        let mut by_tenant: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for state in &ended {
            by_tenant.entry(state.owner().tenant_id.clone()).or_default().push(state.owner().clone());
        }
        let mut removed = 0;
        for (tenant_id, states) in by_tenant {
            let deleted = store.delete(&DeleteRequest { tenant_id, states, ..DeleteRequest::default() })?;
            removed += deleted.total();
            receipt.merge(deleted);
        }
        if ended.len() < PAGE as usize || removed == 0 {
            return Ok(());
        }
    }
}

/// Keeps the newest `keep` events (by ts, then sequence) of every session: one pass over the
/// events in sequence order, holding at most `keep` per session.
fn trim_sessions(store: &dyn Store, keep: usize, receipt: &mut Receipt) -> Result<()> {
    type SessionKey = (String, String, String, String);
    /// A session's newest events as a min-heap of (ts, sequence, id): the oldest on top.
    type Newest = BinaryHeap<Reverse<(i64, i64, String)>>;
    let mut newest: HashMap<SessionKey, Newest> = HashMap::new();
    let mut doomed: BTreeMap<String, Vec<(RecordKind, String)>> = BTreeMap::new();
    let mut scan = ScanRequest::new(RecordKind::Event, PAGE);
    // Every event, in pages: a tenantless scan must bound time, and no instant is later than this.
    scan.before = Some(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    each_page(store, &mut scan, |page| {
        for fetched in page {
            let Record::Event(event) = Arc::unwrap_or_clone(fetched.record) else { continue };
            let owner = &event.scope;
            let key =
                (owner.tenant_id.clone(), owner.user_id.clone(), owner.agent_id.clone(), owner.session_id.clone());
            let heap = newest.entry(key).or_default();
            heap.push(Reverse((event.ts.timestamp_millis(), fetched.sequence, event.event_id)));
            if heap.len() > keep
                && let Some(Reverse((_, _, event_id))) = heap.pop()
            {
                doomed.entry(owner.tenant_id.clone()).or_default().push((RecordKind::Event, event_id));
            }
        }
        Ok(())
    })?;
    for (tenant_id, records) in doomed {
        for chunk in records.chunks(PAGE as usize) {
            receipt.merge(store.delete(&DeleteRequest {
                tenant_id: tenant_id.clone(),
                records: chunk.to_vec(),
                states: Vec::new(),
                drop_empty_spaces: true,
            })?);
        }
    }
    Ok(())
}
