#![expect(clippy::panic, reason = "a test fails loudly on the first surprise")]

//! Requests arrive as JSON (or Python dicts): every rejection names the offending key.

use engram_types::{BuildRequest, Purpose, Section, parse_json};

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
