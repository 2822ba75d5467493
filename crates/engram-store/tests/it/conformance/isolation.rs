use engram_store::{FetchRequest, Reach, RecordKind, Selector, Store, StoreExt};
use engram_types::{BuildRequest, EventQuery, FactInput, ListQuery, Purpose};
use serde_json::json;

use crate::support::{build, message, scope};

pub fn tenants_and_users_never_see_each_other(store: &dyn Store) {
    let alice = scope("t1", "alice", "s1", "r1");
    let bob = scope("t1", "bob", "s1", "r1");
    let other_tenant = scope("t2", "alice", "s1", "r1");
    for (who, secret) in [(&alice, "alpha"), (&bob, "bravo"), (&other_tenant, "charlie")] {
        store
            .append_event(message(
                who,
                &format!("{}-{}", who.tenant_id, who.user_id),
                0,
                "user",
                &format!("my password is {secret}"),
            ))
            .unwrap();
        store.upsert_fact(FactInput::new(who.clone(), "password", json!(secret))).unwrap();
    }
    for (who, secret) in [(&alice, "alpha"), (&bob, "bravo"), (&other_tenant, "charlie")] {
        let events = store.list_events(&EventQuery::new(who.clone())).unwrap();
        assert_eq!(events.len(), 1);
        assert!(events[0].text.ends_with(secret));
        let facts = store.list_facts(&ListQuery::new(who.clone())).unwrap();
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0].value, json!(secret));
        let mut later_session = who.clone();
        later_session.session_id = "s2".into();
        let packet = build(
            store,
            BuildRequest::new(later_session, Purpose::Responder).with_query("password alpha bravo charlie"),
        );
        for other in ["alpha", "bravo", "charlie"].into_iter().filter(|other| *other != secret) {
            assert!(
                !packet.rendered.contains(other),
                "{other} leaked into {}'s packet:\n{}",
                who.user_id,
                packet.rendered
            );
        }
        assert!(packet.rendered.contains(secret), "own memory is recalled:\n{}", packet.rendered);
    }
    // Fetching by sequence with every sequence there is still returns only the scope's own
    // records: the lexical index's document ids are not a way across users or tenants.
    for (kind, who) in [(RecordKind::Event, &alice), (RecordKind::Fact, &bob), (RecordKind::Event, &other_tenant)] {
        let every: Vec<i64> = (0..200).collect();
        let request = FetchRequest::new(kind, who.clone(), Reach::Space, Selector::Sequences(every), 200);
        let found = store.fetch(&request).unwrap();
        assert_eq!(found.len(), 1, "{kind:?} of {}: {found:?}", who.user_id);
        let owner = found[0].record.scope();
        assert_eq!((&owner.tenant_id, &owner.user_id), (&who.tenant_id, &who.user_id));
    }
}

pub fn query_syntax_in_text_cannot_widen_a_match(store: &dyn Store) {
    let owner = scope("t1", "u1", "s1", "r1");
    store.append_event(message(&owner, "target", 0, "user", "the launch code is zebra")).unwrap();
    let intruder = scope("t1", "u2", "s1", "r1");
    for hostile in
        ["* OR zebra", "zebra\" OR \"a", "NEAR(zebra launch)", "'; DROP TABLE events; --", "tenant_id:t1 zebra"]
    {
        let mut later = intruder.clone();
        later.session_id = "s2".into();
        let packet = build(store, BuildRequest::new(later, Purpose::Planner).with_query(hostile));
        assert!(
            !packet.rendered.contains("zebra is") && !packet.rendered.contains("launch code"),
            "{hostile} widened a match:\n{}",
            packet.rendered
        );
    }
    assert_eq!(store.list_events(&EventQuery::new(owner)).unwrap().len(), 1, "hostile text changed nothing");
}
