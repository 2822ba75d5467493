use engram_store::{ErrorKind, FetchRequest, Lifecycle, Reach, RecordKind, Selector, Store, StoreExt};
use engram_types::{EventInput, EventKind, EventQuery, FactInput};
use serde_json::json;

use crate::support::{base_time, default_scope, message, minutes, scope};

pub fn appended_events_list_newest_first(store: &dyn Store) {
    let scope = default_scope();
    for minute in 0..5 {
        store.append_event(message(&scope, &format!("e{minute}"), minute, "user", &format!("turn {minute}"))).unwrap();
    }
    let events = store.list_events(&EventQuery::new(scope.clone())).unwrap();
    let ids: Vec<&str> = events.iter().map(|event| event.event_id.as_str()).collect();
    assert_eq!(ids, ["e4", "e3", "e2", "e1", "e0"]);
    assert_eq!(events[0].text, "turn 4");
    assert_eq!(events[0].role, "user");
    let mut limited = EventQuery::new(scope);
    limited.limit = 2;
    assert_eq!(store.list_events(&limited).unwrap().len(), 2);
}

pub fn bulk_append_is_all_or_nothing(store: &dyn Store) {
    let scope = default_scope();
    let good = message(&scope, "ok-1", 0, "user", "fine");
    let mut bad = message(&scope, "ok-2", 1, "user", "fine too");
    bad.importance = Some(7.0);
    let error = store.append_events(vec![good.clone(), bad]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("events[1].importance"), "{error}");
    assert!(store.list_events(&EventQuery::new(scope.clone())).unwrap().is_empty());

    let stored = store
        .append_events((0..50).map(|index| message(&scope, &format!("bulk-{index}"), index, "user", "bulk")).collect())
        .unwrap();
    assert_eq!(stored.len(), 50);
    let mut query = EventQuery::new(scope);
    query.limit = 1000;
    assert_eq!(store.list_events(&query).unwrap().len(), 50);
}

/// Batches of many chunks (stores that roll back write the first chunks while the rest are
/// prepared): the same outcome as one batch checked whole. Bad input anywhere is the error, at
/// its own index, even after a taken id earlier on; an id repeated across chunks is a conflict
/// naming the repeat; a vector of another length late in the batch is refused; nothing of a
/// failed batch is stored; a good batch is stored and returned in order.
pub fn long_batches_fail_whole_and_keep_their_order(store: &dyn Store) {
    let scope = default_scope();
    let batch = |count: i64| -> Vec<EventInput> {
        (0..count)
            .map(|index| message(&scope, &format!("long-{index}"), index, "user", &format!("turn {index}")))
            .collect()
    };
    let stored_count = |store: &dyn Store| {
        let mut query = EventQuery::new(scope.clone());
        query.limit = 5_000;
        store.list_events(&query).unwrap().len()
    };
    store.append_event(message(&scope, "taken", 0, "user", "already here")).unwrap();

    let mut bad = batch(1_300);
    bad[1_100].importance = Some(7.0);
    let error = store.append_events(bad.clone()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("events[1100].importance"), "{error}");
    bad[3].event_id = Some("taken".into());
    let error = store.append_events(bad).unwrap_err();
    assert!(error.to_string().contains("events[1100].importance"), "bad input comes before a taken id: {error}");

    let mut repeated = batch(1_300);
    repeated[900].event_id = Some("long-20".into());
    let error = store.append_events(repeated).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(error.to_string().contains("events[900]"), "{error}");

    let mut vectors = batch(700);
    for event in &mut vectors {
        event.embedding = Some(vec![0.5; 4]);
    }
    vectors[650].embedding = Some(vec![0.5; 3]);
    let error = store.append_events(vectors).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("events[650].embedding"), "{error}");
    assert_eq!(stored_count(store), 1, "a failed batch leaves nothing");

    let stored = store.append_events(batch(1_300)).unwrap();
    let ids: Vec<String> = stored.iter().map(|event| event.event_id.clone()).collect();
    assert_eq!(ids, (0..1_300).map(|index| format!("long-{index}")).collect::<Vec<_>>());
    assert!(stored.iter().all(|event| event.token_count > 0));
    assert_eq!(stored_count(store), 1_301);
}

pub fn duplicate_event_id_is_a_conflict(store: &dyn Store) {
    let scope = default_scope();
    store.append_event(message(&scope, "same", 0, "user", "first")).unwrap();
    let error = store.append_event(message(&scope, "same", 1, "user", "second")).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    // Within one batch too, and the batch leaves nothing behind.
    let batch = vec![message(&scope, "fresh", 2, "user", "a"), message(&scope, "fresh", 3, "user", "b")];
    assert_eq!(store.append_events(batch).unwrap_err().kind(), ErrorKind::Conflict);
    let events = store.list_events(&EventQuery::new(scope.clone())).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].text, "first");
    // The same id in another tenant is a different event.
    store
        .append_event(message(&crate::support::scope("t2", "u1", "s1", "r1"), "same", 0, "user", "other tenant"))
        .unwrap();
}

pub fn list_filters_by_time_and_kind(store: &dyn Store) {
    let scope = default_scope();
    let mut events: Vec<EventInput> =
        (0..6).map(|minute| message(&scope, &format!("m{minute}"), minute, "user", "hello")).collect();
    let mut tool =
        EventInput::new(scope.clone(), EventKind::ToolCall, json!({"tool": "search", "arguments": {"q": "x"}}));
    tool.event_id = Some("tool-1".into());
    tool.ts = Some(base_time() + minutes(10));
    events.push(tool);
    store.append_events(events).unwrap();

    let mut query = EventQuery::new(scope.clone());
    query.after = Some(base_time() + minutes(1));
    query.before = Some(base_time() + minutes(4));
    let ids: Vec<String> = store.list_events(&query).unwrap().into_iter().map(|event| event.event_id).collect();
    assert_eq!(ids, ["m3", "m2"]);

    let mut tools = EventQuery::new(scope);
    tools.kinds = vec![EventKind::ToolCall];
    let found = store.list_events(&tools).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].role, "tool");
    assert!(found[0].text.starts_with("search"), "{}", found[0].text);
}

pub fn conversation_window_is_latest_messages_of_session(store: &dyn Store) {
    let first_run = scope("t1", "u1", "s1", "r1");
    let second_run = scope("t1", "u1", "s1", "r2");
    let other_session = scope("t1", "u1", "s2", "r3");
    for minute in 0..4 {
        store.append_event(message(&first_run, &format!("a{minute}"), minute, "user", "run one")).unwrap();
        store.append_event(message(&second_run, &format!("b{minute}"), 10 + minute, "assistant", "run two")).unwrap();
        store.append_event(message(&other_session, &format!("c{minute}"), 20 + minute, "user", "elsewhere")).unwrap();
    }
    let mut observation = EventInput::new(first_run.clone(), EventKind::Observation, json!({"text": "not a message"}));
    observation.ts = Some(base_time() + minutes(30));
    store.append_event(observation).unwrap();

    let window = store.conversation_window(&second_run, 5).unwrap();
    let ids: Vec<&str> = window.iter().map(|event| event.event_id.as_str()).collect();
    assert_eq!(ids, ["a3", "b0", "b1", "b2", "b3"], "latest 5 messages of the session, oldest first");
}

pub fn generated_ids_and_token_counts(store: &dyn Store) {
    let scope = default_scope();
    let event = store.append_event(EventInput::new(scope, EventKind::Message, json!({"text": "hello world"}))).unwrap();
    assert!(event.event_id.starts_with("evt_"), "{}", event.event_id);
    assert_eq!(event.token_count, 2);
    assert_eq!(event.role, "user");
}

pub fn event_sequences_name_a_listing_without_reading_it(store: &dyn Store) {
    let first_run = scope("t1", "u1", "s1", "r1");
    let second_run = scope("t1", "u1", "s1", "r2");
    // Out of time order, in two runs and two kinds, with an event of another session.
    let mut events = vec![
        message(&first_run, "late", 9, "user", "written first, newest"),
        message(&second_run, "early", 1, "assistant", "oldest"),
        message(&first_run, "same-a", 5, "user", "same minute, written first"),
        message(&second_run, "same-b", 5, "user", "same minute, written second"),
        message(&scope("t1", "u1", "s2", "r3"), "elsewhere", 3, "user", "another session"),
    ];
    let mut tool = EventInput::new(first_run.clone(), EventKind::ToolCall, json!({"tool": "search"}));
    tool.event_id = Some("tool".into());
    tool.ts = Some(base_time() + minutes(7));
    events.push(tool);
    store.append_events(events).unwrap();

    let mut query = EventQuery::new(second_run.clone());
    query.session_wide = true;
    query.with_sequences = true;
    for (kinds, limit) in [(vec![], 100), (vec![EventKind::Message], 100), (vec![], 3), (vec![EventKind::ToolCall], 1)]
    {
        query.kinds = kinds;
        query.limit = limit;
        let listed = store.list_events(&query).unwrap();
        let sequences: Vec<i64> = listed.iter().map(|event| event.sequence.expect("asked with_sequences")).collect();
        assert_eq!(store.list_event_sequences(&query).unwrap(), sequences, "kinds {:?}, limit {limit}", query.kinds);
    }
    query.kinds = vec![];
    query.limit = 100;
    let listed = store.list_events(&query).unwrap();
    let ids: Vec<&str> = listed.iter().map(|event| event.event_id.as_str()).collect();
    assert_eq!(ids, ["late", "tool", "same-b", "same-a", "early"]);
    let sequences: Vec<i64> = listed.iter().filter_map(|event| event.sequence).collect();
    let mut distinct = sequences.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "one sequence per event: {sequences:?}");
    assert!(sequences[3] < sequences[2], "insertion order within a millisecond: {sequences:?}");

    // Without asking, events carry none, and a run's listing is the run's.
    let plain = store.list_events(&EventQuery::new(first_run.clone())).unwrap();
    assert!(plain.iter().all(|event| event.sequence.is_none()));
    let mut run_only = EventQuery::new(first_run.clone());
    run_only.with_sequences = true;
    let run_sequences: Vec<i64> =
        store.list_events(&run_only).unwrap().iter().filter_map(|event| event.sequence).collect();
    assert_eq!(run_sequences.len(), 3);
    assert_eq!(store.list_event_sequences(&run_only).unwrap(), run_sequences);

    // A deleted event leaves the listing; a new one, even with an older time, enters it with a
    // sequence never used before.
    store.delete_event(&first_run, "same-a").unwrap();
    let mut back_dated = message(&first_run, "back-dated", 2, "user", "older time, newer write");
    back_dated.event_id = Some("same-a".into());
    store.append_event(back_dated).unwrap();
    let after = store.list_event_sequences(&query).unwrap();
    assert_eq!(after.len(), 5);
    assert!(!after.contains(&sequences[3]), "the deleted event's sequence is gone: {after:?}");
    let reused = after.iter().find(|sequence| !sequences.contains(sequence)).copied().unwrap();
    assert!(reused > *distinct.last().unwrap(), "a new event gets a new sequence: {after:?}");
    let listed = store.list_events(&query).unwrap();
    assert_eq!(listed.iter().filter_map(|event| event.sequence).collect::<Vec<_>>(), after);
    assert_eq!(listed[3].event_id, "same-a");
    assert_eq!(listed[3].text, "older time, newer write");

    // The query is checked as list_events checks it.
    let mut bad = EventQuery::new(scope("t1", "", "s1", "r1"));
    bad.with_sequences = true;
    let error = store.list_event_sequences(&bad).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("user_id"), "{error}");
}

pub fn fetch_sequences_follow_fetch_most_important_first_too(store: &dyn Store) {
    let scope = default_scope();
    for (index, importance) in [0.2, 0.9, 0.5, 0.9, 0.1].into_iter().enumerate() {
        let mut fact = FactInput::new(scope.clone(), format!("key-{index}"), json!(index));
        fact.importance = Some(importance);
        store.upsert_fact(fact).unwrap();
    }
    for selector in [Selector::MostImportant, Selector::Newest] {
        for limit in [2, 10] {
            let request = FetchRequest::new(RecordKind::Fact, scope.clone(), Reach::Space, selector.clone(), limit);
            let fetched: Vec<i64> = store.fetch(&request).unwrap().iter().map(|fetched| fetched.sequence).collect();
            assert_eq!(fetched.len(), limit.min(5) as usize);
            assert_eq!(store.fetch_sequences(&request).unwrap(), fetched, "{selector:?}, limit {limit}");
        }
    }
}
