use engram_store::{ErrorKind, Store, StoreExt, build_memory_packet};
use engram_types::{
    Budget, BuildRequest, EventInput, EventKind, EventQuery, FactInput, ListQuery, Purpose, WorkingStatePatch,
};
use serde_json::json;

use crate::support::{default_scope, message};

fn field_of(error: engram_store::Error) -> String {
    match error {
        engram_store::Error::InvalidInput(invalid) => invalid.field,
        other => panic!("expected InvalidInput, got {other}"),
    }
}

pub fn bad_input_names_the_field_and_writes_nothing(store: &dyn Store) {
    let mut no_user = default_scope();
    no_user.user_id = String::new();
    assert_eq!(field_of(store.append_event(message(&no_user, "x", 0, "user", "hi")).unwrap_err()), "scope.user_id");

    let mut control = default_scope();
    control.session_id = "bad\u{0}id".into();
    assert_eq!(field_of(store.append_event(message(&control, "x", 0, "user", "hi")).unwrap_err()), "scope.session_id");

    let mut long_id = message(&default_scope(), &"x".repeat(500), 0, "user", "hi");
    assert_eq!(field_of(store.append_event(long_id.clone()).unwrap_err()), "event_id");
    long_id.event_id = None;
    long_id.tags = vec!["ok".into(), String::new()];
    assert_eq!(field_of(store.append_event(long_id).unwrap_err()), "tags[1]");

    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let error = store.append_event(EventInput::new(default_scope(), EventKind::Observation, deep)).unwrap_err();
    assert_eq!(field_of(error), "payload");

    let mut fact = FactInput::new(default_scope(), "k", json!(1));
    fact.confidence = Some(f64::NAN);
    assert_eq!(field_of(store.upsert_fact(fact).unwrap_err()), "confidence");

    let request = BuildRequest::new(no_user, Purpose::Planner);
    assert_eq!(build_memory_packet(store, request).unwrap_err().kind(), ErrorKind::InvalidInput);
    let zero_budget = BuildRequest::new(default_scope(), Purpose::Planner).with_budget(Budget::with_max_tokens(0));
    assert_eq!(field_of(build_memory_packet(store, zero_budget).unwrap_err()), "budget.max_tokens");
    let mut bad_weights = BuildRequest::new(default_scope(), Purpose::Planner);
    bad_weights.policy.weights =
        Some(engram_types::Weights { relevance: -1.0, recency: 1.0, importance: 1.0, confidence: 1.0, cue: 1.0 });
    assert_eq!(field_of(build_memory_packet(store, bad_weights).unwrap_err()), "policy.weights.relevance");

    let mut patch = WorkingStatePatch::new(default_scope());
    patch.goal = Some("x".repeat(1_000_000));
    assert_eq!(field_of(store.patch_working_state(patch).unwrap_err()), "goal");

    assert!(store.list_events(&EventQuery::new(default_scope())).unwrap().is_empty());
    assert!(store.list_facts(&ListQuery::new(default_scope())).unwrap().is_empty());
    assert_eq!(store.get_working_state(&default_scope()).unwrap().version, 0);
}
