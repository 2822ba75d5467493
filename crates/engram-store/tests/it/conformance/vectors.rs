//! Record vectors: stored as float32 on every kind that has them and read back with the record,
//! one length per tenant, checked before anything is written, and the vector read (`vectors`)
//! that follows the lexical index: newest first, bounded, in scope, and in step with
//! supersedes, replacements, deletes, sweeps and restores.

use engram_store::record::{space_key, visible_spaces};
use engram_store::{
    ErrorKind, FetchRequest, Lifecycle, Reach, Record, RecordKind, Selector, Store, StoreExt, VectorRequest, Vectors,
};
use engram_types::{
    EventQuery, FactInput, ForgetRequest, ListQuery, MAX_EMBEDDING_DIMENSIONS, ProcedureInput, Scope, ScopeLevel,
    SweepRequest,
};
use serde_json::json;

use super::records::{episode, procedure};
use crate::support::{base_time, default_scope, message, minutes, scope};

/// Four numbers that are not exact in float32 (except the last), so a store keeping another
/// precision would show.
fn vector(seed: f32) -> Vec<f32> {
    vec![0.1 * seed, -1.0 / 3.0, seed * 1e-3, 12.5]
}

fn field_of(error: engram_store::Error) -> String {
    match error {
        engram_store::Error::InvalidInput(invalid) => invalid.field,
        other => panic!("expected InvalidInput, got {other}"),
    }
}

fn read(store: &dyn Store, kind: RecordKind, scope: &Scope, limit: u32) -> Vectors {
    store
        .vectors(&VectorRequest {
            kind,
            tenant_id: scope.tenant_id.clone(),
            spaces: visible_spaces(scope, kind),
            limit,
        })
        .unwrap()
}

/// The ids of the records a vector read points at, in its order, fetched by sequence.
fn ids_of(store: &dyn Store, kind: RecordKind, scope: &Scope, vectors: &Vectors) -> Vec<String> {
    let sequences: Vec<i64> = vectors.vectors.iter().map(|stored| stored.sequence).collect();
    let mut request =
        FetchRequest::new(kind, scope.clone(), Reach::Space, Selector::Sequences(sequences.clone()), 1000);
    request.active_only = false;
    let fetched = store.fetch(&request).unwrap();
    sequences
        .iter()
        .map(|sequence| {
            let found = fetched.iter().find(|fetched| fetched.sequence == *sequence).unwrap();
            let stored = vectors.vectors.iter().find(|stored| stored.sequence == *sequence).unwrap();
            assert_kept(&stored.embedding, found.record.embedding().unwrap());
            found.record.id().to_string()
        })
        .collect()
}

/// The candidate source keeps a vector at a byte per value: each within half a step (1/127 of
/// the largest magnitude) of the record's own float32 value, the same on every backend.
fn assert_kept(kept: &[f32], exact: &[f32]) {
    let step = exact.iter().fold(0.0_f32, |largest, value| largest.max(value.abs())) / 127.0;
    assert_eq!(kept.len(), exact.len());
    for (value, kept) in exact.iter().zip(kept) {
        assert!((value - kept).abs() <= step * 0.5 + 1e-6, "{value} kept as {kept}");
    }
}

fn fact(scope: &Scope, key: &str, value: serde_json::Value, embedding: Option<Vec<f32>>) -> FactInput {
    let mut fact = FactInput::new(scope.clone(), key, value);
    fact.embedding = embedding;
    fact
}

/// Each kind with a vector reads it back as the float32 values written, from the write, a
/// listing, a fetch by sequence and a scan; without one it reads `None`.
pub fn vectors_round_trip_on_every_kind(store: &dyn Store) {
    let own = default_scope();
    let mut with = message(&own, "e-with", 0, "user", "vectors travel with the record");
    with.embedding = Some(vector(1.0));
    let without = message(&own, "e-without", 1, "user", "no vector here");
    let written = store.append_events(vec![with, without]).unwrap();
    assert_eq!(written[0].embedding, Some(vector(1.0)));
    assert_eq!(written[1].embedding, None);
    let written = store.upsert_fact(fact(&own, "k.with", json!("a"), Some(vector(2.0)))).unwrap();
    assert_eq!(written.fact.embedding, Some(vector(2.0)));
    store.upsert_fact(fact(&own, "k.without", json!("b"), None)).unwrap();
    let mut with_episode = episode("ep-with", 0, "an episode with a vector");
    with_episode.embedding = Some(vector(3.0));
    assert_eq!(store.append_episode(with_episode).unwrap().embedding, Some(vector(3.0)));
    store.append_episode(episode("ep-without", 10, "an episode without")).unwrap();
    let mut with_procedure = procedure("p-with", "Deploy with a vector");
    with_procedure.embedding = Some(vector(4.0));
    assert_eq!(store.upsert_procedure(with_procedure).unwrap().embedding, Some(vector(4.0)));
    store.upsert_procedure(procedure("p-without", "Deploy without")).unwrap();

    let events = store.list_events(&EventQuery::new(own.clone())).unwrap();
    let embedding_of = |id: &str| events.iter().find(|event| event.event_id == id).unwrap().embedding.clone();
    assert_eq!((embedding_of("e-with"), embedding_of("e-without")), (Some(vector(1.0)), None));
    let facts = store.list_facts(&ListQuery::new(own.clone())).unwrap();
    let fact_embedding = |key: &str| facts.iter().find(|fact| fact.fact_key == key).unwrap().embedding.clone();
    assert_eq!((fact_embedding("k.with"), fact_embedding("k.without")), (Some(vector(2.0)), None));
    let episodes = store.list_episodes(&ListQuery::new(own.clone())).unwrap();
    let episode_embedding = |id: &str| episodes.iter().find(|e| e.episode_id == id).unwrap().embedding.clone();
    assert_eq!((episode_embedding("ep-with"), episode_embedding("ep-without")), (Some(vector(3.0)), None));
    let procedures = store.list_procedures(&ListQuery::new(own.clone())).unwrap();
    let procedure_embedding = |id: &str| procedures.iter().find(|p| p.procedure_id == id).unwrap().embedding.clone();
    assert_eq!((procedure_embedding("p-with"), procedure_embedding("p-without")), (Some(vector(4.0)), None));

    // Scans (exports, sweeps) read the column too, and the vector read points at the records.
    for (kind, id, seed) in [
        (RecordKind::Event, "e-with", 1.0),
        (RecordKind::Fact, "", 2.0),
        (RecordKind::Episode, "ep-with", 3.0),
        (RecordKind::Procedure, "p-with", 4.0),
    ] {
        let scanned = store.scan(&engram_store::maintenance::ScanRequest::owned_by(kind, &own, 100)).unwrap();
        let with: Vec<&Record> =
            scanned.iter().map(|fetched| &*fetched.record).filter(|record| record.embedding().is_some()).collect();
        assert_eq!(with.len(), 1, "{kind:?}");
        assert_eq!(with[0].embedding(), Some(vector(seed).as_slice()));
        let vectors = read(store, kind, &own, 10);
        assert_eq!(vectors.dimensions, Some(4));
        let ids = ids_of(store, kind, &own, &vectors);
        assert_eq!(ids, vec![with[0].id().to_string()], "{kind:?}");
        if !id.is_empty() {
            assert_eq!(ids, vec![id.to_string()]);
        }
    }
}

/// The first vector of a tenant fixes its length: another length, on any kind, is refused
/// naming the field, and nothing of that write is stored (a bulk append is all or nothing).
/// Other tenants have their own length.
pub fn a_vector_of_another_length_is_refused_and_nothing_is_stored(store: &dyn Store) {
    let own = default_scope();
    let mut first = message(&own, "e1", 0, "user", "the first vector");
    first.embedding = Some(vector(1.0));
    store.append_event(first).unwrap();

    let error = store.upsert_fact(fact(&own, "k", json!(1), Some(vec![0.5, 0.5, 0.5]))).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("has 3 dimensions; vectors in this tenant have 4"), "{error}");
    assert_eq!(field_of(error), "embedding");
    let mut short_episode = episode("ep", 0, "short");
    short_episode.embedding = Some(vec![1.0]);
    assert_eq!(field_of(store.append_episode(short_episode).unwrap_err()), "embedding");
    let mut short_procedure = procedure("p", "Short");
    short_procedure.embedding = Some(vec![1.0; 5]);
    assert_eq!(field_of(store.upsert_procedure(short_procedure).unwrap_err()), "embedding");
    let mut single = message(&own, "e-short", 1, "user", "short");
    single.embedding = Some(vec![1.0, 2.0]);
    assert_eq!(field_of(store.append_event(single).unwrap_err()), "embedding");

    let mut batch = vec![
        message(&own, "b0", 2, "user", "fits"),
        message(&own, "b1", 3, "user", "no vector"),
        message(&own, "b2", 4, "user", "does not fit"),
    ];
    batch[0].embedding = Some(vector(2.0));
    batch[2].embedding = Some(vec![1.0, 2.0, 3.0]);
    let error = store.append_events(batch).unwrap_err();
    assert_eq!(field_of(error), "events[2].embedding");

    let events = store.list_events(&EventQuery::new(own.clone())).unwrap();
    assert_eq!(events.iter().map(|event| event.event_id.as_str()).collect::<Vec<_>>(), ["e1"]);
    assert!(store.list_facts(&ListQuery::new(own.clone())).unwrap().is_empty());
    assert!(store.list_episodes(&ListQuery::new(own.clone())).unwrap().is_empty());
    assert!(store.list_procedures(&ListQuery::new(own.clone())).unwrap().is_empty());
    assert_eq!(read(store, RecordKind::Event, &own, 10).vectors.len(), 1);

    // A new tenant: the batch's own first vector sets the length it is checked against, and a
    // refused batch fixes nothing.
    let other = scope("t2", "u1", "s1", "r1");
    let mut batch = vec![message(&other, "o0", 0, "user", "two"), message(&other, "o1", 1, "user", "three")];
    batch[0].embedding = Some(vec![1.0, 0.0]);
    batch[1].embedding = Some(vec![1.0, 0.0, 0.0]);
    assert_eq!(field_of(store.append_events(batch).unwrap_err()), "events[1].embedding");
    assert_eq!(read(store, RecordKind::Event, &other, 10), Vectors::default());
    let written = store.upsert_fact(fact(&other, "k", json!(1), Some(vec![0.0, 1.0, 0.0]))).unwrap();
    assert_eq!(written.fact.embedding.map(|embedding| embedding.len()), Some(3));
    assert_eq!(read(store, RecordKind::Fact, &other, 10).dimensions, Some(3));
    assert_eq!(read(store, RecordKind::Fact, &own, 10).dimensions, Some(4));
}

/// Vectors must be 1 to 4096 finite numbers; a bad one is refused before anything is written.
pub fn invalid_vectors_are_refused(store: &dyn Store) {
    let own = default_scope();
    for (embedding, field) in [
        (vec![], "embedding"),
        (vec![0.5, f32::NAN, 0.0], "embedding[1]"),
        (vec![f32::INFINITY], "embedding[0]"),
        (vec![0.0; MAX_EMBEDDING_DIMENSIONS + 1], "embedding"),
    ] {
        let mut event = message(&own, "e", 0, "user", "bad vector");
        event.embedding = Some(embedding.clone());
        assert_eq!(field_of(store.append_event(event).unwrap_err()), field);
        assert_eq!(field_of(store.upsert_fact(fact(&own, "k", json!(1), Some(embedding.clone()))).unwrap_err()), field);
        let mut bad_episode = episode("ep", 0, "bad vector");
        bad_episode.embedding = Some(embedding.clone());
        assert_eq!(field_of(store.append_episode(bad_episode).unwrap_err()), field);
        let mut bad_procedure = procedure("p", "Bad vector");
        bad_procedure.embedding = Some(embedding);
        assert_eq!(field_of(store.upsert_procedure(bad_procedure).unwrap_err()), field);
    }
    let mut batch = vec![message(&own, "b0", 0, "user", "fine"), message(&own, "b1", 1, "user", "not fine")];
    batch[1].embedding = Some(vec![f32::NEG_INFINITY]);
    assert_eq!(field_of(store.append_events(batch).unwrap_err()), "events[1].embedding[0]");
    assert!(store.list_events(&EventQuery::new(own.clone())).unwrap().is_empty());
    assert!(store.list_facts(&ListQuery::new(own.clone())).unwrap().is_empty());
    // Nothing was stored, so nothing fixed the tenant's length either.
    assert_eq!(read(store, RecordKind::Event, &own, 10), Vectors::default());
    let largest = vec![0.25; MAX_EMBEDDING_DIMENSIONS];
    let written = store.upsert_fact(fact(&own, "k", json!(1), Some(largest.clone()))).unwrap();
    assert_eq!(written.fact.embedding, Some(largest));

    // The read is checked too.
    let bad_reads = [
        VectorRequest { kind: RecordKind::Fact, tenant_id: "t1".into(), spaces: vec![], limit: 0 },
        VectorRequest { kind: RecordKind::Insight, tenant_id: "t1".into(), spaces: vec![], limit: 5 },
        VectorRequest { kind: RecordKind::Fact, tenant_id: String::new(), spaces: vec![], limit: 5 },
        VectorRequest { kind: RecordKind::Fact, tenant_id: "t1".into(), spaces: vec!["a".into(); 4], limit: 5 },
    ];
    for request in bad_reads {
        assert_eq!(store.vectors(&request).unwrap_err().kind(), ErrorKind::InvalidInput, "{request:?}");
    }
}

/// `vectors` returns the newest vectors by sequence across the scope's spaces, at most
/// `limit`, with the tenant's length; another user's vectors never.
pub fn vector_reads_are_newest_first_bounded_and_in_scope(store: &dyn Store) {
    let own = default_scope();
    let stranger = scope("t1", "u2", "s9", "r9");
    let mut events = Vec::new();
    for index in 0..6 {
        let mut event = message(&own, &format!("e{index}"), index, "user", "a turn");
        event.embedding = Some(vector(index as f32));
        events.push(event);
    }
    // Without a vector: never in a vector read.
    events.push(message(&own, "plain", 10, "user", "no vector"));
    store.append_events(events).unwrap();
    let mut foreign = message(&stranger, "theirs", 20, "user", "someone else's turn");
    foreign.embedding = Some(vector(9.0));
    store.append_event(foreign).unwrap();
    // An earlier session of the same user is in the user's space.
    let mut earlier = message(&scope("t1", "u1", "s0", "r0"), "earlier", -60, "user", "an earlier session");
    earlier.embedding = Some(vector(7.0));
    store.append_event(earlier).unwrap();

    let newest = read(store, RecordKind::Event, &own, 4);
    assert_eq!(newest.dimensions, Some(4));
    assert_eq!(ids_of(store, RecordKind::Event, &own, &newest), ["earlier", "e5", "e4", "e3"]);
    assert_kept(&newest.vectors[1].embedding, &vector(5.0));
    let all = read(store, RecordKind::Event, &own, 100);
    assert_eq!(ids_of(store, RecordKind::Event, &own, &all), ["earlier", "e5", "e4", "e3", "e2", "e1", "e0"]);
    assert!(all.vectors.windows(2).all(|pair| pair[0].sequence > pair[1].sequence));
    assert_eq!(
        ids_of(store, RecordKind::Event, &stranger, &read(store, RecordKind::Event, &stranger, 100)),
        ["theirs"]
    );

    // Facts: the user's own, the agent's and the tenant's spaces; not another user's own.
    for (key, level, who, seed) in [
        ("own.1", ScopeLevel::User, &own, 1.0),
        ("agent.1", ScopeLevel::Agent, &stranger, 2.0),
        ("tenant.1", ScopeLevel::Tenant, &stranger, 3.0),
        ("theirs.1", ScopeLevel::User, &stranger, 4.0),
        ("own.2", ScopeLevel::User, &own, 5.0),
    ] {
        let mut input = fact(who, key, json!(seed), Some(vector(seed)));
        input.scope_level = level;
        store.upsert_fact(input).unwrap();
    }
    let facts = read(store, RecordKind::Fact, &own, 10);
    let keys = ids_of(store, RecordKind::Fact, &own, &facts);
    let stored = store.list_facts(&ListQuery::new(own.clone())).unwrap();
    let key_of = |id: &String| stored.iter().find(|fact| &fact.fact_id == id).unwrap().fact_key.clone();
    assert_eq!(keys.iter().map(key_of).collect::<Vec<_>>(), ["own.2", "tenant.1", "agent.1", "own.1"]);
    let only_own = store
        .vectors(&VectorRequest {
            kind: RecordKind::Fact,
            tenant_id: "t1".into(),
            spaces: vec![space_key(&own, ScopeLevel::User)],
            limit: 1,
        })
        .unwrap();
    assert_eq!(only_own.vectors.len(), 1);
    assert_kept(&only_own.vectors[0].embedding, &vector(5.0));
    // Another kind, another tenant: nothing.
    assert!(read(store, RecordKind::Episode, &own, 10).vectors.is_empty());
    assert_eq!(read(store, RecordKind::Fact, &scope("t3", "u1", "s1", "r1"), 10), Vectors::default());
}

/// A superseded fact leaves the vector read with its postings; the new version is there. A
/// refresh (same value) keeps the version and its vector; a replaced procedure's vector is the
/// new one.
pub fn superseding_a_fact_moves_its_vector_row(store: &dyn Store) {
    let own = default_scope();
    let mut first = fact(&own, "diet", json!("vegetarian"), Some(vector(1.0)));
    first.recorded_at = Some(base_time());
    let old = store.upsert_fact(first).unwrap().fact;
    let mut second = fact(&own, "diet", json!("vegan"), Some(vector(2.0)));
    second.recorded_at = Some(base_time() + minutes(1));
    let new = store.upsert_fact(second).unwrap().fact;
    let vectors = read(store, RecordKind::Fact, &own, 10);
    assert_eq!(ids_of(store, RecordKind::Fact, &own, &vectors), [new.fact_id]);
    assert_kept(&vectors.vectors[0].embedding, &vector(2.0));
    // History keeps the old version's vector on the record.
    let history = store.fact_history(&own, "diet").unwrap();
    assert_eq!(
        history.iter().map(|fact| fact.embedding.clone()).collect::<Vec<_>>(),
        [Some(vector(1.0)), Some(vector(2.0))]
    );
    assert_eq!(history[0].fact_id, old.fact_id);
    // Superseded by a version without a vector: the key has no vector row left.
    let mut third = fact(&own, "diet", json!("omnivore"), None);
    third.recorded_at = Some(base_time() + minutes(2));
    store.upsert_fact(third).unwrap();
    assert!(read(store, RecordKind::Fact, &own, 10).vectors.is_empty());
    let mut fourth = fact(&own, "diet", json!("pescatarian"), Some(vector(4.0)));
    fourth.recorded_at = Some(base_time() + minutes(3));
    let latest = store.upsert_fact(fourth.clone()).unwrap().fact;
    fourth.recorded_at = Some(base_time() + minutes(4));
    store.upsert_fact(fourth).unwrap();
    let vectors = read(store, RecordKind::Fact, &own, 10);
    assert_eq!(ids_of(store, RecordKind::Fact, &own, &vectors), [latest.fact_id]);

    let mut deploy = procedure("deploy", "Deploy");
    deploy.embedding = Some(vector(5.0));
    store.upsert_procedure(deploy.clone()).unwrap();
    deploy.embedding = Some(vector(6.0));
    deploy.title = "Deploy, again".into();
    store.upsert_procedure(deploy.clone()).unwrap();
    let vectors = read(store, RecordKind::Procedure, &own, 10);
    assert_eq!(vectors.vectors.len(), 1);
    assert_kept(&vectors.vectors[0].embedding, &vector(6.0));
    // Replaced at another level: the row moves to the new space.
    deploy.scope_level = ScopeLevel::Tenant;
    store.upsert_procedure(deploy.clone()).unwrap();
    let own_space = store
        .vectors(&VectorRequest {
            kind: RecordKind::Procedure,
            tenant_id: "t1".into(),
            spaces: vec![space_key(&own, ScopeLevel::User)],
            limit: 10,
        })
        .unwrap();
    assert!(own_space.vectors.is_empty());
    assert_eq!(ids_of(store, RecordKind::Procedure, &own, &read(store, RecordKind::Procedure, &own, 10)), ["deploy"]);
    deploy.embedding = None;
    store.upsert_procedure(deploy).unwrap();
    assert!(read(store, RecordKind::Procedure, &own, 10).vectors.is_empty());
}

/// Deleting an event, forgetting, purging and sweeping expired records remove their vector
/// rows, and the receipts count them.
pub fn deleting_forgetting_and_sweeping_remove_vector_rows(store: &dyn Store) {
    let own = default_scope();
    let mut events = Vec::new();
    for index in 0..4 {
        let mut event = message(&own, &format!("e{index}"), index, "user", "a turn to forget");
        event.embedding = Some(vector(index as f32));
        if index == 3 {
            event.expires_at = Some(base_time() + minutes(30));
        }
        events.push(event);
    }
    store.append_events(events).unwrap();
    let mut expiring = fact(&own, "expiring", json!(1), Some(vector(8.0)));
    expiring.expires_at = Some(base_time() + minutes(30));
    store.upsert_fact(expiring).unwrap();
    let mut tagged = procedure("tagged", "Tagged procedure");
    tagged.embedding = Some(vector(9.0));
    tagged.tags = vec!["forget-me".into()];
    store.upsert_procedure(tagged).unwrap();
    let mut kept = episode("kept", 0, "kept episode");
    kept.embedding = Some(vector(10.0));
    store.append_episode(kept).unwrap();

    let receipt = store.delete_event(&own, "e0").unwrap();
    assert_eq!(receipt.count("record_vectors"), 1, "{receipt:?}");
    assert_eq!(ids_of(store, RecordKind::Event, &own, &read(store, RecordKind::Event, &own, 10)), ["e3", "e2", "e1"]);

    let mut forget = ForgetRequest::new(own.clone());
    forget.tags = vec!["forget-me".into()];
    let receipt = store.forget(&forget).unwrap();
    assert_eq!(receipt.count("record_vectors"), 1, "{receipt:?}");
    assert!(read(store, RecordKind::Procedure, &own, 10).vectors.is_empty());

    let sweep = SweepRequest { now: Some(base_time() + minutes(60)), retention: Default::default() };
    let receipt = store.sweep_expired(&sweep).unwrap();
    assert_eq!(receipt.count("record_vectors"), 2, "{receipt:?}");
    assert_eq!(ids_of(store, RecordKind::Event, &own, &read(store, RecordKind::Event, &own, 10)), ["e2", "e1"]);
    assert!(read(store, RecordKind::Fact, &own, 10).vectors.is_empty());

    let receipt = store.purge_user("t1", "u1").unwrap();
    assert_eq!(receipt.count("record_vectors"), 3, "{receipt:?}");
    for kind in [RecordKind::Event, RecordKind::Fact, RecordKind::Episode, RecordKind::Procedure] {
        let vectors = read(store, kind, &own, 10);
        assert!(vectors.vectors.is_empty(), "{kind:?}");
        // The tenant's length outlives its vectors: it is the tenant's, not the user's.
        assert_eq!(vectors.dimensions, Some(4));
    }
}

/// An export restored after a purge has every vector back, on the records and in the vector
/// read (a superseded version's only on the record), and restores are checked like writes.
pub fn restoring_an_export_keeps_embeddings(store: &dyn Store) {
    let own = default_scope();
    let mut with = message(&own, "e1", 0, "user", "restored with its vector");
    with.embedding = Some(vector(1.0));
    store.append_events(vec![with, message(&own, "e2", 1, "user", "restored without")]).unwrap();
    let mut first = fact(&own, "diet", json!("vegetarian"), Some(vector(2.0)));
    first.recorded_at = Some(base_time());
    store.upsert_fact(first).unwrap();
    let mut second = fact(&own, "diet", json!("vegan"), Some(vector(3.0)));
    second.recorded_at = Some(base_time() + minutes(1));
    store.upsert_fact(second).unwrap();
    let mut kept = episode("ep", 0, "an episode");
    kept.embedding = Some(vector(4.0));
    store.append_episode(kept).unwrap();
    let mut deploy: ProcedureInput = procedure("deploy", "Deploy");
    deploy.embedding = Some(vector(5.0));
    store.upsert_procedure(deploy).unwrap();
    let kinds = [RecordKind::Event, RecordKind::Fact, RecordKind::Episode, RecordKind::Procedure];
    let before: Vec<Vec<Vec<f32>>> = kinds
        .iter()
        .map(|kind| read(store, *kind, &own, 10).vectors.into_iter().map(|stored| stored.embedding).collect())
        .collect();
    let history_before = store.fact_history(&own, "diet").unwrap();

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("export.jsonl");
    store.export_scope(&own, &path).unwrap();
    store.purge_user("t1", "u1").unwrap();
    let receipt = store.import_scope(&path).unwrap();
    assert_eq!(receipt.count("record_vectors"), 4, "{receipt:?}");

    let after: Vec<Vec<Vec<f32>>> = kinds
        .iter()
        .map(|kind| read(store, *kind, &own, 10).vectors.into_iter().map(|stored| stored.embedding).collect())
        .collect();
    assert_eq!(after, before);
    assert_eq!(before[1].len(), 1);
    assert_kept(&before[1][0], &vector(3.0));
    assert_eq!(store.fact_history(&own, "diet").unwrap(), history_before);
    let events = store.list_events(&EventQuery::new(own.clone())).unwrap();
    assert_eq!(events.iter().map(|event| event.embedding.clone()).collect::<Vec<_>>(), [None, Some(vector(1.0))]);

    // A restore is checked like a write: a vector of another length is refused.
    store.purge_user("t1", "u1").unwrap();
    let mut short = message(&own, "other", 0, "user", "short vector");
    short.embedding = Some(vec![1.0, 2.0]);
    let record = Record::Event(engram_store::prepare::event(short, base_time(), store.limits()).unwrap().record);
    let error = store.restore(vec![record], Vec::new()).unwrap_err();
    assert_eq!(field_of(error), "records[0].embedding");
    assert!(store.list_events(&EventQuery::new(own)).unwrap().is_empty());
}
