//! Retrieval with vectors: the vector candidate source and its bound, rank fusion, the query
//! vector's checks, context turns around recalled events, and what event text is indexed by.

use engram_store::{ErrorKind, Lifecycle, Store, StoreExt};
use engram_types::{BuildRequest, EventInput, Fusion, FusionMethod, MemoryPacket, Purpose, Scope, SelectedItem};

use crate::support::{base_time, build, comparable, default_scope, message, minutes, scope};

/// Unit vectors along one axis: "topics" that share no words.
fn axis(index: usize) -> Vec<f32> {
    let mut vector = vec![0.0_f32; 4];
    if let Some(value) = vector.get_mut(index) {
        *value = 1.0;
    }
    vector
}

fn with_vector(mut event: EventInput, vector: Vec<f32>) -> EventInput {
    event.embedding = Some(vector);
    event
}

fn earlier_session() -> Scope {
    scope("t1", "u1", "s0", "r0")
}

fn request() -> BuildRequest {
    BuildRequest::new(default_scope(), Purpose::Responder).with_now(base_time() + minutes(24 * 60))
}

fn selected<'a>(packet: &'a MemoryPacket, id: &str) -> Option<&'a SelectedItem> {
    packet.explain.selected.iter().find(|item| item.id == id)
}

/// Earlier turns on three topics; none shares a word with the question asked later.
fn seed_topics(store: &dyn Store) {
    let earlier = earlier_session();
    let turns = [
        ("trip", "We booked the train to Porto for the spring holiday.", 0),
        ("meal", "Dinner was grilled sardines with a glass of vinho verde.", 1),
        ("code", "The parser crashed on an empty configuration file.", 2),
    ];
    for (position, (id, text, topic)) in turns.iter().enumerate() {
        let minute = i64::try_from(position).unwrap_or(0) * 10;
        store.append_event(with_vector(message(&earlier, id, minute, "user", text), axis(*topic))).unwrap();
    }
}

/// A question in other words finds its turn through the vector source alone; the explain
/// names the source and the similarity.
pub fn vector_source_finds_what_words_miss(store: &dyn Store) {
    seed_topics(store);
    let question = request().with_query("where are we travelling this season").with_query_embedding(axis(0));
    let packet = build(store, question);
    let trip = selected(&packet, "trip").expect("the trip turn is recalled");
    assert_eq!(trip.source, "vector");
    assert!(trip.sources.contains(&"vector".to_string()));
    assert!((trip.signals.vector - 1.0).abs() < 1e-9, "{:?}", trip.signals);
    assert!((trip.signals.relevance - 1.0).abs() < 1e-9, "best in its section: {:?}", trip.signals);
    assert!(trip.matched_terms.is_empty());
    assert_eq!(packet.long_term.recall.first().map(|item| item.id.as_str()), Some("trip"));
    for other in ["meal", "code"] {
        if let Some(item) = selected(&packet, other) {
            assert!(item.signals.vector.abs() < 1e-9, "{other} is orthogonal: {:?}", item.signals);
            assert!(item.score < trip.score);
        }
    }
    // The same question without its vector finds nothing to recall: no shared word.
    let lexical = build(store, request().with_query("where are we travelling this season"));
    assert!(lexical.long_term.recall.is_empty(), "{:?}", lexical.long_term.recall);
}

/// Stored vectors change nothing for a request without `query_embedding`, nor does a query
/// vector where no record has one: the packet is the one a store without vectors builds.
pub fn without_query_embedding_vectors_change_nothing(store: &dyn Store) {
    seed_topics(store);
    let plain = engram_store::InMemoryStore::new();
    let earlier = earlier_session();
    for fetched in store.list_events(&engram_types::EventQuery::new(earlier.clone())).unwrap().into_iter().rev() {
        let mut event = message(&earlier, &fetched.event_id, 0, "user", &fetched.text);
        event.ts = Some(fetched.ts);
        plain.append_event(event).unwrap();
    }
    let question = request().with_query("the train to Porto and the sardines dinner");
    let with_vectors = build(store, question.clone());
    let without = build(&plain, question.clone());
    assert_eq!(comparable(&with_vectors), comparable(&without));
    // A query vector where no record has one has nothing to fuse: the lexical packet again.
    let vector_asked = build(&plain, question.with_query_embedding(axis(0)));
    assert_eq!(comparable(&vector_asked), comparable(&without));
    assert!(with_vectors.explain.selected.iter().all(|item| item.signals.vector == 0.0));
    assert!(!with_vectors.long_term.recall.is_empty());
}

/// A query vector must be 1..=4096 finite numbers of the tenant's length.
pub fn query_embedding_is_checked(store: &dyn Store) {
    seed_topics(store);
    let wrong_length = engram_store::build_memory_packet(store, request().with_query_embedding(vec![1.0, 0.0]));
    let error = wrong_length.expect_err("3 stored 4-d vectors, a 2-d query");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("query_embedding"), "{error}");
    assert!(error.to_string().contains("dimensions"), "{error}");
    for (vector, field) in [
        (vec![], "query_embedding"),
        (vec![0.5, f32::NAN, 0.0, 0.0], "query_embedding[1]"),
        (vec![0.0; 5000], "query_embedding"),
    ] {
        let error = engram_store::build_memory_packet(store, request().with_query_embedding(vector)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains(field), "{error}");
    }
    // A tenant without vectors has nothing to compare: any length builds.
    let elsewhere = BuildRequest::new(scope("t2", "u1", "s1", "r1"), Purpose::Responder).with_query_embedding(axis(1));
    build(store, elsewhere);
}

/// The vector source compares only the newest `policy.vector_candidates` vectors: an older
/// perfect match is out of reach until the bound grows.
pub fn vector_source_is_bounded_by_policy(store: &dyn Store) {
    let earlier = earlier_session();
    let old = message(&earlier, "old-match", 0, "user", "Alpha bravo charlie.");
    store.append_event(with_vector(old, axis(3))).unwrap();
    let newer: Vec<EventInput> = (0..20)
        .map(|index| {
            let text = format!("Unrelated note number {index}.");
            with_vector(message(&earlier, &format!("newer-{index}"), 10 + index, "user", &text), axis(2))
        })
        .collect();
    store.append_events(newer).unwrap();
    let mut bounded = request().with_query_embedding(axis(3));
    bounded.policy.vector_candidates = 10;
    let packet = build(store, bounded.clone());
    assert!(selected(&packet, "old-match").is_none(), "only the 10 newest vectors are compared");
    bounded.policy.vector_candidates = 21;
    let packet = build(store, bounded);
    assert_eq!(packet.long_term.recall.first().map(|item| item.id.as_str()), Some("old-match"));
}

/// Fusion weights steer relevance: with the vector weight at 0, the BM25 ranking alone
/// decides it; with the lexical weight at 0, the similarity ranking does.
pub fn fusion_weights_steer_relevance(store: &dyn Store) {
    let earlier = earlier_session();
    let words = message(&earlier, "words", 0, "user", "Porto train tickets are booked.");
    let meaning = message(&earlier, "meaning", 1, "user", "Our rail journey north is arranged.");
    store.append_event(with_vector(words, axis(1))).unwrap();
    store.append_event(with_vector(meaning, axis(0))).unwrap();
    let question = request().with_query("Porto train").with_query_embedding(axis(0));
    // Either way of fusing (scores, the default, and ranks) follows the weights.
    assert_eq!(Fusion::default().method, FusionMethod::Scores);
    for method in [FusionMethod::Scores, FusionMethod::Ranks] {
        let mut lexical_only = question.clone();
        lexical_only.policy.fusion = Fusion { method, lexical: 1.0, vector: 0.0, ..Fusion::default() };
        let packet = build(store, lexical_only);
        assert_eq!(packet.long_term.recall.first().map(|item| item.id.as_str()), Some("words"), "{method:?}");
        let mut vector_only = question.clone();
        vector_only.policy.fusion = Fusion { method, lexical: 0.0, vector: 1.0, ..Fusion::default() };
        let packet = build(store, vector_only);
        assert_eq!(packet.long_term.recall.first().map(|item| item.id.as_str()), Some("meaning"), "{method:?}");
        let meaning = selected(&packet, "meaning").unwrap();
        assert!((meaning.signals.relevance - 1.0).abs() < 1e-9);
        assert!(selected(&packet, "words").is_some_and(|words| words.signals.relevance < 1.0));
    }
}

/// A recalled turn comes with the turns around it in its session, marked as its context,
/// rendered around it in time order; `context_turns: 0` turns that off.
pub fn context_turns_come_with_their_recalled_event(store: &dyn Store) {
    let earlier = earlier_session();
    let turns = [
        ("q", "user", "What should I pack for the mountains?"),
        ("a", "assistant", "Bring the blue raincoat and wool socks."),
        ("later", "user", "Thanks, that settles it."),
    ];
    for (position, (id, role, text)) in turns.iter().enumerate() {
        store.append_event(message(&earlier, id, i64::try_from(position).unwrap_or(0), role, text)).unwrap();
    }
    // Another session's turn written in between must never pass for context.
    store.append_event(message(&scope("t1", "u1", "s9", "r9"), "other", 5, "user", "Unrelated.")).unwrap();
    let packet = build(store, request().with_query("blue raincoat"));
    let hit = selected(&packet, "a").expect("the answer is recalled");
    assert!(hit.context_of.is_none());
    for neighbour in ["q", "later"] {
        let item = selected(&packet, neighbour).unwrap_or_else(|| panic!("{neighbour} comes as context"));
        assert_eq!(item.context_of.as_deref(), Some("a"));
        assert_eq!(item.source, "context");
        assert!(item.score < hit.score);
    }
    assert!(selected(&packet, "other").is_none());
    let question = packet.rendered.find("pack for the mountains").unwrap();
    let answer = packet.rendered.find("blue raincoat").unwrap();
    let thanks = packet.rendered.find("that settles it").unwrap();
    assert!(question < answer && answer < thanks, "rendered in time order around the hit");

    let mut plain = request().with_query("blue raincoat");
    plain.policy.context_turns = 0;
    let packet = build(store, plain);
    assert!(selected(&packet, "a").is_some());
    assert!(selected(&packet, "q").is_none() && selected(&packet, "later").is_none());
}

/// A turn of a session that matches the query in several places outranks a lone match of the
/// same strength in another session; `session_support: 0` ranks them by their own text alone.
pub fn session_support_lifts_turns_of_a_matching_session(store: &dyn Store) {
    let focused = scope("t1", "u1", "s-garden", "r-garden");
    let scattered = scope("t1", "u1", "s-misc", "r-misc");
    // Written first, so it is the older of the two equal matches (recency alone would sink it).
    store.append_event(message(&focused, "tomatoes", 0, "user", "My tomatoes need staking this week.")).unwrap();
    store.append_event(message(&focused, "soil", 1, "user", "The garden soil there is heavy clay.")).unwrap();
    store.append_event(message(&focused, "beds", 2, "user", "I dug two raised garden beds.")).unwrap();
    store.append_event(message(&scattered, "market", 3, "user", "The market sells tomatoes cheaply.")).unwrap();
    let question = || {
        let mut question = request().with_query("tomatoes garden");
        question.policy.context_turns = 0;
        question
    };
    let rank = |packet: &MemoryPacket, id: &str| selected(packet, id).map(|item| item.rank).unwrap_or(u32::MAX);

    let supported = build(store, question());
    assert!(rank(&supported, "tomatoes") < rank(&supported, "market"), "{:?}", supported.explain.selected);

    let mut alone = question();
    alone.policy.session_support = 0.0;
    let alone = build(store, alone);
    assert!(rank(&alone, "market") < rank(&alone, "tomatoes"), "{:?}", alone.explain.selected);
}

/// Context turns are the hit's neighbours in its session (by time, then write order), not in
/// the store: turns of another user, a tool event and a rejected write between a question and
/// its answer change nothing, and neither does exporting and importing the session (which
/// renumbers every record).
pub fn context_turns_are_the_sessions_neighbours(store: &dyn Store) {
    let earlier = scope("t1", "u-context", "s0", "r0");
    let asking = scope("t1", "u-context", "s1", "r1");
    let neighbour = scope("t1", "u-other", "s0", "r0");
    store.append_event(message(&earlier, "before", 0, "user", "Good morning.")).unwrap();
    store.append_event(message(&earlier, "question", 1, "user", "Which ferry goes to the island?")).unwrap();
    store.append_event(message(&neighbour, "interleaved", 1, "user", "Another user, written in between.")).unwrap();
    let mut tool =
        EventInput::new(earlier.clone(), engram_types::EventKind::ToolCall, serde_json::json!({"tool": "t"}));
    tool.ts = Some(base_time() + minutes(1));
    store.append_event(tool).unwrap();
    let retried = store.append_event(message(&earlier, "question", 1, "user", "Which ferry goes to the island?"));
    assert_eq!(retried.unwrap_err().kind(), ErrorKind::Conflict);
    store.append_event(message(&earlier, "answer", 2, "assistant", "The yellow catamaran leaves at noon.")).unwrap();
    store.append_event(message(&earlier, "after", 3, "user", "Thanks!")).unwrap();
    store.append_event(message(&earlier, "later", 4, "user", "See you.")).unwrap();
    let mut question = BuildRequest::new(asking.clone(), Purpose::Responder)
        .with_now(base_time() + minutes(24 * 60))
        .with_query("yellow catamaran");
    question.policy.context_turns = 2;
    let packet = build(store, question.clone());
    let context: Vec<&str> = packet
        .explain
        .selected
        .iter()
        .filter(|item| item.context_of.as_deref() == Some("answer"))
        .map(|item| item.id.as_str())
        .collect();
    assert_eq!(
        std::collections::BTreeSet::from_iter(context),
        std::collections::BTreeSet::from(["before", "question", "after", "later"]),
        "{:?}",
        packet.explain
    );

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("context.jsonl");
    store.export_scope(&earlier, &path).unwrap();
    store.purge_user("t1", "u-context").unwrap();
    store.import_scope(&path).unwrap();
    assert_eq!(comparable(&packet), comparable(&build(store, question)));
}

/// An event is indexed with its speaker's name and its date: a question naming them finds it.
pub fn events_are_indexed_with_speaker_and_date(store: &dyn Store) {
    let earlier = earlier_session();
    let mut turn = message(&earlier, "lisa", 0, "user", "The slide at the park was the best part.");
    turn.payload =
        serde_json::json!({"role": "user", "text": "The slide at the park was the best part.", "name": "Lisa"});
    turn.ts = Some(base_time() - chrono::Duration::days(60));
    store.append_event(turn).unwrap();
    // Another session, so it cannot come as a context turn of Lisa's.
    store.append_event(message(&scope("t1", "u1", "s7", "r7"), "bart", 1, "user", "The swings were fun too.")).unwrap();
    let packet = build(store, request().with_query("what did Lisa say in September"));
    let item = selected(&packet, "lisa").expect("found by speaker and month");
    assert!(item.matched_terms.contains(&"lisa".to_string()), "{:?}", item.matched_terms);
    assert!(item.matched_terms.contains(&"septemb".to_string()), "{:?}", item.matched_terms);
    assert!(selected(&packet, "bart").is_none());
}

/// An aged episode (phase: 8 to 30 days) needs one match to enter: a place among the vector
/// source's most similar is one, so it enters by meaning; without vectors it stays out as
/// `weak_cue`.
pub fn a_vector_match_counts_for_an_aged_episode(store: &dyn Store) {
    let mut episode = super::records::episode("holiday", -12 * 24 * 60, "Booked the sleeper to Porto.");
    episode.embedding = Some(axis(0));
    store.append_episode(episode).unwrap();
    let question = request().with_query("where are we travelling").with_query_embedding(axis(0));
    let packet = build(store, question);
    let holiday = selected(&packet, "holiday").expect("the aged episode enters by its vector");
    assert!(holiday.sources.contains(&"vector".to_string()) && holiday.matched_terms.is_empty());
    let lexical = build(store, request().with_query("where are we travelling"));
    assert!(selected(&lexical, "holiday").is_none());
    assert!(
        lexical
            .explain
            .omitted
            .iter()
            .any(|item| item.id == "holiday" && item.reason == engram_types::OmissionReason::WeakCue),
        "{:?}",
        lexical.explain.omitted
    );
}
