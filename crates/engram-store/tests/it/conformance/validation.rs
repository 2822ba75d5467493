use chrono::{DateTime, Utc};
use engram_store::{ErrorKind, Lifecycle, Store, StoreExt, build_memory_packet};
use engram_types::{
    Budget, BuildRequest, ConsolidateRequest, EventInput, EventKind, EventQuery, FactInput, InsightInput, ListQuery,
    ProcedureInput, Purpose, RetentionPolicy, ShortTermUpdate, SweepRequest, WorkingStatePatch,
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

/// U+0000, which Postgres text cannot hold, is refused alike on every backend in every string
/// stored as text (ids, free text, the text and role derived from a payload), before any
/// lookup; inside JSON, stored escaped, it is kept and read back as written.
pub fn nul_is_refused_in_text_and_kept_in_json(store: &dyn Store) {
    let scope = default_scope();
    let event = |payload: serde_json::Value| EventInput::new(scope.clone(), EventKind::Message, payload);
    assert_eq!(field_of(store.append_event(event(json!({"text": "a\u{0}b"}))).unwrap_err()), "payload.text");
    assert_eq!(
        field_of(store.append_event(event(json!({"role": "\u{0}", "text": "ok"}))).unwrap_err()),
        "payload.role"
    );
    assert_eq!(field_of(store.append_event(event(json!("a\u{0}b"))).unwrap_err()), "payload");
    let fact = FactInput::new(scope.clone(), "k", json!("a\u{0}b"));
    assert_eq!(field_of(store.upsert_fact(fact).unwrap_err()), "value");
    assert_eq!(field_of(store.append_insight(insight_input(&scope, "a\u{0}b")).unwrap_err()), "text");
    let mut procedure = procedure_input(&scope);
    procedure.steps = vec!["ok".into(), "a\u{0}b".into()];
    assert_eq!(field_of(store.upsert_procedure(procedure).unwrap_err()), "steps[1]");
    let mut procedure = procedure_input(&scope);
    procedure.procedure_id = Some("a\u{0}b".into());
    assert_eq!(field_of(store.upsert_procedure(procedure).unwrap_err()), "procedure_id");
    let mut procedure = procedure_input(&scope);
    procedure.scope.tenant_id = "a\u{0}b".into();
    procedure.procedure_id = Some("p".into());
    assert_eq!(field_of(store.upsert_procedure(procedure).unwrap_err()), "scope.tenant_id");
    let mut update = ShortTermUpdate::new(scope.clone());
    update.key_quotes = Some(vec!["a\u{0}b".into()]);
    assert_eq!(field_of(store.update_short_term(update).unwrap_err()), "key_quotes[0]");
    assert_eq!(field_of(store.fact_history(&scope, "a\u{0}b").unwrap_err()), "fact_key");
    assert!(store.list_events(&EventQuery::new(scope.clone())).unwrap().is_empty());

    let payload = json!({"data": "a\u{0}b", "k\u{0}": ["\u{0}"]});
    let stored = store.append_event(event(payload.clone())).unwrap();
    assert_eq!(stored.payload, payload);
    assert_eq!(store.list_events(&EventQuery::new(scope.clone())).unwrap()[0].payload, payload);
    let value = json!({"a\u{0}": "b\u{0}"});
    store.upsert_fact(FactInput::new(scope.clone(), "nul.json", value.clone())).unwrap();
    assert_eq!(store.fact_history(&scope, "nul.json").unwrap()[0].value, value);
}

/// A fact key is checked wherever one is taken, `fact_history` included.
pub fn fact_history_checks_its_key(store: &dyn Store) {
    for key in [String::new(), "k".repeat(129), "line\nbreak".into()] {
        assert_eq!(field_of(store.fact_history(&default_scope(), &key).unwrap_err()), "fact_key", "{key:?}");
    }
}

/// `applicability` is words, limited like other free text.
pub fn procedure_applicability_is_limited_like_text(store: &dyn Store) {
    let mut procedure = procedure_input(&default_scope());
    procedure.applicability = Some("x".repeat(store.limits().max_text_bytes + 1));
    assert_eq!(field_of(store.upsert_procedure(procedure).unwrap_err()), "applicability");
    assert!(store.list_procedures(&ListQuery::new(default_scope())).unwrap().is_empty());
}

/// Sweeps and consolidations reaching past chrono's first or last instant neither panic nor
/// lose their meaning; a retention bound of 0 (every event of every tenant) is refused.
pub fn time_arithmetic_at_the_ends_of_time_does_not_panic(store: &dyn Store) {
    let scope = default_scope();
    let (first, last) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    let at = |id: &str, ts: DateTime<Utc>| {
        let mut event = message(&scope, id, 0, "user", "hello");
        event.ts = Some(ts);
        event
    };
    store.append_events(vec![at("first", first), at("last-1", last), at("last-2", last), at("last-3", last)]).unwrap();
    let sweep = |now, retention| SweepRequest { now: Some(now), retention };
    let ages = RetentionPolicy { max_event_age_days: Some(u32::MAX), max_events_per_session: None };
    assert_eq!(store.sweep_expired(&sweep(last, ages.clone())).unwrap().count("events"), 0);
    assert_eq!(store.sweep_expired(&sweep(first, ages)).unwrap().count("events"), 0);
    let recent = RetentionPolicy { max_event_age_days: Some(1), max_events_per_session: None };
    assert_eq!(store.sweep_expired(&sweep(first, recent)).unwrap().count("events"), 0);

    let consolidation =
        store.consolidate_session(&ConsolidateRequest { window: 1, ..ConsolidateRequest::new(scope.clone()) }, None);
    assert_eq!(consolidation.unwrap().consumed, 3, "every event but the newest, the window");

    let trim = RetentionPolicy { max_event_age_days: None, max_events_per_session: Some(2) };
    assert_eq!(store.sweep_expired(&sweep(last, trim)).unwrap().count("events"), 2, "the newest two are kept");
    let newest: Vec<String> =
        store.list_events(&EventQuery::new(scope.clone())).unwrap().into_iter().map(|event| event.event_id).collect();
    assert_eq!(newest.len(), 2);
    assert!(newest.iter().all(|id| id.starts_with("last-")), "{newest:?}");

    for (field, retention) in [
        (
            "retention.max_events_per_session",
            RetentionPolicy { max_event_age_days: None, max_events_per_session: Some(0) },
        ),
        ("retention.max_event_age_days", RetentionPolicy { max_event_age_days: Some(0), max_events_per_session: None }),
    ] {
        assert_eq!(field_of(store.sweep_expired(&sweep(last, retention)).unwrap_err()), field);
    }
    assert_eq!(store.list_events(&EventQuery::new(scope)).unwrap().len(), 2);
}

/// Weights are bounded (0 to 1000), so a weighted sum is finite and no score is NaN.
pub fn weights_are_bounded_and_scores_finite(store: &dyn Store) {
    let scope = default_scope();
    store.upsert_fact(FactInput::new(scope.clone(), "trip.city", json!("lisbon"))).unwrap();
    let weights = |weight| engram_types::Weights {
        relevance: weight,
        recency: weight,
        importance: weight,
        confidence: weight,
        cue: weight,
    };
    let mut request =
        BuildRequest::new(scope, Purpose::Planner).with_query("lisbon").with_now(crate::support::base_time());
    request.policy.weights = Some(weights(1e308));
    assert_eq!(field_of(build_memory_packet(store, request.clone()).unwrap_err()), "policy.weights.relevance");
    request.policy.weights = Some(weights(engram_types::Weights::MAX));
    let packet = build_memory_packet(store, request).unwrap();
    assert!(!packet.explain.selected.is_empty());
    assert!(packet.explain.selected.iter().all(|item| item.score.is_finite()), "{:?}", packet.explain.selected);
}

/// An import is checked line by line like the writes that made the export, against this
/// store's limits, and every record must be the header's tenant, user and agent's; a bad line
/// anywhere writes nothing. Errors name the line and the field.
pub fn imports_are_checked_like_writes(store: &dyn Store) {
    let scope = default_scope();
    let mut source = message(&scope, "e1", 0, "user", "the shed roof");
    source.tags = vec!["garden".into()];
    store.append_events(vec![source, message(&scope, "e2", 1, "user", "cedar shingles")]).unwrap();
    store
        .update_short_term(ShortTermUpdate {
            rolling_summary: Some("roof".into()),
            ..ShortTermUpdate::new(scope.clone())
        })
        .unwrap();
    let directory = tempfile::tempdir().unwrap();
    let (exported, lines) = export_and_purge(store, &scope, &directory);
    let tampered = |line: usize, change: &dyn Fn(&mut serde_json::Value)| {
        let mut lines = lines.clone();
        change(&mut lines[line]);
        field_of(store.import_scope(&write_lines(&directory, &lines)).unwrap_err())
    };
    let tags: Vec<String> = (0..=store.limits().max_labels).map(|index| format!("t{index}")).collect();
    assert_eq!(tampered(1, &|line| line["tags"] = json!(tags)), "line 2.tags");
    assert_eq!(tampered(2, &|line| line["importance"] = json!(5)), "line 3.importance");
    assert_eq!(tampered(2, &|line| line["colour"] = json!("blue")), "line 3.colour");
    assert_eq!(tampered(2, &|line| line["text"] = json!("forged")), "line 3.text");
    assert_eq!(tampered(2, &|line| line["scope"]["user_id"] = json!("u2")), "line 3.scope.user_id");
    assert_eq!(tampered(2, &|line| line["scope"] = json!(["t1", "u1", "agent", "s1", "r1"])), "line 3.scope");
    assert_eq!(tampered(3, &|line| line["owner"]["run_id"] = json!("r1")), "line 4.owner.run_id");
    assert_eq!(tampered(3, &|line| line["owner"]["tenant_id"] = json!("t2")), "line 4.owner.tenant_id");
    assert_eq!(tampered(0, &|line| line["agent_id"] = json!("")), "line 1.agent_id");
    assert!(store.list_events(&EventQuery::new(scope.clone())).unwrap().is_empty(), "a refused import wrote");
    assert_eq!(store.get_short_term(&scope).unwrap().rolling_summary, None);

    // A key given twice, by a struct or inside free JSON, is refused rather than the last kept.
    let repeated = |from: &str, to: &str| {
        let mut text: Vec<String> = lines.iter().map(|line| line.to_string()).collect();
        assert!(text[2].contains(from), "{}", text[2]);
        text[2] = text[2].replacen(from, to, 1);
        let path = directory.path().join("repeated.jsonl");
        std::fs::write(&path, text.join("\n") + "\n").unwrap();
        let error = store.import_scope(&path).unwrap_err();
        assert!(error.to_string().contains("given more than once"), "{error}");
        field_of(error)
    };
    assert_eq!(repeated("{", "{\"event_id\":\"e9\","), "line 3.event_id");
    assert_eq!(repeated("\"payload\":{", "\"payload\":{\"role\":\"system\","), "line 3.payload.role");

    let not_utf8 = directory.path().join("latin1.jsonl");
    std::fs::write(&not_utf8, b"\"caf\xe9\"\n").unwrap();
    assert_eq!(field_of(store.import_scope(&not_utf8).unwrap_err()), "line 1");
    assert_eq!(field_of(store.import_scope(std::path::Path::new("a\u{0}b.jsonl")).unwrap_err()), "path");
    assert_eq!(field_of(store.export_scope(&scope, std::path::Path::new("a\u{0}b.jsonl")).unwrap_err()), "path");

    assert_eq!(store.import_scope(&exported).unwrap().count("events"), 2);
    assert_eq!(store.list_events(&EventQuery::new(scope.clone())).unwrap().len(), 2);
    assert_eq!(store.get_short_term(&scope).unwrap().rolling_summary.as_deref(), Some("roof"));
}

/// An import keeps the invariants writes keep: a working-state version a patch can still
/// bump (at most `MAX_STATE_VERSION`, refused naming the line and field), one active fact per
/// key (two in one file are a `Conflict` on every backend), and a refused file writes nothing.
pub fn imports_keep_versions_and_one_active_fact_per_key(store: &dyn Store) {
    let scope = default_scope();
    store
        .patch_working_state(WorkingStatePatch { goal: Some("ship".into()), ..WorkingStatePatch::new(scope.clone()) })
        .unwrap();
    store.upsert_fact(FactInput::new(scope.clone(), "user.city", json!("Lisbon"))).unwrap();
    let directory = tempfile::tempdir().unwrap();
    let (_, lines) = export_and_purge(store, &scope, &directory);
    let position = |kind: &str| lines.iter().position(|line| line["type"] == kind).unwrap();
    let (fact, working) = (position("fact"), position("working_state"));
    let write = |lines: &[serde_json::Value]| write_lines(&directory, lines);
    let nothing_written = || {
        assert!(store.list_facts(&ListQuery::new(scope.clone())).unwrap().is_empty(), "a refused import wrote");
        assert_eq!(store.get_working_state(&scope).unwrap().version, 0, "a refused import wrote");
    };
    for version in [json!(i64::MAX), json!(u64::MAX), json!(engram_types::MAX_STATE_VERSION + 1)] {
        let mut tampered = lines.clone();
        tampered[working]["state"]["version"] = version.clone();
        let error = store.import_scope(&write(&tampered)).unwrap_err();
        assert_eq!(field_of(error), format!("line {}.state.version", working + 1), "{version}");
        nothing_written();
    }
    let mut twice = lines.clone();
    let mut second = lines[fact].clone();
    second["fact_id"] = json!("another-fact-id");
    twice.insert(fact + 1, second);
    let error = store.import_scope(&write(&twice)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    nothing_written();

    let mut highest = lines.clone();
    highest[working]["state"]["version"] = json!(engram_types::MAX_STATE_VERSION);
    store.import_scope(&write(&highest)).unwrap();
    let patched = store
        .patch_working_state(WorkingStatePatch { goal: Some("again".into()), ..WorkingStatePatch::new(scope.clone()) });
    assert_eq!(patched.unwrap().version, engram_types::MAX_STATE_VERSION + 1);
    assert_eq!(store.list_facts(&ListQuery::new(scope)).unwrap().len(), 1);
}

/// Exports the scope's user to `directory`, purges the user, and gives the export's path and lines.
fn export_and_purge(
    store: &dyn Store,
    scope: &engram_types::Scope,
    directory: &tempfile::TempDir,
) -> (std::path::PathBuf, Vec<serde_json::Value>) {
    let exported = directory.path().join("export.jsonl");
    store.export_scope(scope, &exported).unwrap();
    store.purge_user(&scope.tenant_id, &scope.user_id).unwrap();
    let lines =
        std::fs::read_to_string(&exported).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    (exported, lines)
}

/// Writes (possibly tampered) export lines to a file of `directory`; its path.
fn write_lines(directory: &tempfile::TempDir, lines: &[serde_json::Value]) -> std::path::PathBuf {
    let path = directory.path().join("tampered.jsonl");
    let text: Vec<String> = lines.iter().map(serde_json::Value::to_string).collect();
    std::fs::write(&path, text.join("\n")).unwrap();
    path
}

fn procedure_input(scope: &engram_types::Scope) -> ProcedureInput {
    ProcedureInput {
        scope: scope.clone(),
        procedure_id: None,
        task_type: "t".into(),
        title: "x".into(),
        steps: Vec::new(),
        content: None,
        priority: None,
        applicability: None,
        tags: Vec::new(),
        entities: Vec::new(),
        scope_level: engram_types::ScopeLevel::User,
        updated_at: None,
        expires_at: None,
        embedding: None,
    }
}

fn insight_input(scope: &engram_types::Scope, text: &str) -> InsightInput {
    InsightInput {
        scope: scope.clone(),
        insight_id: None,
        kind: engram_types::InsightKind::Hypothesis,
        text: text.into(),
        confidence: None,
        validation: engram_types::ValidationState::Unvalidated,
        tags: Vec::new(),
        entities: Vec::new(),
        sources: Vec::new(),
        created_at: None,
        expires_at: None,
    }
}
