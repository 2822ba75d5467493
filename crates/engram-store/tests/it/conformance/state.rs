use engram_store::{Error, ErrorKind, Store, StoreExt};
use engram_types::{ShortTermUpdate, WorkingStatePatch};
use serde_json::json;

use crate::support::{default_scope, scope};

pub fn working_state_patches_merge_and_bump_version(store: &dyn Store) {
    let empty = store.get_working_state(&default_scope()).unwrap();
    assert_eq!(empty.version, 0);
    let mut patch = WorkingStatePatch::new(default_scope());
    patch.goal = Some("ship the release".into());
    patch.plan = Some(vec!["test".into(), "tag".into()]);
    patch.slots = Some(serde_json::from_value(json!({"branch": "main", "attempt": 1})).unwrap());
    let first = store.patch_working_state(patch).unwrap();
    assert_eq!(first.version, 1);

    let mut second = WorkingStatePatch::new(default_scope());
    second.open_loops = Some(vec!["waiting for CI".into()]);
    second.slots = Some(serde_json::from_value(json!({"attempt": 2, "branch": null})).unwrap());
    let state = store.patch_working_state(second).unwrap();
    assert_eq!(state.version, 2);
    assert_eq!(state.goal.as_deref(), Some("ship the release"), "fields left out are kept");
    assert_eq!(state.plan, ["test", "tag"]);
    assert_eq!(state.open_loops, ["waiting for CI"]);
    assert_eq!(serde_json::Value::Object(state.slots.clone()), json!({"attempt": 2}), "null removes a slot");
    assert_eq!(store.get_working_state(&default_scope()).unwrap(), state);
    assert_eq!(store.get_working_state(&scope("t1", "u1", "s1", "other-run")).unwrap().version, 0);
}

pub fn stale_expected_version_is_a_conflict(store: &dyn Store) {
    let mut patch = WorkingStatePatch::new(default_scope());
    patch.goal = Some("a".into());
    patch.expected_version = Some(0);
    store.patch_working_state(patch.clone()).unwrap();
    patch.goal = Some("b".into());
    let error = store.patch_working_state(patch).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(error.to_string().contains("expected_version 0"), "{error}");
    let state = store.get_working_state(&default_scope()).unwrap();
    assert_eq!((state.goal.as_deref(), state.version), (Some("a"), 1), "a failed patch changes nothing");
}

/// 8 threads x 100 compare-and-set patches on one working state: each applies or fails with
/// Conflict, and the final version equals the number applied (no lost update).
pub fn concurrent_compare_and_set_loses_no_update(store: &dyn Store) {
    let applied = std::sync::atomic::AtomicU64::new(0);
    let conflicts = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|threads| {
        for thread in 0..8 {
            let (applied, conflicts) = (&applied, &conflicts);
            threads.spawn(move || {
                for attempt in 0..100 {
                    let current = store.get_working_state(&default_scope()).unwrap();
                    let mut patch = WorkingStatePatch::new(default_scope());
                    patch.expected_version = Some(current.version);
                    patch.decisions = Some(vec![format!("thread {thread} attempt {attempt}")]);
                    match store.patch_working_state(patch) {
                        Ok(state) => {
                            assert_eq!(state.version, current.version + 1);
                            applied.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        Err(Error::Conflict { .. }) => {
                            conflicts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        Err(other) => panic!("a patch failed with something other than Conflict: {other}"),
                    }
                }
            });
        }
    });
    let applied = applied.into_inner();
    assert_eq!(applied + conflicts.into_inner(), 800);
    assert!(applied >= 100, "at least every thread's uncontended patches apply");
    assert_eq!(store.get_working_state(&default_scope()).unwrap().version, applied);
}

pub fn short_term_state_round_trips(store: &dyn Store) {
    assert_eq!(store.get_short_term(&default_scope()).unwrap().rolling_summary, None);
    let update = ShortTermUpdate {
        scope: default_scope(),
        rolling_summary: Some("user is planning a trip".into()),
        key_quotes: Some(vec!["I hate layovers".into()]),
        updated_at: None,
        consolidated_until: None,
        consolidated_ids: None,
        extracted_until: None,
        extracted_ids: None,
    };
    store.update_short_term(update).unwrap();
    let partial = ShortTermUpdate {
        scope: scope("t1", "u1", "s1", "another-run"),
        rolling_summary: Some("trip to Lisbon".into()),
        key_quotes: None,
        updated_at: None,
        consolidated_until: None,
        consolidated_ids: None,
        extracted_until: None,
        extracted_ids: None,
    };
    store.update_short_term(partial).unwrap();
    let state = store.get_short_term(&default_scope()).unwrap();
    assert_eq!(
        state.rolling_summary.as_deref(),
        Some("trip to Lisbon"),
        "short-term state is per session, not per run"
    );
    assert_eq!(state.key_quotes, ["I hate layovers"]);
    assert!(store.get_short_term(&scope("t1", "u1", "s2", "r1")).unwrap().key_quotes.is_empty());
}
