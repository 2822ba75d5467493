//! The same data and request give identical packets on every backend (timings aside).

use engram_store::{InMemoryStore, SqliteStore, Store, StoreExt};

use crate::backends::server_fixtures;
use engram_types::{
    Budget, BuildRequest, Cues, EpisodeInput, EventInput, EventKind, FactInput, InsightInput, OutputFormat,
    ProcedureInput, Purpose, Scope, ScopeLevel, ShortTermUpdate, ValidationState, WorkingStatePatch,
};
use serde_json::json;

use crate::support::{base_time, build, comparable, count_statements, minutes, scope};

const TOPICS: [&str; 8] = ["billing", "migration", "postgres", "invoice", "deadline", "rollback", "refund", "lisbon"];

/// An 8-value vector leaning to the `main` topic, some to `other`, a little to `noise`'s axis.
fn topic_vector(main: usize, other: usize, noise: usize) -> Vec<f32> {
    let mut vector = vec![0.0_f32; TOPICS.len()];
    for (index, weight) in [(main, 1.0), (other, 0.5), (noise, 0.125)] {
        if let Some(value) = vector.get_mut(index % TOPICS.len()) {
            *value += weight;
        }
    }
    vector
}

/// A few hundred records of every kind over two users and three sessions, with explicit ids
/// and times so every backend stores exactly the same thing.
pub fn seed(store: &dyn Store) {
    for user in ["u1", "u2"] {
        for session in 0..3 {
            let scope = scope("t1", user, &format!("s{session}"), &format!("r{session}"));
            let events: Vec<EventInput> = (0..60)
                .map(|turn| {
                    let minute = session * 1000 + turn;
                    let topic = TOPICS[usize::try_from(minute).unwrap_or(0) % TOPICS.len()];
                    let other = TOPICS[usize::try_from(minute * 7 + 3).unwrap_or(0) % TOPICS.len()];
                    let role = if turn % 2 == 0 { "user" } else { "assistant" };
                    let kind = if turn % 10 == 9 { EventKind::ToolResult } else { EventKind::Message };
                    let mut event = EventInput::new(scope.clone(), kind, json!({"role": role, "text": format!("{role} talks about the {topic} plan and the {other} question number {turn}")}));
                    event.event_id = Some(format!("{user}-{session}-{turn}"));
                    event.ts = Some(base_time() + minutes(minute));
                    event.tags = vec![topic.to_string()];
                    event.importance = Some(f64::from(u32::try_from(turn % 10).unwrap_or(0)) / 10.0);
                    // Most events carry a vector; every fifth has none.
                    if turn % 5 != 4 {
                        let (main, other) = (usize::try_from(minute).unwrap_or(0), usize::try_from(minute * 7 + 3).unwrap_or(0));
                        event.embedding = Some(topic_vector(main, other, usize::try_from(turn).unwrap_or(0)));
                    }
                    event
                })
                .collect();
            store.append_events(events).unwrap();
        }
        let owner = scope("t1", user, "s2", "r2");
        for index in 0..80_i64 {
            let topic = TOPICS[usize::try_from(index).unwrap_or(0) % TOPICS.len()];
            let mut fact = FactInput::new(owner.clone(), format!("{topic}.fact_{index}"), json!(index));
            fact.fact_id = Some(format!("{user}-fact-{index}"));
            fact.text = Some(format!("The {topic} note number {index} says the team prefers option {}", index % 3));
            fact.recorded_at = Some(base_time() + minutes(index * 13));
            fact.importance = Some(f64::from(u32::try_from(index % 7).unwrap_or(0)) / 7.0);
            fact.tags = vec![topic.to_string()];
            fact.scope_level = if index % 20 == 0 { ScopeLevel::Agent } else { ScopeLevel::User };
            let position = usize::try_from(index).unwrap_or(0);
            fact.embedding = Some(topic_vector(position, position + 2, position / 8));
            store.upsert_fact(fact).unwrap();
        }
        for index in 0..20_i64 {
            let mut newer = FactInput::new(owner.clone(), format!("billing.fact_{}", index * 8), json!(index + 1000));
            newer.fact_id = Some(format!("{user}-fact-v2-{index}"));
            newer.recorded_at = Some(base_time() + minutes(5000 + index));
            store.upsert_fact(newer).unwrap();
        }
        for index in 0..12_i64 {
            store
                .append_episode(EpisodeInput {
                    scope: owner.clone(),
                    episode_id: Some(format!("{user}-episode-{index}")),
                    start_ts: base_time() + minutes(index * 100),
                    end_ts: base_time() + minutes(index * 100 + 30),
                    summary: format!(
                        "Episode about {} and {}",
                        TOPICS[usize::try_from(index).unwrap_or(0) % 8],
                        TOPICS[usize::try_from(index + 3).unwrap_or(0) % 8]
                    ),
                    highlights: vec![format!("highlight {index}")],
                    tags: vec![],
                    entities: vec!["Acme".into()],
                    sources: vec![format!("{user}-0-{index}")],
                    compression_level: Default::default(),
                    importance: Some(0.5),
                    scope_level: ScopeLevel::User,
                    expires_at: None,
                    embedding: None,
                })
                .unwrap();
        }
        for index in 0..6_i64 {
            store
                .upsert_procedure(ProcedureInput {
                    scope: owner.clone(),
                    procedure_id: Some(format!("{user}-procedure-{index}")),
                    task_type: TOPICS[usize::try_from(index).unwrap_or(0)].into(),
                    title: format!("Handle a {} request", TOPICS[usize::try_from(index).unwrap_or(0)]),
                    steps: vec!["look up the account".into(), "confirm with the user".into()],
                    content: None,
                    priority: Some(0.4 + 0.1 * f64::from(u32::try_from(index).unwrap_or(0))),
                    applicability: Some("when asked".into()),
                    tags: vec![],
                    entities: vec![],
                    scope_level: ScopeLevel::User,
                    updated_at: Some(base_time() + minutes(index)),
                    expires_at: None,
                    embedding: None,
                })
                .unwrap();
        }
        for (index, validation) in
            [ValidationState::Unvalidated, ValidationState::Validated, ValidationState::Testing].into_iter().enumerate()
        {
            store
                .append_insight(InsightInput {
                    scope: owner.clone(),
                    insight_id: Some(format!("{user}-insight-{index}")),
                    kind: Default::default(),
                    text: format!("Maybe the {} issue comes from the rollback", TOPICS[index]),
                    confidence: Some(0.5),
                    validation,
                    tags: vec![],
                    entities: vec![],
                    sources: vec![],
                    created_at: Some(base_time() + minutes(i64::try_from(index).unwrap_or(0))),
                    expires_at: None,
                })
                .unwrap();
        }
        let mut patch = WorkingStatePatch::new(owner.clone());
        patch.goal = Some("close the billing migration".into());
        patch.plan = Some(vec!["freeze invoices".into(), "migrate".into()]);
        patch.updated_at = Some(base_time());
        store.patch_working_state(patch).unwrap();
        store
            .update_short_term(ShortTermUpdate {
                scope: owner,
                rolling_summary: Some("We are migrating billing to Postgres.".into()),
                key_quotes: Some(vec!["do not lose invoices".into()]),
                updated_at: Some(base_time()),
                consolidated_until: None,
                consolidated_ids: None,
                extracted_until: None,
                extracted_ids: None,
            })
            .unwrap();
    }
}

pub fn requests(scope: &Scope) -> Vec<BuildRequest> {
    let now = base_time() + minutes(6000);
    let mut requests = Vec::new();
    for purpose in [Purpose::Planner, Purpose::Tool, Purpose::Responder] {
        for query in
            [None, Some("when is the billing migration deadline?"), Some("refund for lisbon invoice rollback postgres")]
        {
            for max_tokens in [120, 600, 4000] {
                let mut request = BuildRequest::new(scope.clone(), purpose)
                    .with_now(now)
                    .with_budget(Budget::with_max_tokens(max_tokens));
                request.query = query.map(str::to_string);
                requests.push(request);
            }
        }
    }
    let mut cued = BuildRequest::new(scope.clone(), Purpose::Planner).with_now(now);
    cued.cues = Cues {
        tags: vec!["invoice".into()],
        entities: vec!["acme".into()],
        keywords: vec!["rollback".into()],
        time_range: None,
    };
    cued.format = OutputFormat::Xml;
    requests.push(cued);
    // With a query vector: the vector source, quantized vectors and fusion agree everywhere.
    for (purpose, axis) in [(Purpose::Planner, 0), (Purpose::Tool, 3), (Purpose::Responder, 6)] {
        let mut request = BuildRequest::new(scope.clone(), purpose)
            .with_now(now)
            .with_query("what about the deadline")
            .with_query_embedding(topic_vector(axis, axis + 1, axis + 5));
        request.policy.vector_candidates = 40;
        requests.push(request);
    }
    requests
}

#[test]
fn same_data_and_request_give_identical_packets_on_every_backend() {
    let directory = tempfile::tempdir().unwrap();
    let memory = InMemoryStore::new();
    let sqlite_file = SqliteStore::new(directory.path().join("engram.db")).unwrap();
    let sqlite_memory = SqliteStore::in_memory().unwrap();
    let servers = server_fixtures(engram_types::Limits::default());
    let mut stores: Vec<(String, &dyn Store)> =
        vec![("sqlite file".into(), &sqlite_file), ("sqlite in-memory".into(), &sqlite_memory)];
    stores.extend(servers.iter().map(|(name, database)| (name.clone(), database.store())));
    seed(&memory);
    for (_, store) in &stores {
        seed(*store);
    }
    let mut compared = 0;
    let mut vector_found = 0;
    let mut most_statements = 0;
    for scope in [scope("t1", "u1", "s2", "r2"), scope("t1", "u2", "s2", "r2"), scope("t1", "u1", "s1", "r1")] {
        for request in requests(&scope) {
            let built = build(&memory, request.clone());
            vector_found += built
                .explain
                .selected
                .iter()
                .filter(|item| item.sources.iter().any(|source| source == "vector") && item.signals.vector > 0.0)
                .count();
            let reference = comparable(&built);
            for (name, store) in &stores {
                let (statements, packet) = count_statements(|| comparable(&build(*store, request.clone())));
                assert!(
                    packet == reference,
                    "{name} differs from memory for {request:?}:\n{}",
                    first_difference(&reference, &packet)
                );
                // A server answers each of a packet's three read phases with one statement.
                if !name.starts_with("sqlite") {
                    assert!(statements <= 3, "{name} sent {statements} statements for {request:?}");
                    most_statements = most_statements.max(statements);
                }
                compared += 1;
            }
        }
    }
    assert_eq!(compared, stores.len() * 3 * 31);
    if stores.len() > 2 {
        // Counted at all: a packet reads its states at least.
        assert!(most_statements > 0, "no statement was counted");
        println!("most statements in one packet on a server: {most_statements}");
    }
    assert!(vector_found > 20, "the vector requests found items by their vectors: {vector_found}");
    let listed = |store: &dyn Store| {
        format!("{:?}", store.list_facts(&engram_types::ListQuery::new(scope("t1", "u2", "s0", "r0"))).unwrap())
    };
    for (_, store) in &stores {
        assert_eq!(listed(&memory), listed(*store));
    }
}

fn first_difference(left: &str, right: &str) -> String {
    for (number, (left_line, right_line)) in left.lines().zip(right.lines()).enumerate() {
        if left_line != right_line {
            return format!("line {number}:\n  memory: {left_line}\n  other:  {right_line}");
        }
    }
    "lengths differ".into()
}
