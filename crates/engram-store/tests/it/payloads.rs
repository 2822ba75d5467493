//! Large payloads (1 MiB of JSON) and non-ASCII text round-trip unchanged on every backend,
//! and non-ASCII query terms find their records.

use engram_store::{InMemoryStore, SqliteStore, Store, StoreExt, build_memory_packet};
use engram_types::{BuildRequest, EventInput, EventKind, EventQuery, FactInput, Limits, ListQuery, Purpose};
use serde_json::json;

use crate::backends::server_fixtures;
use crate::support::{base_time, default_scope};

const TEXT: &str = "naïve café in Zürich — 東京 の 寿司, Ελληνικά, עברית, emoji 🧠🗂️, combining e\u{301}";

fn large_limits() -> Limits {
    Limits { max_payload_bytes: 4 << 20, max_text_bytes: 4 << 20, ..Limits::default() }
}

/// About 1 MiB of JSON: many non-ASCII strings in nested objects.
fn large_payload() -> serde_json::Value {
    let items: Vec<serde_json::Value> =
        (0..9000).map(|index| json!({"index": index, "note": TEXT, "nested": {"values": [index, TEXT]}})).collect();
    json!({"role": "tool", "text": TEXT, "items": items})
}

fn check(name: &str, store: &dyn Store) {
    let scope = default_scope();
    let payload = large_payload();
    assert!(serde_json::to_string(&payload).unwrap().len() > 1 << 20, "the payload is over 1 MiB");

    let mut event = EventInput::new(scope.clone(), EventKind::ToolResult, payload.clone());
    event.ts = Some(base_time());
    store.append_event(event).unwrap();
    let events = store.list_events(&EventQuery::new(scope.clone())).unwrap();
    assert_eq!(events.len(), 1, "{name}");
    assert_eq!(events[0].payload, payload, "{name}: the payload round-trips");
    assert_eq!(events[0].text, TEXT, "{name}");

    let mut fact = FactInput::new(scope.clone(), "travel.notes", payload.clone());
    fact.text = Some(format!("{TEXT} {}", "ü".repeat(300_000)));
    fact.recorded_at = Some(base_time());
    let written = store.upsert_fact(fact).unwrap().fact;
    let facts = store.list_facts(&ListQuery::new(scope.clone())).unwrap();
    assert_eq!(facts, vec![written], "{name}: the fact round-trips");

    let mut request = BuildRequest::new(scope, Purpose::Planner);
    request.query = Some("Zürich 寿司".into());
    request.now = Some(base_time());
    let packet = build_memory_packet(store, request).unwrap();
    let terms: Vec<&str> =
        packet.explain.selected.iter().flat_map(|item| item.matched_terms.iter().map(String::as_str)).collect();
    assert!(terms.contains(&"zürich"), "{name}: the non-ASCII term matched: {terms:?}");
}

#[test]
fn large_and_non_ascii_payloads_round_trip_on_every_backend() {
    let directory = tempfile::tempdir().unwrap();
    check("memory", &InMemoryStore::with_limits(large_limits()));
    check("sqlite", &SqliteStore::new(directory.path().join("engram.db")).unwrap().with_limits(large_limits()));
    for (name, database) in server_fixtures(large_limits()) {
        check(&name, database.store());
    }
}
