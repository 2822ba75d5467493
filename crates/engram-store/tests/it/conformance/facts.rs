use engram_store::{Store, StoreExt};
use engram_types::{FactInput, FactStatus, FactWriteOutcome, ListQuery, ScopeLevel};
use serde_json::json;

use crate::support::{base_time, default_scope, minutes, scope};

fn fact(key: &str, value: serde_json::Value, minute: i64) -> FactInput {
    let mut fact = FactInput::new(default_scope(), key, value);
    fact.recorded_at = Some(base_time() + minutes(minute));
    fact
}

pub fn new_value_supersedes_and_history_keeps_both(store: &dyn Store) {
    let first = store.upsert_fact(fact("user.city", json!("Paris"), 0)).unwrap();
    assert_eq!(first.outcome, FactWriteOutcome::Created);
    let second = store.upsert_fact(fact("user.city", json!("Berlin"), 10)).unwrap();
    assert_eq!(second.outcome, FactWriteOutcome::Superseded);
    assert_eq!(second.superseded.as_deref(), Some(first.fact.fact_id.as_str()));

    let history = store.fact_history(&default_scope(), "user.city").unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].value, json!("Paris"));
    assert_eq!(history[0].status, FactStatus::Superseded);
    assert_eq!(history[0].valid_to, Some(base_time() + minutes(10)));
    assert_eq!(history[0].superseded_by.as_deref(), Some(second.fact.fact_id.as_str()));
    assert_eq!(history[1].value, json!("Berlin"));
    assert_eq!(history[1].status, FactStatus::Active);
    assert_eq!(history[1].valid_to, None);

    let active = store.list_facts(&ListQuery::new(default_scope())).unwrap();
    assert_eq!(active.len(), 1, "one active fact per key");
    assert_eq!(active[0].value, json!("Berlin"));
}

pub fn same_value_refreshes_without_new_version(store: &dyn Store) {
    let mut first = fact("user.diet", json!("vegetarian"), 0);
    first.confidence = Some(0.6);
    first.sources = vec!["e1".into()];
    let created = store.upsert_fact(first).unwrap();
    let mut again = fact("user.diet", json!("vegetarian"), 5);
    again.confidence = Some(0.9);
    again.sources = vec!["e2".into(), "e1".into()];
    let refreshed = store.upsert_fact(again).unwrap();
    assert_eq!(refreshed.outcome, FactWriteOutcome::Refreshed);
    assert_eq!(refreshed.fact.fact_id, created.fact.fact_id);
    assert_eq!(refreshed.fact.confidence, 0.9);
    assert_eq!(refreshed.fact.sources, ["e1", "e2"]);
    let history = store.fact_history(&default_scope(), "user.diet").unwrap();
    assert_eq!(history.len(), 1, "no duplicate row");
    assert_eq!(history[0].confidence, 0.9);
    assert_eq!(history[0].sources, ["e1", "e2"]);
}

pub fn shared_facts_reach_agent_and_tenant(store: &dyn Store) {
    let mut agent_wide = FactInput::new(default_scope(), "agent.rule", json!("be brief"));
    agent_wide.scope_level = ScopeLevel::Agent;
    store.upsert_fact(agent_wide).unwrap();
    let mut tenant_wide = FactInput::new(default_scope(), "company.name", json!("Acme"));
    tenant_wide.scope_level = ScopeLevel::Tenant;
    store.upsert_fact(tenant_wide).unwrap();
    store.upsert_fact(FactInput::new(default_scope(), "user.private", json!("secret"))).unwrap();

    let colleague = scope("t1", "u2", "s9", "r9");
    let keys = |scope| {
        let mut keys: Vec<String> =
            store.list_facts(&ListQuery::new(scope)).unwrap().into_iter().map(|fact| fact.fact_key).collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(colleague.clone()), ["agent.rule", "company.name"]);
    let mut other_agent = colleague;
    other_agent.agent_id = "other-agent".into();
    assert_eq!(keys(other_agent), ["company.name"]);
    assert!(keys(scope("t2", "u1", "s1", "r1")).is_empty(), "nothing crosses tenants");
    assert_eq!(keys(default_scope()).len(), 3);
}

pub fn list_facts_includes_inactive_on_request(store: &dyn Store) {
    store.upsert_fact(fact("k", json!(1), 0)).unwrap();
    store.upsert_fact(fact("k", json!(2), 1)).unwrap();
    let mut query = ListQuery::new(default_scope());
    assert_eq!(store.list_facts(&query).unwrap().len(), 1);
    query.include_inactive = true;
    let all = store.list_facts(&query).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].value, json!(2), "newest first");
}
