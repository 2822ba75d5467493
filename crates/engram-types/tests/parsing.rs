#![expect(clippy::panic, reason = "a test fails loudly on the first surprise")]

//! Requests arrive as JSON (or Python dicts): every rejection names the offending key.

use engram_types::{
    BuildRequest, EventInput, Limits, PromoteInsight, Purpose, Section, SweepRequest, from_json_value, parse_json,
};

fn field_of(json: &str) -> String {
    match parse_json::<BuildRequest>(json) {
        Ok(request) => panic!("accepted {json}: {request:?}"),
        Err(error) => error.field,
    }
}

const SCOPE: &str = r#""scope": {"tenant_id": "t", "user_id": "u", "agent_id": "a", "session_id": "s", "run_id": "r"}"#;

#[test]
fn seed_policy_and_budget_parse_with_defaults_for_the_rest() {
    let json = format!(
        r#"{{{SCOPE}, "purpose": "planner", "policy": {{"max_facts": 5, "max_total_candidates": 20}}, "budget": {{"max_tokens": 1000, "per_section": {{"facts": 200}}}}}}"#
    );
    let request: BuildRequest = parse_json(&json).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(request.purpose, Purpose::Planner);
    assert_eq!(request.policy.max_facts, 5);
    assert_eq!(request.policy.max_episodes, 5, "unspecified keys keep their defaults");
    assert_eq!(request.budget.per_section.get(&Section::Facts), Some(&200));
}

#[test]
fn rejections_name_the_key() {
    let cases = [
        (r#""purpose": "planner", "policy": {"max_factz": 5}"#, "policy.max_factz"),
        (r#""purpose": "planner", "policy": {"max_facts": -1}"#, "policy.max_facts"),
        (r#""purpose": "planner", "policy": {"max_facts": "five"}"#, "policy.max_facts"),
        (r#""purpose": "planner", "budget": {"max_tokens": -100}"#, "budget.max_tokens"),
        (r#""purpose": "planner", "budget": {"per_section": {"gossip": 10}}"#, "budget.per_section.gossip"),
        (r#""purpose": "planner", "budget": {"tokenizer": "gpt2"}"#, "budget.tokenizer"),
        (r#""purpose": "chatbot""#, "purpose"),
        (r#""purpose": "planner", "now": "yesterday""#, "now"),
        (r#""purpose": "planner", "cues": {"tags": "not-a-list"}"#, "cues.tags"),
        (r#""purpose": "planner", "surprise": true"#, "surprise"),
    ];
    for (body, field) in cases {
        let found = field_of(&format!("{{{SCOPE}, {body}}}"));
        assert!(found.starts_with(field), "{body}: named {found}, expected {field}");
    }
    assert_eq!(field_of(r#"{"purpose": "planner"}"#), "scope");
    let missing_user =
        r#"{"scope": {"tenant_id": "t", "agent_id": "a", "session_id": "s", "run_id": "r"}, "purpose": "tool"}"#;
    assert_eq!(field_of(missing_user), "scope.user_id");
}

#[test]
fn validation_names_nested_fields() {
    let json = format!(
        r#"{{{SCOPE}, "purpose": "planner", "policy": {{"weights": {{"relevance": -1, "recency": 1, "importance": 1, "confidence": 1, "cue": 1}}}}}}"#
    );
    let request: BuildRequest = parse_json(&json).unwrap_or_else(|error| panic!("{error}"));
    let error = request.validate(&engram_types::Limits::default()).err().map(|error| error.field);
    assert_eq!(error.as_deref(), Some("policy.weights.relevance"));
}

/// A struct is read from a map only: serde would fill its fields from a list by position.
#[test]
fn a_list_where_a_map_belongs_is_refused_naming_the_field() {
    let scope_list = r#"["t", "u", "a", "s", "r"]"#;
    let cases = [
        (format!(r#"{{"scope": {scope_list}, "purpose": "planner"}}"#), "scope"),
        (format!(r#"{{{SCOPE}, "purpose": "planner", "budget": [5]}}"#), "budget"),
        (format!(r#"{{{SCOPE}, "purpose": "planner", "policy": []}}"#), "policy"),
        (format!(r#"{{{SCOPE}, "purpose": "planner", "policy": {{"weights": [1, 1, 1, 1, 1]}}}}"#), "policy.weights"),
        (
            format!(r#"{{{SCOPE}, "purpose": "planner", "policy": {{"half_life_hours": [1.0]}}}}"#),
            "policy.half_life_hours",
        ),
        (format!(r#"{{{SCOPE}, "purpose": "planner", "cues": [["x"]]}}"#), "cues"),
        (format!(r#"{{{SCOPE}, "purpose": "planner", "cues": {{"time_range": [null, null]}}}}"#), "cues.time_range"),
    ];
    for (json, field) in cases {
        let error = parse_json::<BuildRequest>(&json).err();
        assert_eq!(error.as_ref().map(|error| error.field.as_str()), Some(field), "{json}");
        // serde_json adds where in the text it stopped.
        assert!(error.is_some_and(|error| error.problem.starts_with("expected a map, got a list")), "{json}");
    }
    let events = serde_json::json!([[{"tenant_id": "t"}, null, null, "message", {}, [], [], null, null]]);
    let error = from_json_value::<Vec<EventInput>>(events).err().map(|error| error.field);
    assert_eq!(error.as_deref(), Some("[0]"));
    assert_eq!(from_json_value::<Limits>(serde_json::json!([1])).err().map(|error| error.field).as_deref(), Some(""));
    let retention = serde_json::json!({"retention": [null, null]});
    assert_eq!(from_json_value::<SweepRequest>(retention).err().map(|error| error.field).as_deref(), Some("retention"));
    // Lists where lists belong, and values that are free JSON, are read as before.
    let json = format!(r#"{{{SCOPE}, "kind": "message", "tags": ["a"], "payload": [[1, {{"k": [2]}}]]}}"#);
    let event: EventInput = parse_json(&json).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(event.tags, ["a"]);
}

/// An unknown key is named as written, backticks and serde's own words included.
#[test]
fn unknown_keys_holding_backticks_are_named_as_written() {
    for key in ["a`b", "`", "x` or `y", "a`, expected `b", "`, there are no fields"] {
        let mut request = serde_json::json!({"purpose": "planner", "scope": {"tenant_id": "t", "user_id": "u",
            "agent_id": "a", "session_id": "s", "run_id": "r"}});
        if let Some(map) = request.as_object_mut() {
            map.insert(key.into(), serde_json::json!(1));
        }
        assert_eq!(field_of(&request.to_string()), key);
        assert_eq!(from_json_value::<BuildRequest>(request).err().map(|error| error.field).as_deref(), Some(key));
    }
}

/// Nothing may follow the document: a second request must not be half-read.
#[test]
fn text_after_the_document_is_refused() {
    let json = format!(r#"{{{SCOPE}, "purpose": "planner"}}"#);
    assert!(parse_json::<BuildRequest>(&json).is_ok());
    for tail in [" x", "}", ",1", "{}"] {
        assert!(parse_json::<BuildRequest>(&format!("{json}{tail}")).is_err(), "{tail}");
    }
}

/// `promote_insight` is one flat map whose `to` picks the keys that belong: every error names
/// its key, a key of the other target or a misspelt one is unknown, and the target's own values
/// are checked (before any insight is looked up).
#[test]
fn promotion_errors_name_their_field() {
    let cases = [
        (r#""to": "banana", "fact_key": "k""#, "to"),
        (r#""fact_key": "k""#, "to"),
        (r#""to": null, "fact_key": "k""#, "to"),
        (r#""to": "fact", "fact_key": 5"#, "fact_key"),
        (r#""to": "fact""#, "fact_key"),
        (r#""to": "fact", "fact_key": "k", "scope_level": "everyone""#, "scope_level"),
        (r#""to": "fact", "fact_key": "k", "task_type": "t""#, "task_type"),
        (r#""to": "fact", "fact_key": "k", "colour": "blue""#, "colour"),
        (r#""to": "procedure""#, "task_type"),
        (r#""to": "procedure", "task_type": "t", "steps": "call""#, "steps"),
        (r#""to": "procedure", "task_type": "t", "steps": [1]"#, "steps[0]"),
        (r#""to": "procedure", "task_type": "t", "title": 5"#, "title"),
        (r#""to": "procedure", "task_type": "t", "fact_key": "k""#, "fact_key"),
        (r#""to": "procedure", "task_type": "t", "value": 1"#, "value"),
    ];
    for (body, field) in cases {
        let json = format!(r#"{{{SCOPE}, "insight_id": "i", {body}}}"#);
        let named = parse_json::<PromoteInsight>(&json).err().map(|error| error.field);
        assert_eq!(named.as_deref(), Some(field), "{body}");
    }
    let limits = Limits::default();
    let checked = |body: &str| {
        let json = format!(r#"{{{SCOPE}, "insight_id": "i", {body}}}"#);
        let request: PromoteInsight = parse_json(&json).unwrap_or_else(|error| panic!("{body}: {error}"));
        request.validate(&limits).err().map(|error| error.field)
    };
    assert_eq!(checked(r#""to": "fact", "fact_key": "k""#), None);
    assert_eq!(checked(&format!(r#""to": "fact", "fact_key": "{}""#, "k".repeat(129))).as_deref(), Some("fact_key"));
    assert_eq!(checked(r#""to": "procedure", "task_type": "t", "title": " ""#).as_deref(), Some("title"));
    assert_eq!(checked(r#""to": "procedure", "task_type": "t", "steps": ["a\u0000b"]"#).as_deref(), Some("steps[0]"));
}

/// Weights are 0 to 1000 (huge ones would overflow the weighted sum to infinity); a retention
/// bound of 0 would delete every event of every tenant.
#[test]
fn weights_and_retention_bounds_are_checked() {
    let weights = |weight: f64| {
        format!(
            r#"{{{SCOPE}, "purpose": "planner", "policy": {{"weights": {{"relevance": {weight}, "recency": 1, "importance": 1, "confidence": 1, "cue": 1}}}}}}"#
        )
    };
    let checked = |json: String| {
        let request: BuildRequest = parse_json(&json).unwrap_or_else(|error| panic!("{error}"));
        request.validate(&Limits::default()).err().map(|error| error.field)
    };
    assert_eq!(checked(weights(1000.0)), None);
    assert_eq!(checked(weights(1000.5)).as_deref(), Some("policy.weights.relevance"));
    assert_eq!(checked(weights(1e308)).as_deref(), Some("policy.weights.relevance"));
    for (body, field) in [
        (r#"{"retention": {"max_events_per_session": 0}}"#, Some("retention.max_events_per_session")),
        (r#"{"retention": {"max_event_age_days": 0}}"#, Some("retention.max_event_age_days")),
        (r#"{"retention": {"max_event_age_days": 1, "max_events_per_session": 1}}"#, None),
    ] {
        let request: SweepRequest = parse_json(body).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(request.validate().err().map(|error| error.field).as_deref(), field, "{body}");
    }
}

/// U+0000 never reaches a text column: free text refuses it, naming the field; JSON keeps it.
#[test]
fn nul_is_refused_in_text_and_kept_in_json() {
    let limits = Limits::default();
    let event = |payload: &str| {
        let json = format!(r#"{{{SCOPE}, "kind": "tool_call", "payload": {payload}}}"#);
        let event: EventInput = parse_json(&json).unwrap_or_else(|error| panic!("{error}"));
        event.validate(&limits).err().map(|error| error.field)
    };
    assert_eq!(event(r#"{"text": "a\u0000b"}"#).as_deref(), Some("payload.text"));
    assert_eq!(event(r#"{"content": "a\u0000b"}"#).as_deref(), Some("payload.content"));
    assert_eq!(event(r#"{"tool": "a\u0000b", "arguments": {"q": "\u0000"}}"#).as_deref(), Some("payload.tool"));
    assert_eq!(event(r#"{"tool": "search", "arguments": {"q\u0000": "\u0000"}}"#), None);
    assert_eq!(event(r#"{"role": "\u0000", "text": "ok"}"#).as_deref(), Some("payload.role"));
    assert_eq!(event(r#""a\u0000b""#).as_deref(), Some("payload"));
    assert_eq!(event(r#"{"data": "a\u0000b", "k\u0000": ["\u0000"]}"#), None);
}

/// Any self-describing deserializer reads a request as a JSON value does: the same value, the
/// same path and words for what is wrong, and no struct read from a list.
#[test]
fn a_deserializer_of_ones_own_values_reads_as_json_does() {
    let request = |extra: &str| -> serde_json::Value {
        serde_json::from_str(&format!(r#"{{{SCOPE}, "purpose": "planner"{extra}}}"#))
            .unwrap_or_else(|error| panic!("{error}"))
    };
    let read: BuildRequest = engram_types::from_deserializer(request(r#", "policy": {"max_facts": 5}"#))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(read.policy.max_facts, 5);
    for extra in [r#", "policy": {"max_facts": "five"}"#, r#", "budget": [5]"#, r#", "purpose": "chatbot""#] {
        let from_value = from_json_value::<BuildRequest>(request(extra)).err();
        let from_deserializer = engram_types::from_deserializer::<BuildRequest, _>(request(extra)).err();
        assert!(from_value.is_some(), "{extra} was accepted");
        assert_eq!(from_value, from_deserializer, "{extra}");
    }
}
