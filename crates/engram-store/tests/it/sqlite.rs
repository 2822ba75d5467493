//! What only the SQLite backend promises: migrations, persistence, WAL, indexed query plans,
//! and postings and fetches identical to the in-memory reference store.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use engram_store::record::visible_spaces;
use engram_store::{
    FetchRequest, InMemoryStore, PostingsRequest, Reach, RecordKind, Selector, SqliteStore, Store, StoreExt,
};
use engram_types::{
    EpisodeInput, EventInput, EventKind, FactInput, InsightInput, InsightUpdate, ProcedureInput, Scope, ScopeLevel,
    ValidationState,
};
use serde_json::json;

fn base_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn scope(user: &str, session: &str, run: &str) -> Scope {
    Scope {
        tenant_id: "t1".into(),
        user_id: user.into(),
        agent_id: "agent".into(),
        session_id: session.into(),
        run_id: run.into(),
    }
}

fn message(scope: &Scope, id: &str, minute: i64, text: &str) -> EventInput {
    let mut event = EventInput::new(scope.clone(), EventKind::Message, json!({"role": "user", "text": text}));
    event.event_id = Some(id.into());
    event.ts = Some(base_time() + Duration::minutes(minute));
    event
}

/// `count` messages `e0`, `e1`, ... a minute apart, each `words` and its number.
fn numbered_messages(scope: &Scope, count: i64, words: &str) -> Vec<EventInput> {
    (0..count).map(|index| message(scope, &format!("e{index}"), index, &format!("{words} {index}"))).collect()
}

fn file_store(directory: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::new(directory.path().join("nested").join("engram.db")).unwrap()
}

fn open_raw(directory: &tempfile::TempDir) -> rusqlite::Connection {
    rusqlite::Connection::open(directory.path().join("nested").join("engram.db")).unwrap()
}

/// Events keep the terms they were indexed with (schema 7) and their packet line's token count
/// (schema 8), and a fetch hands them over; events written before them (no stored terms or
/// counts) or whose stored terms are damaged are analyzed and counted instead, into the same
/// packet.
#[test]
fn stored_event_terms_score_as_the_text_does_and_old_events_still_score() {
    let directory = tempfile::tempdir().unwrap();
    let store = file_store(&directory);
    let talk = scope("u1", "s1", "r1");
    let texts = [
        "We booked the night train to Lisbon, cabin for two.",
        "Lisbon trams are crowded; the 28 line above all.",
        "My sister's café \"O Bom Grão\" serves pastéis de nata.",
        "Nothing about trips here, only the weekly report.",
    ];
    let events = || -> Vec<EventInput> {
        texts.iter().enumerate().map(|(index, text)| message(&talk, &format!("e{index}"), index as i64, text)).collect()
    };
    let newest = FetchRequest::new(RecordKind::Event, talk.clone(), Reach::Session, Selector::Newest, 10);
    let terms_of =
        |store: &dyn Store| store.fetch(&newest).unwrap().into_iter().map(|row| row.terms).collect::<Vec<_>>();
    store.append_events(events()).unwrap();
    let reference = InMemoryStore::new();
    reference.append_events(events()).unwrap();
    let stored = terms_of(&store);
    assert!(stored.iter().all(|terms| matches!(terms, Some(engram_store::lexical::IndexedTerms::Stored { .. }))));
    let line_tokens_of =
        |store: &dyn Store| store.fetch(&newest).unwrap().into_iter().map(|row| row.line_tokens).collect::<Vec<_>>();
    assert!(line_tokens_of(&store).iter().all(Option::is_some));
    assert_eq!(line_tokens_of(&store), line_tokens_of(&reference));
    // Stored and analyzed terms compare equal term by term.
    assert_eq!(stored, terms_of(&reference));

    let mut request = engram_types::BuildRequest::new(scope("u1", "later", "later"), engram_types::Purpose::Responder);
    request.query = Some("which train to Lisbon did we book, and the café of my sister?".into());
    request.now = Some(base_time() + Duration::days(1));
    let packet_of = |store: &dyn Store| crate::support::comparable(&crate::support::build(store, request.clone()));
    let with_terms = packet_of(&store);
    assert_eq!(with_terms, packet_of(&reference));
    drop(store);
    for (stored_terms, damaged) in [("NULL", false), ("'{\"lisbon\":'", true)] {
        let update = format!("UPDATE events SET lexical_terms = {stored_terms}, line_tokens = NULL");
        open_raw(&directory).execute(&update, []).unwrap();
        let store = file_store(&directory);
        assert!(line_tokens_of(&store).iter().all(Option::is_none));
        let terms = terms_of(&store);
        if damaged {
            assert!(terms.iter().all(|terms| terms.as_ref().is_some_and(|terms| !terms.readable())));
        } else {
            assert!(terms.iter().all(Option::is_none));
        }
        assert_eq!(with_terms, packet_of(&store), "stored terms {stored_terms}");
    }
}

/// Schema 9 links a fact to the version it replaced; a store written before it gets the links
/// of its existing history when it is opened.
#[test]
fn the_fact_supersedes_migration_links_existing_history() {
    let directory = tempfile::tempdir().unwrap();
    let store = file_store(&directory);
    let owner = scope("u1", "s1", "r1");
    for (index, city) in ["Lisbon", "Porto", "Berlin"].iter().enumerate() {
        let mut fact = engram_types::FactInput::new(owner.clone(), "home.city", json!(city));
        fact.fact_id = Some(format!("city-{index}"));
        store.upsert_fact(fact).unwrap();
    }
    let links = |store: &SqliteStore| {
        store.fact_history(&owner, "home.city").unwrap().into_iter().map(|fact| fact.supersedes).collect::<Vec<_>>()
    };
    let expected = vec![None, Some("city-0".to_string()), Some("city-1".to_string())];
    assert_eq!(links(&store), expected);
    drop(store);
    let raw = open_raw(&directory);
    raw.execute_batch("ALTER TABLE facts DROP COLUMN supersedes; DELETE FROM engram_migrations WHERE version >= 9;")
        .unwrap();
    drop(raw);
    assert_eq!(links(&file_store(&directory)), expected);
}

/// Schema 11: every postings table writes leaf pages of ~1,000 bytes (FTS5's default is 4,050),
/// on a new file and on one written before the version.
#[test]
fn postings_tables_write_small_pages() {
    let directory = tempfile::tempdir().unwrap();
    let store = file_store(&directory);
    // One common term in every event: its doclist spans many pages.
    store.append_events(numbered_messages(&scope("u1", "s1", "r1"), 3_000, "billing note")).unwrap();
    drop(store);
    let kinds = ["event", "fact", "episode", "procedure", "insight"];
    let page_sizes = |raw: &rusqlite::Connection| -> Vec<Option<i64>> {
        kinds
            .iter()
            .map(|kind| {
                raw.query_row(&format!("SELECT v FROM {kind}_postings_config WHERE k = 'pgsz'"), [], |row| row.get(0))
                    .ok()
            })
            .collect()
    };
    let raw = open_raw(&directory);
    assert_eq!(page_sizes(&raw), vec![Some(1_000); 5]);
    // Rows 1 to 10 hold the index's structure and averages; the rest are its pages.
    let largest: i64 = raw
        .query_row("SELECT max(length(block)) FROM event_postings_data WHERE id > 10", [], |row| row.get(0))
        .unwrap();
    assert!((500..1_200).contains(&largest), "largest page {largest} bytes");
    // Back to schema 10: FTS5's default page size, the version not recorded.
    for kind in kinds {
        raw.execute(&format!("DELETE FROM {kind}_postings_config WHERE k = 'pgsz'"), []).unwrap();
    }
    raw.execute("DELETE FROM engram_migrations WHERE version >= 11", []).unwrap();
    assert_eq!(page_sizes(&raw), vec![None; 5]);
    drop(raw);
    drop(file_store(&directory));
    assert_eq!(page_sizes(&open_raw(&directory)), vec![Some(1_000); 5]);
}

#[test]
fn migrations_are_recorded_once_and_reopening_applies_nothing() {
    let directory = tempfile::tempdir().unwrap();
    drop(file_store(&directory));
    let first: Vec<(i64, String, i64)> = {
        let raw = open_raw(&directory);
        let mut statement =
            raw.prepare("SELECT version, name, applied_at FROM engram_migrations ORDER BY version").unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        first.iter().map(|(version, name, _)| (*version, name.as_str())).collect::<Vec<_>>(),
        vec![
            (1, "init"),
            (2, "lifecycle"),
            (3, "items"),
            (4, "item_search"),
            (5, "vectors"),
            (6, "one_active_fact"),
            (7, "event_terms"),
            (8, "event_line_tokens"),
            (9, "fact_supersedes"),
            (10, "tenant_keys"),
            (11, "postings_page_size")
        ]
    );
    drop(file_store(&directory));
    drop(file_store(&directory));
    let raw = open_raw(&directory);
    let mut statement =
        raw.prepare("SELECT version, name, applied_at FROM engram_migrations ORDER BY version").unwrap();
    let again: Vec<(i64, String, i64)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(again, first, "reopening must not apply or re-record a migration");
}

/// `check_integrity` finds nothing wrong with a file engram wrote, and names the postings index
/// whose segments were damaged behind its back (which `PRAGMA integrity_check` alone misses on
/// older SQLite).
#[test]
fn integrity_check_covers_the_postings_indexes() {
    let directory = tempfile::tempdir().unwrap();
    let store = file_store(&directory);
    let user = scope("u1", "s1", "r1");
    store.append_events(numbered_messages(&user, 40, "deploy service")).unwrap();
    store.upsert_fact(FactInput::new(user.clone(), "city", json!("Lisbon"))).unwrap();
    assert_eq!(store.check_integrity().unwrap(), Vec::<String>::new());

    let raw = open_raw(&directory);
    // Segment leaves are the rows past FTS5's structure and averages records (ids 1 and 10).
    let damaged =
        raw.execute("UPDATE event_postings_data SET block = zeroblob(length(block)) WHERE id > 10", []).unwrap();
    assert!(damaged > 0);
    drop(raw);
    let problems = store.check_integrity().unwrap();
    assert!(!problems.is_empty() && problems.iter().all(|problem| problem.contains("event_postings")), "{problems:?}");
}

#[test]
fn data_persists_across_reopen_and_wal_is_on() {
    let directory = tempfile::tempdir().unwrap();
    let user = scope("u1", "s1", "r1");
    {
        let store = file_store(&directory);
        store.append_events(vec![message(&user, "e1", 0, "deploy the billing service")]).unwrap();
        store.upsert_fact(FactInput::new(user.clone(), "city", json!("Lisbon"))).unwrap();
    }
    let store = file_store(&directory);
    let window = store.conversation_window(&user, 10).unwrap();
    assert_eq!(window.iter().map(|event| event.event_id.as_str()).collect::<Vec<_>>(), vec!["e1"]);
    assert_eq!(store.fact_history(&user, "city").unwrap().len(), 1);
    let postings = store.postings(&postings_request(RecordKind::Event, &user, &["deploy"])).unwrap();
    assert_eq!(postings.terms["deploy"].document_frequency, 1);
    let mode: String = open_raw(&directory).query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn every_read_is_an_index_search_never_a_table_scan() {
    let store = SqliteStore::in_memory().unwrap();
    let user = scope("u1", "s1", "r1");
    store.append_events(vec![message(&user, "e1", 0, "hello world")]).unwrap();
    let mut requests = Vec::new();
    for kind in RecordKind::ALL {
        for reach in [Reach::Run, Reach::Session, Reach::Space] {
            let anchor = engram_store::Anchor { session_id: "s1".into(), time: base_time(), sequence: 1 };
            let selectors = [
                Selector::Newest,
                Selector::MostImportant,
                Selector::Sequences(vec![1, 2, 3]),
                Selector::Neighbours(vec![anchor]),
            ];
            for selector in selectors {
                for active_only in [true, false] {
                    let mut request = FetchRequest::new(kind, user.clone(), reach, selector.clone(), 20);
                    request.active_only = active_only;
                    requests.push(request.clone());
                    request.before = Some(base_time());
                    request.after = Some(base_time() - Duration::days(1));
                    request.event_kinds = vec![EventKind::Message, EventKind::ToolCall];
                    requests.push(request);
                }
            }
        }
    }
    for request in &requests {
        if request.validate().is_err() {
            // Shapes no index serves are refused on every backend, before any SQL runs.
            assert_eq!(store.fetch(request).unwrap_err().kind(), engram_store::ErrorKind::InvalidInput);
            continue;
        }
        let plans = store.explain_fetch(request).unwrap();
        assert!(!plans.is_empty());
        for plan in &plans {
            assert!(
                !is_table_scan(plan),
                "{:?} {:?} {:?}: {plan} (all: {plans:?})",
                request.kind,
                request.reach,
                request.selector
            );
        }
        if let Selector::Sequences(_) = request.selector {
            // By sequence means rowid lookups, never a walk of the space's index range.
            assert!(plans.iter().any(|plan| plan.contains("INTEGER PRIMARY KEY")), "{plans:?}");
            assert!(!plans.iter().any(|plan| plan.contains("USING INDEX")), "{plans:?}");
        }
        if matches!(request.selector, Selector::Newest | Selector::MostImportant | Selector::Neighbours(_))
            && request.kind == RecordKind::Event
        {
            assert!(plans.iter().any(|plan| plan.contains("USING INDEX")), "{plans:?}");
        }
    }
    // Context turns walk the session's index both ways from each hit: no sort step either.
    let anchor = engram_store::Anchor { session_id: "s1".into(), time: base_time(), sequence: 1 };
    let mut around =
        FetchRequest::new(RecordKind::Event, user.clone(), Reach::Space, Selector::Neighbours(vec![anchor]), 2);
    around.event_kinds = vec![EventKind::Message];
    let plans = store.explain_fetch(&around).unwrap();
    assert_eq!(plans.len(), 2, "{plans:?}");
    assert!(plans.iter().all(|plan| plan.contains("events_session") && !plan.contains("TEMP B-TREE")), "{plans:?}");
    // The conversation window walks its own index in order: no sort step.
    let mut window = FetchRequest::new(RecordKind::Event, user.clone(), Reach::Session, Selector::Newest, 20);
    window.event_kinds = vec![EventKind::Message];
    let plans = store.explain_fetch(&window).unwrap();
    assert!(plans.iter().all(|plan| plan.contains("events_session") && !plan.contains("TEMP B-TREE")), "{plans:?}");
    // Its sequences come from that index alone.
    let plans = store.explain_fetch_sequences(&window).unwrap();
    assert!(
        plans.iter().all(|plan| plan.contains("COVERING INDEX events_session") && !plan.contains("TEMP B-TREE")),
        "{plans:?}"
    );
    for kind in RecordKind::ALL {
        let plans = store.explain_postings(&postings_request(kind, &user, &["hello"])).unwrap();
        assert!(plans.iter().all(|plan| !is_table_scan(plan)), "{plans:?}");
        assert!(plans.iter().any(|plan| plan.contains("VIRTUAL TABLE INDEX")), "{plans:?}");
    }
    // The vector read walks one space's range of the primary key backwards: no sort step.
    for kind in [RecordKind::Event, RecordKind::Fact] {
        let request = engram_store::VectorRequest {
            kind,
            tenant_id: user.tenant_id.clone(),
            spaces: visible_spaces(&user, kind),
            limit: 64,
        };
        let plans = store.explain_vectors(&request).unwrap();
        assert!(
            plans.iter().all(|plan| plan.contains("USING PRIMARY KEY (tenant_id=? AND kind=? AND space=?)")
                && !plan.contains("TEMP B-TREE")),
            "{plans:?}"
        );
    }
}

/// `SCAN <table>` over a stored table; scanning the small `json_each` list of requested
/// sequences, or an FTS5 index lookup, is not one.
fn is_table_scan(plan: &str) -> bool {
    plan.starts_with("SCAN") && !plan.contains("json_each") && !plan.contains("VIRTUAL TABLE INDEX")
}

fn postings_request(kind: RecordKind, scope: &Scope, terms: &[&str]) -> PostingsRequest {
    PostingsRequest {
        kind,
        tenant_id: scope.tenant_id.clone(),
        spaces: visible_spaces(scope, kind),
        terms: terms.iter().map(|term| (*term).to_string()).collect(),
        per_term: 3,
    }
}

/// The same writes on both stores.
fn write_same_data(store: &dyn Store) {
    let alice = scope("alice", "s1", "r1");
    let alice_later = scope("alice", "s2", "r2");
    let bob = scope("bob", "s9", "r9");
    let texts = [
        "deploy the billing service tonight",
        "the billing invoice is late again",
        "book a flight to Lisbon for the billing review",
        "deploy failed: database migration locked",
        "invoice approved, deploy after review",
    ];
    let mut batch = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        let minute = i64::try_from(index).unwrap();
        batch.push(message(&alice, &format!("a{index}"), minute, text));
        batch.push(message(&alice_later, &format!("b{index}"), 100 + minute, text));
        let mut call =
            EventInput::new(bob.clone(), EventKind::ToolCall, json!({"tool": "search", "arguments": {"q": text}}));
        call.event_id = Some(format!("c{index}"));
        call.ts = Some(base_time() + Duration::minutes(minute));
        call.tags = vec!["Billing".into()];
        call.importance = Some(0.1 * f64::from(u8::try_from(index).unwrap()));
        batch.push(call);
    }
    // Same instant for several events: order falls back to insertion order.
    batch.push(message(&alice, "tie1", 2, "billing tie one"));
    batch.push(message(&alice, "tie2", 2, "billing tie two"));
    store.append_events(batch).unwrap();
    let mut fact = FactInput::new(alice.clone(), "home.city", json!("Porto"));
    fact.fact_id = Some("f1".into());
    fact.recorded_at = Some(base_time());
    store.upsert_fact(fact).unwrap();
    let mut fact = FactInput::new(alice.clone(), "home.city", json!("Lisbon"));
    fact.fact_id = Some("f2".into());
    fact.recorded_at = Some(base_time() + Duration::minutes(5));
    store.upsert_fact(fact).unwrap();
    let mut shared = FactInput::new(alice.clone(), "billing.policy", json!("net 30"));
    shared.fact_id = Some("f3".into());
    shared.scope_level = ScopeLevel::Tenant;
    shared.recorded_at = Some(base_time() + Duration::minutes(1));
    shared.importance = Some(0.9);
    store.upsert_fact(shared).unwrap();
    let mut episode = EpisodeInput {
        scope: alice.clone(),
        episode_id: Some("ep1".into()),
        start_ts: base_time(),
        end_ts: base_time() + Duration::minutes(10),
        summary: "billing deploy incident".into(),
        highlights: vec!["rollback of the invoice service".into()],
        tags: vec!["incident".into()],
        entities: vec![],
        sources: vec![],
        compression_level: engram_types::CompressionLevel::Raw,
        importance: None,
        scope_level: ScopeLevel::User,
        expires_at: None,
        embedding: None,
    };
    store.append_episode(episode.clone()).unwrap();
    episode.episode_id = Some("ep2".into());
    episode.scope_level = ScopeLevel::Agent;
    episode.importance = Some(0.8);
    store.append_episode(episode).unwrap();
    let mut procedure = ProcedureInput {
        scope: alice.clone(),
        procedure_id: Some("deploy".into()),
        task_type: "release.deploy".into(),
        title: "Deploy a service".into(),
        steps: vec!["build".into(), "migrate the database".into()],
        content: None,
        priority: None,
        applicability: Some("when billing changes".into()),
        tags: vec![],
        entities: vec![],
        scope_level: ScopeLevel::User,
        updated_at: Some(base_time()),
        expires_at: None,
        embedding: None,
    };
    store.upsert_procedure(procedure.clone()).unwrap();
    procedure.title = "Deploy a service safely".into();
    procedure.steps = vec!["build".into(), "canary".into()];
    procedure.updated_at = Some(base_time() + Duration::minutes(3));
    store.upsert_procedure(procedure).unwrap();
    for (index, text) in ["billing retries cause duplicates", "invoice numbers reset monthly"].iter().enumerate() {
        let insight = InsightInput {
            scope: alice.clone(),
            insight_id: Some(format!("i{index}")),
            kind: engram_types::InsightKind::Hypothesis,
            text: (*text).into(),
            confidence: Some(0.4),
            validation: ValidationState::Unvalidated,
            tags: vec![],
            entities: vec![],
            sources: vec![],
            created_at: Some(base_time() + Duration::minutes(i64::try_from(index).unwrap())),
            expires_at: None,
        };
        store.append_insight(insight).unwrap();
    }
    let update = InsightUpdate {
        scope: alice,
        insight_id: "i0".into(),
        validation: Some(ValidationState::Rejected),
        confidence: Some(0.9),
        expires_at: None,
        promoted_to: None,
    };
    store.update_insight(update).unwrap();
}

/// Every record of the kind visible from the scope, by id: its sequence in `store`.
/// Sequences are per kind on SQLite and global in memory; they order a kind's records the
/// same way, so results are compared through the ids they stand for.
fn sequences_by_id(store: &dyn Store, kind: RecordKind, scope: &Scope) -> BTreeMap<String, i64> {
    // Events are not listed space-wide; every sequence this test can have written is asked for.
    let selector =
        if kind == RecordKind::Event { Selector::Sequences((1..=2_000).collect()) } else { Selector::Newest };
    let mut request = FetchRequest::new(kind, scope.clone(), Reach::Space, selector, 10_000);
    request.active_only = false;
    store
        .fetch(&request)
        .unwrap()
        .into_iter()
        .map(|fetched| (fetched.record.id().to_string(), fetched.sequence))
        .collect()
}

/// Postings with sequences replaced by record ids (order kept).
fn postings_by_id(store: &dyn Store, request: &PostingsRequest, scope: &Scope) -> Vec<(String, u64, Vec<String>)> {
    let ids: BTreeMap<i64, String> =
        sequences_by_id(store, request.kind, scope).into_iter().map(|(id, sequence)| (sequence, id)).collect();
    let postings = store.postings(request).unwrap();
    let mut terms: Vec<(String, u64, Vec<String>)> = postings
        .terms
        .into_iter()
        .map(|(term, found)| {
            let named = found.sequences.iter().map(|sequence| ids.get(sequence).cloned().unwrap_or_default()).collect();
            (term, found.document_frequency, named)
        })
        .collect();
    terms.push((String::new(), postings.document_count, vec![postings.total_length.to_string()]));
    terms
}

/// A fetch's records in order, with `Selector::Sequences` given as ids and translated into
/// each store's own sequences.
/// The records a fetch returns, or the kind of its error (the same on every backend).
fn fetch_records(
    store: &dyn Store,
    request: &FetchRequest,
    ids: &[&str],
) -> Result<Vec<engram_store::Record>, engram_store::ErrorKind> {
    let mut request = request.clone();
    if let Selector::Sequences(_) = request.selector {
        let known = sequences_by_id(store, request.kind, &request.scope);
        let mut sequences: Vec<i64> = ids.iter().filter_map(|id| known.get(*id).copied()).collect();
        sequences.push(999_999);
        request.selector = Selector::Sequences(sequences);
    }
    store
        .fetch(&request)
        .map(|found| found.into_iter().map(|fetched| std::sync::Arc::unwrap_or_clone(fetched.record)).collect())
        .map_err(|error| error.kind())
}

#[test]
fn postings_and_fetches_match_the_in_memory_store() {
    let reference = InMemoryStore::new();
    let sqlite = SqliteStore::in_memory().unwrap();
    let directory = tempfile::tempdir().unwrap();
    let file = file_store(&directory);
    for store in [&reference as &dyn Store, &sqlite, &file] {
        write_same_data(store);
    }
    let terms = ["billing", "deploy", "invoic", "#billing", "lisbon", "zebra", "databas", "servic", "#incident"];
    // Every id written, some twice, newest and oldest mixed.
    let ids = [
        "a0", "a1", "a2", "a3", "a4", "b0", "b1", "b4", "c0", "c1", "c2", "c3", "c4", "tie1", "tie2", "a3", "ep1",
        "ep2", "deploy", "i0", "i1", "f1", "f2", "f3", "missing",
    ];
    let stores: [&dyn Store; 2] = [&sqlite, &file];
    for user in
        [scope("alice", "s1", "r1"), scope("alice", "s2", "r2"), scope("bob", "s9", "r9"), scope("carol", "x", "y")]
    {
        for kind in RecordKind::ALL {
            for per_term in [0, 1, 3, 64] {
                let mut request = postings_request(kind, &user, &terms);
                request.per_term = per_term;
                let expected = postings_by_id(&reference, &request, &user);
                for store in stores {
                    assert_eq!(postings_by_id(store, &request, &user), expected, "{kind:?} {user:?} {per_term}");
                }
            }
            for reach in [Reach::Run, Reach::Session, Reach::Space] {
                for selector in [Selector::Newest, Selector::MostImportant, Selector::Sequences(Vec::new())] {
                    for limit in [0, 1, 2, 5, 100] {
                        for active_only in [true, false] {
                            let mut request = FetchRequest::new(kind, user.clone(), reach, selector.clone(), limit);
                            request.active_only = active_only;
                            let expected = fetch_records(&reference, &request, &ids);
                            for store in stores {
                                assert_eq!(fetch_records(store, &request, &ids), expected, "{request:?}");
                            }
                            request.event_kinds = vec![EventKind::ToolCall, EventKind::ToolCall];
                            // Bounds between two milliseconds: strictness must survive rounding.
                            request.before = Some(base_time() + Duration::minutes(2) + Duration::microseconds(1));
                            request.after =
                                Some(base_time() + Duration::milliseconds(59_999) + Duration::microseconds(500));
                            let expected = fetch_records(&reference, &request, &ids);
                            for store in stores {
                                assert_eq!(fetch_records(store, &request, &ids), expected, "{request:?}");
                            }
                        }
                    }
                }
            }
        }
        for store in stores {
            // Only the database size differs: SQLite can tell it, memory cannot.
            let stats = engram_store::Stats { database_bytes: None, ..store.stats(&user).unwrap() };
            assert_eq!(stats, reference.stats(&user).unwrap());
            for key in ["home.city", "billing.policy"] {
                assert_eq!(store.fact_history(&user, key).unwrap(), reference.fact_history(&user, key).unwrap());
            }
        }
    }
}

#[test]
fn superseding_a_fact_removes_its_postings() {
    let store = SqliteStore::in_memory().unwrap();
    let user = scope("u1", "s1", "r1");
    store.upsert_fact(FactInput::new(user.clone(), "home.city", json!("Porto"))).unwrap();
    let before = store.postings(&postings_request(RecordKind::Fact, &user, &["porto", "home", "lisbon"])).unwrap();
    assert_eq!(before.terms["porto"].document_frequency, 1);
    assert_eq!(before.document_count, 1);
    store.upsert_fact(FactInput::new(user.clone(), "home.city", json!("Lisbon"))).unwrap();
    let after = store.postings(&postings_request(RecordKind::Fact, &user, &["porto", "home", "lisbon"])).unwrap();
    assert_eq!(after.terms["porto"].document_frequency, 0);
    assert!(after.terms["porto"].sequences.is_empty());
    assert_eq!(after.terms["home"].document_frequency, 1, "the key's words now count only the active version");
    assert_eq!(after.terms["lisbon"].document_frequency, 1);
    assert_eq!(after.document_count, 1);
    assert_eq!(store.fact_history(&user, "home.city").unwrap().len(), 2, "the old version stays as history");
}

/// One active fact per key is the database's rule, not only the writer's: a second active row
/// for a key, written past the store, is refused; a superseded one is not.
#[test]
fn the_database_refuses_a_second_active_fact_for_a_key() {
    let directory = tempfile::tempdir().unwrap();
    let store = file_store(&directory);
    let user = scope("u1", "s1", "r1");
    store.upsert_fact(FactInput::new(user.clone(), "home.city", json!("Porto"))).unwrap();
    drop(store);
    let raw = open_raw(&directory);
    let copy = |fact_id: &str, status: &str| {
        raw.execute(
            "INSERT INTO facts (tenant_id, fact_id, user_id, agent_id, session_id, run_id, space, scope_level, fact_key, value, text, status, valid_from, valid_to, recorded_at, confidence, importance, sources, tags, entities, expires_at, superseded_by, token_count, lexical_length, lexical_terms)
             SELECT tenant_id, ?1, user_id, agent_id, session_id, run_id, space, scope_level, fact_key, value, text, ?2, valid_from, valid_to, recorded_at, confidence, importance, sources, tags, entities, expires_at, superseded_by, token_count, lexical_length, lexical_terms
             FROM facts WHERE fact_key = 'home.city' AND status = 'active'",
            rusqlite::params![fact_id, status],
        )
    };
    copy("old-version", "superseded").unwrap();
    let error = copy("second-active", "active").unwrap_err();
    assert!(error.to_string().contains("UNIQUE constraint failed"), "{error}");
}

#[test]
fn replacing_a_procedure_keeps_its_sequence_and_use_count() {
    let store = SqliteStore::in_memory().unwrap();
    let user = scope("u1", "s1", "r1");
    let mut procedure = ProcedureInput {
        scope: user.clone(),
        procedure_id: Some("p1".into()),
        task_type: "deploy".into(),
        title: "Deploy with kubectl".into(),
        steps: vec![],
        content: None,
        priority: None,
        applicability: None,
        tags: vec![],
        entities: vec![],
        scope_level: ScopeLevel::User,
        updated_at: None,
        expires_at: None,
        embedding: None,
    };
    store.upsert_procedure(procedure.clone()).unwrap();
    let other =
        ProcedureInput { procedure_id: Some("p2".into()), title: "Roll back a release".into(), ..procedure.clone() };
    store.upsert_procedure(other).unwrap();
    let newest = || FetchRequest::new(RecordKind::Procedure, user.clone(), Reach::Space, Selector::Newest, 10);
    let sequence_of = |fetched: &[engram_store::Fetched], id: &str| {
        fetched.iter().find(|item| item.record.id() == id).map(|item| item.sequence).unwrap()
    };
    let first = sequence_of(&store.fetch(&newest()).unwrap(), "p1");
    procedure.title = "Deploy with helm".into();
    let replaced = store.upsert_procedure(procedure).unwrap();
    assert_eq!(replaced.title, "Deploy with helm");
    assert_eq!(sequence_of(&store.fetch(&newest()).unwrap(), "p1"), first);
    let postings = store.postings(&postings_request(RecordKind::Procedure, &user, &["kubectl", "helm"])).unwrap();
    assert_eq!(postings.terms["kubectl"].document_frequency, 0);
    assert_eq!(postings.terms["helm"].sequences, vec![first]);
    assert_eq!(postings.document_count, 2);
}

#[test]
fn a_taken_event_id_names_the_first_offender_and_writes_nothing() {
    let store = SqliteStore::in_memory().unwrap();
    let user = scope("u1", "s1", "r1");
    store.append_events(vec![message(&user, "e1", 0, "first")]).unwrap();
    let error = store
        .append_events(vec![
            message(&user, "e2", 1, "new"),
            message(&user, "e3", 2, "new"),
            message(&user, "e1", 3, "taken"),
        ])
        .unwrap_err();
    assert_eq!(error.kind(), engram_store::ErrorKind::Conflict);
    assert!(error.to_string().contains("events[2].event_id"), "{error}");
    assert_eq!(store.conversation_window(&user, 10).unwrap().len(), 1);
    let error =
        store.append_events(vec![message(&user, "e4", 1, "new"), message(&user, "e4", 2, "twice")]).unwrap_err();
    assert!(error.to_string().contains("events[1].event_id"), "{error}");
}

#[test]
fn a_rolled_back_batch_leaves_no_space_id_behind() {
    let store = SqliteStore::in_memory().unwrap();
    let (xavier, yara, zoe) = (scope("xavier", "s", "r"), scope("yara", "s", "r"), scope("zoe", "s", "r"));
    store.append_events(vec![message(&yara, "taken", 0, "hello")]).unwrap();
    // New spaces are created, reused within the batch, then the batch fails and rolls back.
    let failed = store.append_events(vec![
        message(&xavier, "x1", 1, "xylophone lessons"),
        message(&zoe, "z1", 2, "zither"),
        message(&xavier, "x2", 3, "xylophone again"),
        message(&yara, "taken", 4, "conflict"),
    ]);
    assert!(failed.is_err());
    store.append_events(vec![message(&zoe, "z2", 5, "zither practice")]).unwrap();
    store.append_events(vec![message(&xavier, "x3", 6, "xylophone concert")]).unwrap();
    let zoe_postings = store.postings(&postings_request(RecordKind::Event, &zoe, &["xylophon", "zither"])).unwrap();
    assert_eq!(zoe_postings.terms["xylophon"].document_frequency, 0, "another user's words leaked: {zoe_postings:?}");
    assert_eq!(zoe_postings.terms["zither"].document_frequency, 1);
    assert_eq!(zoe_postings.document_count, 1);
    let xavier_postings = store.postings(&postings_request(RecordKind::Event, &xavier, &["xylophon"])).unwrap();
    assert_eq!(xavier_postings.terms["xylophon"].document_frequency, 1);
}

/// After purge_user a raw count finds no row of the user in any table (the lexical index
/// included), and once every user is purged every table is empty.
#[test]
fn purge_leaves_no_row_in_any_table() {
    use engram_store::Lifecycle;
    let directory = tempfile::tempdir().unwrap();
    let store = file_store(&directory);
    crate::conformance::lifecycle::seed_user(&store, "u1");
    crate::conformance::lifecycle::seed_user(&store, "u2");
    let raw = open_raw(&directory);
    let count = |sql: &str| -> i64 { raw.query_row(sql, [], |row| row.get(0)).unwrap() };
    let tables: Vec<String> = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%postings_%' AND name <> 'engram_migrations'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let owned = ["events", "facts", "episodes", "procedures", "insights", "working_states", "short_terms"];
    let of_user = |user: &str| -> i64 {
        owned.iter().map(|table| count(&format!("SELECT COUNT(*) FROM {table} WHERE user_id = '{user}'"))).sum::<i64>()
            + count(&format!("SELECT COUNT(*) FROM lexical_spaces WHERE instr(space, '{user}') > 0"))
    };
    let orphans = || -> i64 {
        ["lexical_terms", "lexical_totals"]
            .iter()
            .map(|table| {
                count(&format!(
                    "SELECT COUNT(*) FROM {table} WHERE space_id NOT IN (SELECT space_id FROM lexical_spaces)"
                ))
            })
            .sum()
    };
    assert!(of_user("u1") > 12);
    store.purge_user("t1", "u1").unwrap();
    assert_eq!((of_user("u1"), orphans()), (0, 0));
    assert!(of_user("u2") > 12);
    // One FTS5 document per indexed record: events, current facts, and the other kinds.
    let documents = count("SELECT COUNT(*) FROM event_postings_docsize");
    assert_eq!(documents, count("SELECT COUNT(*) FROM events"));
    store.purge_user("t1", "u2").unwrap();
    for table in &tables {
        assert_eq!(count(&format!("SELECT COUNT(*) FROM {table}")), 0, "{table} still has rows");
    }
    for postings in ["event_postings", "fact_postings", "episode_postings", "procedure_postings", "insight_postings"] {
        assert_eq!(count(&format!("SELECT COUNT(*) FROM {postings}_docsize")), 0, "{postings} still has documents");
    }
}

/// Deletes through a long-lived handle after another purged and the user wrote again (see
/// `stale_handles_delete_exactly`), and no row of the user is left in the index tables.
#[test]
fn deletes_through_a_stale_handle_leave_no_index_rows() {
    let directory = tempfile::tempdir().unwrap();
    crate::conformance::lifecycle::stale_handles_delete_exactly(&file_store(&directory), &file_store(&directory));
    let raw = open_raw(&directory);
    let count = |sql: &str| -> i64 { raw.query_row(sql, [], |row| row.get(0)).unwrap() };
    for table in ["lexical_spaces", "lexical_terms", "lexical_totals", "events", "event_postings_docsize"] {
        assert_eq!(count(&format!("SELECT COUNT(*) FROM {table}")), 0, "{table} keeps rows of the purged user");
    }
}
