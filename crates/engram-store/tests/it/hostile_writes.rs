//! Hostile writes (issue 8): generated records, most of them invalid, written through every
//! backend. Nothing panics; a write its input's `validate` rejects fails with `InvalidInput`
//! naming the same field and changes nothing in its own scope; a valid write succeeds (or
//! finds its id taken: `Conflict`, `NotFound`); and a seeded scope of a tenant no generated
//! write names reads exactly the same afterwards.

use chrono::{DateTime, Utc};
use engram_store::{ErrorKind, Lifecycle, SqliteStore, Store, StoreExt, build_memory_packet};
use engram_types::{
    BuildRequest, CompressionLevel, ConsolidateRequest, EpisodeInput, EventInput, EventKind, EventQuery, FactInput,
    ForgetRequest, InsightInput, InsightUpdate, Limits, ListQuery, ProcedureInput, Purpose, RecordKind, Scope,
    ScopeLevel, ShortTermUpdate, ValidationError, ValidationState, WorkingStatePatch,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::backends::{Fixture, SqliteFile, server_fixtures};
use crate::support::{base_time, comparable, message, minutes};

/// The scope whose memory must not change. No generated write names its tenant exactly, but
/// many name look-alikes (`seeded `, `Seeded`, `seeded` + zero-width space).
fn seeded() -> Scope {
    Scope {
        tenant_id: "seeded".into(),
        user_id: "u1".into(),
        agent_id: "a".into(),
        session_id: "s1".into(),
        run_id: "r1".into(),
    }
}

fn seed(store: &dyn Store) {
    let own = seeded();
    store
        .append_events(vec![
            message(&own, "e1", 0, "user", "the garden shed roof leaks"),
            message(&own, "e2", 1, "assistant", "cedar shingles would fix the shed roof"),
        ])
        .unwrap();
    for (key, value, level) in [("shed.material", "cedar", ScopeLevel::User), ("company", "Acme", ScopeLevel::Tenant)] {
        let mut fact = FactInput::new(own.clone(), key, json!(value));
        fact.recorded_at = Some(base_time());
        fact.scope_level = level;
        store.upsert_fact(fact).unwrap();
    }
    store
        .append_episode(EpisodeInput {
            scope: own.clone(),
            episode_id: Some("x1".into()),
            start_ts: base_time(),
            end_ts: base_time() + minutes(5),
            summary: "planned the shed roof repair".into(),
            highlights: vec!["cedar".into()],
            tags: vec!["garden".into()],
            entities: vec![],
            sources: vec!["e1".into()],
            compression_level: CompressionLevel::Raw,
            importance: Some(0.7),
            scope_level: ScopeLevel::Agent,
            expires_at: None,
            embedding: None,
        })
        .unwrap();
    store
        .upsert_procedure(ProcedureInput {
            scope: own.clone(),
            procedure_id: Some("x1".into()),
            task_type: "roof_repair".into(),
            title: "Replace shed shingles".into(),
            steps: vec!["remove old shingles".into(), "nail cedar shingles".into()],
            content: None,
            priority: None,
            applicability: None,
            tags: vec![],
            entities: vec![],
            scope_level: ScopeLevel::User,
            updated_at: Some(base_time()),
            expires_at: None,
            embedding: None,
        })
        .unwrap();
    store
        .append_insight(InsightInput {
            scope: own.clone(),
            insight_id: Some("x1".into()),
            kind: Default::default(),
            text: "cedar lasts longer on the shed roof".into(),
            confidence: Some(0.6),
            validation: ValidationState::Validated,
            tags: vec![],
            entities: vec![],
            sources: vec![],
            created_at: Some(base_time()),
            expires_at: None,
        })
        .unwrap();
    let mut patch = WorkingStatePatch::new(own.clone());
    patch.goal = Some("repair the shed roof".into());
    patch.updated_at = Some(base_time());
    store.patch_working_state(patch).unwrap();
    let mut update = ShortTermUpdate::new(own);
    update.rolling_summary = Some("shed talk".into());
    update.updated_at = Some(base_time());
    store.update_short_term(update).unwrap();
}

/// Everything a read returns for `scope` (database size aside), and its packet.
fn snapshot(store: &dyn Store, scope: &Scope) -> String {
    let mut run = EventQuery::new(scope.clone());
    run.limit = 1000;
    let mut session = run.clone();
    session.session_wide = true;
    let mut list = ListQuery::new(scope.clone());
    list.limit = 1000;
    list.include_inactive = true;
    let mut stats = store.stats(scope).unwrap();
    stats.database_bytes = None;
    let request = BuildRequest::new(scope.clone(), Purpose::Planner)
        .with_now(base_time() + minutes(60))
        .with_query("garden shed roof cedar Acme tenant_id:seeded");
    let packet = build_memory_packet(store, request).unwrap();
    format!(
        "{:#?}",
        (
            store.list_events(&run).unwrap(),
            store.list_events(&session).unwrap(),
            store.list_facts(&list).unwrap(),
            store.fact_history(scope, "shed.material").unwrap(),
            store.list_episodes(&list).unwrap(),
            store.list_procedures(&list).unwrap(),
            store.list_insights(&list).unwrap(),
            store.get_working_state(scope).unwrap(),
            store.get_short_term(scope).unwrap(),
            stats,
            comparable(&packet),
        )
    )
}

/// What a write's own scope reads: counts, working and short-term state.
fn scope_state(store: &dyn Store, scope: &Scope) -> Option<String> {
    let mut stats = store.stats(scope).ok()?;
    stats.database_bytes = None;
    Some(format!("{stats:?} {:?} {:?}", store.get_working_state(scope).ok()?, store.get_short_term(scope).ok()?))
}

// ---------------------------------------------------------------------------------------------
// Generators: each field valid most of the time, so most writes fail on one or two fields.

const TENANTS: &[&str] = &["seeded ", " seeded", "Seeded", "seeded\u{200b}", "seede", "other"];
const USERS: &[&str] = &["u1", "u2", "u1 "];
const AGENTS: &[&str] = &["a", "a2", "a "];
const SESSIONS: &[&str] = &["s1", "s2"];
const RUNS: &[&str] = &["r1", "r2"];
/// Record ids, few so that they collide across owners.
const RECORD_IDS: &[&str] = &["x1", "x2", "e1"];
const LABELS: &[&str] = &["garden", "promo", "Lisbon", "é"];
const BAD_IDS: &[&str] = &["", "\u{0}", "a\u{1f}b", "line\nbreak", "\t", "\u{7f}", "\u{85}"];
const TEXTS: &[&str] = &[
    "the shed roof needs cedar",
    "",
    "   ",
    "\u{0}",
    "nul\u{0}inside",
    "'; DROP TABLE events; --",
    "\"x\" OR y",
    "*",
    "NEAR(shed roof)",
    "tenant_id:seeded shed",
    "e\u{301} 東京 🧠",
    "\u{202e}evil",
    "line\nbreak\ttab",
    "\u{1f}u\u{1f}u1\u{1f}a",
];

fn id(valid: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        40 => select(valid).prop_map(String::from),
        2 => select(BAD_IDS).prop_map(String::from),
        1 => Just("x".repeat(129)),
        1 => Just("é".repeat(65)),
    ]
}

fn scope() -> impl Strategy<Value = Scope> {
    (id(TENANTS), id(USERS), id(AGENTS), id(SESSIONS), id(RUNS)).prop_map(
        |(tenant_id, user_id, agent_id, session_id, run_id)| Scope { tenant_id, user_id, agent_id, session_id, run_id },
    )
}

fn record_id() -> impl Strategy<Value = Option<String>> {
    prop::option::of(id(RECORD_IDS))
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => select(TEXTS).prop_map(String::from),
        // Valid everywhere, and a character some databases refuse in text.
        2 => Just("nul\u{0}inside".to_string()),
        2 => any::<String>(),
        1 => Just("y".repeat(64 * 1024 + 1)),
    ]
}

fn texts() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(text(), 0..3)
}

fn labels() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        20 => prop::collection::vec(id(LABELS), 0..3),
        1 => Just(vec!["garden".to_string(); 65]),
    ]
}

fn unit() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        2 => Just(None),
        4 => (0.0..=1.0_f64).prop_map(Some),
        1 => select(&[-0.0, -1e-9, 1.000_000_1, 2.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY][..]).prop_map(Some),
    ]
}

/// Instants around 2001, long before the wall clock that absent times default to: a generated
/// `before` or `now` never falls between two runs' clocks, so every run sees the same outcomes.
fn time() -> impl Strategy<Value = DateTime<Utc>> {
    let around = DateTime::<Utc>::from_timestamp(978_307_200, 0).unwrap_or_default();
    prop_oneof![
        8 => (-100_000_i64..100_000).prop_map(move |minute| around + minutes(minute)),
        1 => select(&[DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::UNIX_EPOCH][..]),
    ]
}

fn maybe_time() -> impl Strategy<Value = Option<DateTime<Utc>>> {
    prop::option::of(time())
}

fn level() -> impl Strategy<Value = ScopeLevel> {
    select(&[ScopeLevel::User, ScopeLevel::Agent, ScopeLevel::Tenant][..])
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("bottom"), |inner, _| json!([inner]))
}

fn payload() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    let tree = leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(select(&["text", "role", "content", "tool", "args", "k"][..]), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().map(|(key, value)| (key.to_string(), value)).collect())),
        ]
    });
    prop_oneof![
        12 => tree,
        1 => (30_usize..40).prop_map(nested),
        1 => Just(json!({"text": "z".repeat(300 * 1024)})),
    ]
}

/// One write (or a build, or a lifecycle call that writes) through the store.
#[derive(Debug, Clone)]
enum Write {
    Events(Vec<EventInput>),
    Fact(FactInput),
    Episode(EpisodeInput),
    Procedure(ProcedureInput),
    Insight(InsightInput),
    InsightUpdate(InsightUpdate),
    WorkingState(WorkingStatePatch),
    ShortTerm(ShortTermUpdate),
    Packet(BuildRequest),
    Forget(ForgetRequest),
    Consolidate(ConsolidateRequest),
}

fn event() -> impl Strategy<Value = EventInput> {
    (
        scope(),
        record_id(),
        maybe_time(),
        select(&[EventKind::Message, EventKind::ToolCall, EventKind::Observation][..]),
        payload(),
        labels(),
        labels(),
        unit(),
        maybe_time(),
    )
        .prop_map(|(scope, event_id, ts, kind, payload, tags, entities, importance, expires_at)| EventInput {
            scope,
            event_id,
            ts,
            kind,
            payload,
            tags,
            entities,
            importance,
            expires_at,
            embedding: None,
        })
}

fn fact() -> impl Strategy<Value = FactInput> {
    (
        (scope(), id(&["shed.material", "company", "k"]), payload(), prop::option::of(text()), record_id()),
        (unit(), unit(), prop::collection::vec(id(RECORD_IDS), 0..3), labels(), labels()),
        (maybe_time(), maybe_time(), level(), maybe_time()),
    )
        .prop_map(
            |(
                (scope, fact_key, value, text, fact_id),
                (confidence, importance, sources, tags, entities),
                (valid_from, expires_at, scope_level, recorded_at),
            )| FactInput {
                scope,
                fact_key,
                value,
                text,
                fact_id,
                confidence,
                importance,
                sources,
                tags,
                entities,
                valid_from,
                expires_at,
                scope_level,
                recorded_at,
                embedding: None,
            },
        )
}

fn episode() -> impl Strategy<Value = EpisodeInput> {
    (
        (scope(), record_id(), time(), time(), text(), texts()),
        (labels(), labels(), prop::collection::vec(id(RECORD_IDS), 0..3), unit(), level(), maybe_time()),
    )
        .prop_map(
            |(
                (scope, episode_id, start_ts, end_ts, summary, highlights),
                (tags, entities, sources, importance, scope_level, expires_at),
            )| EpisodeInput {
                scope,
                episode_id,
                start_ts,
                end_ts,
                summary,
                highlights,
                tags,
                entities,
                sources,
                compression_level: CompressionLevel::Phase,
                importance,
                scope_level,
                expires_at,
                embedding: None,
            },
        )
}

fn procedure() -> impl Strategy<Value = ProcedureInput> {
    (
        (scope(), record_id(), id(&["roof_repair", "deploy"]), text(), texts(), prop::option::of(text())),
        (unit(), prop::option::of(text()), labels(), labels(), level(), maybe_time(), maybe_time()),
    )
        .prop_map(
            |(
                (scope, procedure_id, task_type, title, steps, content),
                (priority, applicability, tags, entities, scope_level, updated_at, expires_at),
            )| ProcedureInput {
                scope,
                procedure_id,
                task_type,
                title,
                steps,
                content,
                priority,
                applicability,
                tags,
                entities,
                scope_level,
                updated_at,
                expires_at,
                embedding: None,
            },
        )
}

fn validation_state() -> impl Strategy<Value = ValidationState> {
    select(
        &[
            ValidationState::Unvalidated,
            ValidationState::Testing,
            ValidationState::Validated,
            ValidationState::Rejected,
        ][..],
    )
}

fn insight() -> impl Strategy<Value = InsightInput> {
    (
        (scope(), record_id(), text(), unit(), validation_state()),
        (labels(), labels(), prop::collection::vec(id(RECORD_IDS), 0..3), maybe_time(), maybe_time()),
    )
        .prop_map(
            |((scope, insight_id, text, confidence, validation), (tags, entities, sources, created_at, expires_at))| {
                InsightInput {
                    scope,
                    insight_id,
                    kind: Default::default(),
                    text,
                    confidence,
                    validation,
                    tags,
                    entities,
                    sources,
                    created_at,
                    expires_at,
                }
            },
        )
}

fn insight_update() -> impl Strategy<Value = InsightUpdate> {
    let (validation, promoted_to) = (prop::option::of(validation_state()), prop::option::of(text()));
    (scope(), id(RECORD_IDS), validation, unit(), maybe_time(), promoted_to).prop_map(
        |(scope, insight_id, validation, confidence, expires_at, promoted_to)| InsightUpdate {
            scope,
            insight_id,
            validation,
            confidence,
            expires_at,
            promoted_to,
        },
    )
}

fn working_state_patch() -> impl Strategy<Value = WorkingStatePatch> {
    (scope(), prop::option::of(0_u64..3), prop::option::of(text()), prop::option::of(texts()), payload()).prop_map(
        |(scope, expected_version, goal, plan, slot)| {
            let mut patch = WorkingStatePatch::new(scope);
            patch.expected_version = expected_version;
            patch.goal = goal;
            patch.plan = plan;
            patch.slots = Some([("slot".to_string(), slot)].into_iter().collect());
            patch
        },
    )
}

fn short_term_update() -> impl Strategy<Value = ShortTermUpdate> {
    (scope(), prop::option::of(text()), prop::option::of(texts()), maybe_time()).prop_map(
        |(scope, rolling_summary, key_quotes, consolidated_until)| {
            let mut update = ShortTermUpdate::new(scope);
            update.rolling_summary = rolling_summary;
            update.key_quotes = key_quotes;
            update.consolidated_until = consolidated_until;
            update
        },
    )
}

fn build_request() -> impl Strategy<Value = BuildRequest> {
    let task_type = prop::option::of(id(&["roof_repair"]));
    (scope(), text(), labels(), task_type, maybe_time(), 0_u32..3, 0_u32..3).prop_map(
        |(scope, query, keywords, task_type, now, max_tokens, postings_per_term)| {
            let mut request = BuildRequest::new(scope, Purpose::Planner).with_query(query);
            request.cues.keywords = keywords;
            request.task_type = task_type;
            request.now = now;
            request.budget.max_tokens = max_tokens * 500;
            request.policy.postings_per_term = postings_per_term * 8;
            request
        },
    )
}

fn forget_request() -> impl Strategy<Value = ForgetRequest> {
    (scope(), maybe_time(), labels(), any::<bool>(), any::<bool>()).prop_map(
        |(scope, before, tags, events_only, session_only)| {
            let mut request = ForgetRequest::new(scope);
            request.before = before;
            request.tags = tags;
            request.kinds = if events_only { vec![RecordKind::Event] } else { Vec::new() };
            request.session_only = session_only;
            request
        },
    )
}

fn consolidate_request() -> impl Strategy<Value = ConsolidateRequest> {
    (scope(), 0_u32..4, select(&[0_u32, 1, 50, 10_001][..]), maybe_time()).prop_map(
        |(scope, window, max_events, now)| {
            let mut request = ConsolidateRequest::new(scope);
            request.window = window;
            request.max_events = max_events;
            request.now = now;
            request
        },
    )
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        2 => prop::collection::vec(event(), 1..4).prop_map(Write::Events),
        2 => fact().prop_map(Write::Fact),
        1 => episode().prop_map(Write::Episode),
        // Procedures are upserted by id: several owners of one id, the case most likely to go wrong.
        3 => procedure().prop_map(Write::Procedure),
        1 => insight().prop_map(Write::Insight),
        1 => insight_update().prop_map(Write::InsightUpdate),
        1 => working_state_patch().prop_map(Write::WorkingState),
        1 => short_term_update().prop_map(Write::ShortTerm),
        1 => build_request().prop_map(Write::Packet),
        1 => forget_request().prop_map(Write::Forget),
        1 => consolidate_request().prop_map(Write::Consolidate),
    ]
}

impl Write {
    /// What the input's own validation says, with the field as the store names it.
    fn validation(&self, limits: &Limits) -> Result<(), ValidationError> {
        match self {
            Self::Events(events) => events.iter().enumerate().try_for_each(|(index, event)| {
                event.validate(limits).map_err(|error| error.within(&format!("events[{index}]")))
            }),
            Self::Fact(fact) => fact.validate(limits),
            Self::Episode(episode) => episode.validate(limits),
            Self::Procedure(procedure) => procedure.validate(limits),
            Self::Insight(insight) => insight.validate(limits),
            Self::InsightUpdate(update) => update.validate(limits),
            Self::WorkingState(patch) => patch.validate(limits),
            Self::ShortTerm(update) => update.validate(limits),
            Self::Packet(request) => request.validate(limits),
            Self::Forget(request) => request.validate(limits),
            Self::Consolidate(request) => request.validate(limits),
        }
    }

    fn scope(&self) -> Option<&Scope> {
        Some(match self {
            Self::Events(events) => &events.first()?.scope,
            Self::Fact(fact) => &fact.scope,
            Self::Episode(episode) => &episode.scope,
            Self::Procedure(procedure) => &procedure.scope,
            Self::Insight(insight) => &insight.scope,
            Self::InsightUpdate(update) => &update.scope,
            Self::WorkingState(patch) => &patch.scope,
            Self::ShortTerm(update) => &update.scope,
            Self::Packet(request) => &request.scope,
            Self::Forget(request) => &request.scope,
            Self::Consolidate(request) => &request.scope,
        })
    }

    fn apply(&self, store: &dyn Store) -> engram_store::Result<()> {
        match self.clone() {
            Self::Events(events) => store.append_events(events).map(drop),
            Self::Fact(fact) => store.upsert_fact(fact).map(drop),
            Self::Episode(episode) => store.append_episode(episode).map(drop),
            Self::Procedure(procedure) => store.upsert_procedure(procedure).map(drop),
            Self::Insight(insight) => store.append_insight(insight).map(drop),
            Self::InsightUpdate(update) => store.update_insight(update).map(drop),
            Self::WorkingState(patch) => store.patch_working_state(patch).map(drop),
            Self::ShortTerm(update) => store.update_short_term(update).map(drop),
            Self::Packet(request) => build_memory_packet(store, request).map(drop),
            Self::Forget(request) => store.forget(&request).map(drop),
            Self::Consolidate(request) => store.consolidate_session(&request, None).map(drop),
        }
    }
}

fn check_write(store: &dyn Store, write: &Write, seeded_before: &str) -> Result<(), TestCaseError> {
    let expected = write.validation(store.limits());
    // A rejected write must not change its own scope either (when that scope can be read).
    let own_scope = write.scope().filter(|_| expected.is_err());
    let own_before = own_scope.and_then(|scope| scope_state(store, scope));
    let outcome = write.apply(store);
    match (&expected, outcome) {
        (Err(expected), Err(engram_store::Error::InvalidInput(found))) => {
            prop_assert!(!found.field.is_empty(), "no field named: {found}");
            prop_assert_eq!(&found.field, &expected.field, "the store names another field than validate");
        }
        (Err(expected), outcome) => {
            return Err(TestCaseError::fail(format!("validate says `{expected}`, the store returned {outcome:?}")));
        }
        (Ok(()), Ok(())) => {}
        (Ok(()), Err(error)) => prop_assert!(
            matches!(error.kind(), ErrorKind::Conflict | ErrorKind::NotFound),
            "a valid write failed with {:?}: {}",
            error.kind(),
            error
        ),
    }
    if let (Some(before), Some(scope)) = (own_before, own_scope) {
        prop_assert_eq!(Some(before), scope_state(store, scope), "a rejected write changed its scope");
    }
    let seeded_after = snapshot(store, &seeded());
    prop_assert!(seeded_after == seeded_before, "the seeded scope changed:\n{}", seeded_after);
    Ok(())
}

/// `cases` generated cases from a fixed seed, unless `PROPTEST_CASES` / `PROPTEST_RNG_SEED`
/// say otherwise; no regression files are written into the source tree.
fn runner(cases: u32) -> TestRunner {
    let mut config = Config { failure_persistence: None, ..Config::default() };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(8);
    }
    TestRunner::new(config)
}

/// Seeds the store, then runs `cases` generated writes through it.
fn check(backend: &str, store: &dyn Store, cases: u32) {
    seed(store);
    let seeded_before = snapshot(store, &seeded());
    if let Err(failure) = runner(cases).run(&write(), |write| check_write(store, &write, &seeded_before)) {
        panic!("{backend}: {failure}");
    }
}

fn check_server(name: &str) {
    for (backend, database) in server_fixtures(Limits::default()).into_iter().filter(|(backend, _)| backend == name) {
        check(&backend, database.store(), 256);
    }
}

#[test]
fn hostile_writes_are_named_and_leave_other_scopes_alone_in_memory() {
    check("memory", &engram_store::InMemoryStore::new(), 512);
}

#[test]
fn hostile_writes_are_named_and_leave_other_scopes_alone_on_sqlite_in_memory() {
    check("sqlite in memory", &SqliteStore::in_memory().unwrap(), 512);
}

#[test]
fn hostile_writes_are_named_and_leave_other_scopes_alone_on_a_sqlite_file() {
    let file = SqliteFile::new();
    check("sqlite file", file.store(), 512);
}

#[test]
fn hostile_writes_are_named_and_leave_other_scopes_alone_on_postgres() {
    check_server("postgres");
}

#[test]
fn hostile_writes_are_named_and_leave_other_scopes_alone_on_mysql() {
    check_server("mysql");
}

// ---------------------------------------------------------------------------------------------
// What the property found, pinned on every backend.

fn every_backend(check: impl Fn(&str, &dyn Store)) {
    check("memory", &engram_store::InMemoryStore::new());
    check("sqlite", &SqliteStore::in_memory().unwrap());
    for (name, database) in server_fixtures(Limits::default()) {
        check(&name, database.store());
    }
}

fn procedure_of(scope: Scope, id: &str, title: &str) -> ProcedureInput {
    ProcedureInput {
        scope,
        procedure_id: Some(id.into()),
        task_type: "roof_repair".into(),
        title: title.into(),
        steps: vec![],
        content: None,
        priority: None,
        applicability: None,
        tags: vec![],
        entities: vec![],
        scope_level: ScopeLevel::User,
        updated_at: Some(base_time()),
        expires_at: None,
        embedding: None,
    }
}

/// A procedure `validate` rejects is `InvalidInput` naming the field, whoever owns its id: the
/// owner check comes after validation (a `Conflict` tells a client to retry), and no invalid id
/// reaches the database.
#[test]
fn invalid_procedures_are_invalid_input_whoever_owns_the_id() {
    every_backend(|backend, store| {
        seed(store);
        let colleague = Scope { user_id: "u2".into(), ..seeded() };
        let named = |input: ProcedureInput| match store.upsert_procedure(input) {
            Err(engram_store::Error::InvalidInput(invalid)) => Some(invalid.field),
            other => panic!("{backend}: expected InvalidInput, got {other:?}"),
        };
        assert_eq!(named(procedure_of(colleague.clone(), "x1", " ")), Some("title".into()), "{backend}");
        assert_eq!(named(procedure_of(colleague, "nul\u{0}id", "title")), Some("procedure_id".into()), "{backend}");
        let mut stranger = seeded();
        stranger.tenant_id = "\u{0}".into();
        assert_eq!(named(procedure_of(stranger, "x1", "title")), Some("scope.tenant_id".into()), "{backend}");
    });
}

/// U+0000 in free text gets one answer on every backend (stored and read back, or refused as
/// `InvalidInput` naming the field), never a storage error.
#[test]
fn nul_characters_in_free_text_get_the_same_answer_on_every_backend() {
    let text = "before\u{0}after";
    let answers = std::sync::Mutex::new(Vec::new());
    every_backend(|backend, store| {
        let own = seeded();
        let insight = InsightInput {
            scope: own.clone(),
            insight_id: Some("nul".into()),
            kind: Default::default(),
            text: text.into(),
            confidence: None,
            validation: ValidationState::Unvalidated,
            tags: vec![],
            entities: vec![],
            sources: vec![],
            created_at: Some(base_time()),
            expires_at: None,
        };
        let event = message(&own, "nul-event", 0, "user", text);
        let mut patch = WorkingStatePatch::new(own.clone());
        patch.goal = Some(text.into());
        let outcomes = [
            store.append_insight(insight).map(|stored| stored.text),
            store.append_event(event).map(|stored| stored.text),
            store.patch_working_state(patch).map(|stored| stored.goal.unwrap_or_default()),
        ];
        for outcome in outcomes {
            let answer = match outcome {
                Ok(stored) if stored == text => "stored".to_string(),
                Err(engram_store::Error::InvalidInput(invalid)) => format!("invalid input: {}", invalid.field),
                other => panic!("{backend}: {other:?}"),
            };
            answers.lock().unwrap().push((backend.to_string(), answer));
        }
    });
    let answers = answers.into_inner().unwrap();
    let first: Vec<&String> =
        answers.iter().filter(|(backend, _)| backend == "memory").map(|(_, answer)| answer).collect();
    for backend in ["sqlite", "postgres", "mysql"] {
        let theirs: Vec<&String> =
            answers.iter().filter(|(name, _)| name == backend).map(|(_, answer)| answer).collect();
        assert!(theirs.is_empty() || theirs == first, "{backend} answers {theirs:?}, memory {first:?}");
    }
}
