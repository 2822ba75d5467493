use std::collections::{BTreeMap, BTreeSet};

use engram_store::{Store, StoreExt};
use engram_types::{
    Budget, BuildRequest, FactInput, FactWrite, ItemForm, OmissionReason, OutputFormat, Purpose, Section, TimeRange,
    Tokenizer, ValidationState, WorkingStatePatch,
};
use serde_json::json;

use super::records::insight;
use crate::support::{base_time, build, comparable, default_scope, message, minutes, scope};

fn request(purpose: Purpose) -> BuildRequest {
    BuildRequest::new(default_scope(), purpose).with_now(base_time() + minutes(24 * 60))
}

/// A fact about topic `index`, with enough words to cost real tokens.
fn numbered_fact(index: usize) -> FactInput {
    let mut fact = FactInput::new(default_scope(), format!("project.note_{index:04}"), json!(format!("note {index}")));
    fact.text = Some(format!(
        "Project note {index}: the team agreed to review module {index} before the quarterly planning meeting."
    ));
    fact.recorded_at = Some(base_time() + minutes(i64::try_from(index).unwrap_or(0)));
    fact.importance = Some(((index % 10) as f64) / 10.0);
    fact
}

pub fn same_now_gives_identical_packets(store: &dyn Store) {
    seed_conversation(store);
    let request = request(Purpose::Planner).with_query("what did we decide about the database migration");
    let first = build(store, request.clone());
    let second = build(store, request);
    assert_eq!(comparable(&first), comparable(&second));
    assert!(!first.explain.selected.is_empty());
}

/// 1,000 facts and max_tokens = 500: the packet fits, `meta.tokens` is the exact count of
/// `rendered`, every candidate not included is in `explain.omitted` with a reason, and the
/// section usage adds up to the tokens used.
pub fn budget_is_a_hard_limit_and_every_omission_is_explained(store: &dyn Store) {
    for chunk in (0..1000).collect::<Vec<_>>().chunks(100) {
        for index in chunk {
            store.upsert_fact(numbered_fact(*index)).unwrap();
        }
    }
    seed_conversation(store);
    let mut request = request(Purpose::Planner)
        .with_query("quarterly planning review module 7")
        .with_budget(Budget::with_max_tokens(500));
    request.policy.max_facts = 1000;
    let packet = build(store, request);
    assert!(packet.meta.tokens <= 500, "{} tokens", packet.meta.tokens);
    assert!(packet.meta.tokens > 400, "the budget is used, not wasted: {}", packet.meta.tokens);
    assert_eq!(packet.meta.tokens, engram_store::tokens::count_tokens(Tokenizer::O200kBase, &packet.rendered));
    assert_eq!(packet.budget_report.section_usage.values().sum::<u32>(), packet.budget_report.used_tokens);

    let selected: BTreeSet<&str> = packet.explain.selected.iter().map(|item| item.id.as_str()).collect();
    let omitted: BTreeSet<&str> = packet.explain.omitted.iter().map(|item| item.id.as_str()).collect();
    assert!(selected.is_disjoint(&omitted));
    for (section, count) in &packet.explain.counts.candidates {
        let selected_here = packet.explain.selected.iter().filter(|item| item.section == *section).count();
        let omitted_here = packet.explain.omitted.iter().filter(|item| item.section == *section).count();
        assert!(
            selected_here + omitted_here >= *count as usize,
            "{section}: {count} candidates, {selected_here} selected, {omitted_here} omitted"
        );
    }
    let fact_candidates = packet.explain.counts.candidates[&Section::Facts] as usize;
    assert!(fact_candidates > 50, "several candidate sources feed the facts section: {fact_candidates}");
    assert!(packet.explain.omitted.iter().any(|item| item.reason == OmissionReason::TotalBudget));
    let reasons: usize = packet.budget_report.omissions.values().map(|count| *count as usize).sum();
    assert_eq!(reasons, packet.explain.omitted.len());
    for item in &packet.long_term.facts {
        assert!(packet.rendered.contains(&item.text), "{} is in the packet but not rendered", item.id);
    }
}

/// A query term found in exactly one of 500 facts puts that fact in the packet, with the term
/// among its matched terms.
pub fn rare_query_term_finds_its_fact(store: &dyn Store) {
    for index in 0..500 {
        let mut fact = numbered_fact(index);
        if index == 137 {
            fact.text = Some("The staging cluster runs on a decommissioned Zanzibar server.".into());
        }
        store.upsert_fact(fact).unwrap();
    }
    let packet = build(store, request(Purpose::Responder).with_query("which server is zanzibar?"));
    let fact = packet.long_term.facts.iter().find(|fact| fact.fact_key.as_deref() == Some("project.note_0137"));
    assert!(fact.is_some(), "the only fact with the rare term is in the packet:\n{}", packet.rendered);
    let explained = packet.explain.selected.iter().find(|item| Some(&item.id) == fact.map(|fact| &fact.id)).unwrap();
    assert!(explained.matched_terms.contains(&"zanzibar".to_string()), "{:?}", explained.matched_terms);
    assert_eq!(explained.source, "lexical");
    assert_eq!(explained.rank, 1, "the match outranks 499 recent or important facts");
    assert!(explained.signals.relevance > 0.99);
    assert_eq!(packet.explain.query_terms, ["server", "zanzibar"]);
}

pub fn responder_never_sees_unvalidated_insights(store: &dyn Store) {
    store.append_insight(insight("guess", "the user probably wants a refund", ValidationState::Unvalidated)).unwrap();
    store.append_insight(insight("testing", "retrying helps with refunds", ValidationState::Testing)).unwrap();
    store.append_insight(insight("proven", "refunds need the order number", ValidationState::Validated)).unwrap();
    let responder = build(store, request(Purpose::Responder).with_query("refund"));
    let included: Vec<&str> = responder.insight.iter().map(|item| item.id.as_str()).collect();
    assert_eq!(included, ["proven"]);
    for id in ["guess", "testing"] {
        let omitted = responder.explain.omitted.iter().find(|item| item.id == id).unwrap();
        assert_eq!(omitted.reason, OmissionReason::PurposeGate);
        assert!(!responder.rendered.contains(id));
    }
    let planner = build(store, request(Purpose::Planner).with_query("refund"));
    assert_eq!(planner.insight.len(), 3, "the planner may weigh hypotheses");
}

pub fn expired_records_are_omitted_as_expired(store: &dyn Store) {
    let mut expired = FactInput::new(default_scope(), "promo.code", json!("SPRING"));
    expired.expires_at = Some(base_time());
    store.upsert_fact(expired).unwrap();
    store.upsert_fact(FactInput::new(default_scope(), "promo.channel", json!("email"))).unwrap();
    let packet = build(store, request(Purpose::Responder).with_query("promo code"));
    assert!(!packet.rendered.contains("SPRING"));
    let keys: Vec<_> = packet.long_term.facts.iter().filter_map(|fact| fact.fact_key.clone()).collect();
    assert_eq!(keys, ["promo.channel"]);
    let omitted = packet.explain.omitted.iter().find(|item| item.reason == OmissionReason::Expired).unwrap();
    assert_eq!(omitted.section, Section::Facts);
}

pub fn over_budget_items_degrade_before_dropping(store: &dyn Store) {
    let mut long = FactInput::new(default_scope(), "incident.summary", json!("long"));
    long.text = Some(format!(
        "Incident report: {}",
        "the payment gateway timed out under load and retries amplified it. ".repeat(12)
    ));
    long.importance = Some(1.0);
    store.upsert_fact(long).unwrap();
    let packet = build(
        store,
        request(Purpose::Planner).with_query("incident payment gateway").with_budget(Budget::with_max_tokens(60)),
    );
    let fact = &packet.long_term.facts[0];
    assert_ne!(fact.form, ItemForm::Full);
    let degradation = &packet.budget_report.degradations[0];
    assert_eq!(degradation.id, fact.id);
    assert!(degradation.tokens_saved > 0);
    assert!(packet.meta.tokens <= 60);

    let tiny = build(store, request(Purpose::Planner).with_query("incident").with_budget(Budget::with_max_tokens(12)));
    assert!(tiny.meta.tokens <= 12);
    let reference = tiny.long_term.facts.first().map(|fact| fact.form);
    assert!(reference.is_none() || reference == Some(ItemForm::Reference));
}

pub fn per_section_budget_is_respected(store: &dyn Store) {
    for index in 0..40 {
        store.upsert_fact(numbered_fact(index)).unwrap();
    }
    seed_conversation(store);
    let mut budget = Budget::with_max_tokens(4000);
    budget.per_section = BTreeMap::from([(Section::Facts, 120), (Section::ConversationWindow, 40)]);
    let packet = build(store, request(Purpose::Planner).with_query("planning").with_budget(budget));
    assert!(packet.budget_report.section_usage[&Section::Facts] <= 120);
    assert!(packet.budget_report.section_usage.get(&Section::ConversationWindow).copied().unwrap_or(0) <= 40);
    assert!(
        packet
            .explain
            .omitted
            .iter()
            .any(|item| item.reason == OmissionReason::SectionBudget && item.section == Section::Facts)
    );
    assert!(!packet.long_term.facts.is_empty());
}

/// With the total budget binding and the section's own just above it, a fact left out once the
/// total is used up is over the section's budget too when even its smallest form is: the reason
/// follows from the forms as measured (a short fact has no compact form to count).
pub fn section_budget_reason_holds_when_the_total_binds(store: &dyn Store) {
    for index in 0..12 {
        store.upsert_fact(numbered_fact(index)).unwrap();
    }
    let mut used_up = 0;
    for max_tokens in 40..160 {
        let mut budget = Budget::with_max_tokens(max_tokens);
        budget.per_section = BTreeMap::from([(Section::Facts, max_tokens + 1)]);
        let packet = build(store, request(Purpose::Planner).with_budget(budget));
        let left = max_tokens - packet.budget_report.used_tokens;
        let over_budget: Vec<_> = packet
            .explain
            .omitted
            .iter()
            .filter(|item| matches!(item.reason, OmissionReason::SectionBudget | OmissionReason::TotalBudget))
            .collect();
        // The section has one token more than the total left: every form of these facts (a
        // reference alone is several tokens) is over both when at most one is left.
        if left <= 1 && !over_budget.is_empty() {
            used_up += 1;
            for item in over_budget {
                assert_eq!(item.reason, OmissionReason::SectionBudget, "{max_tokens}: {} ({left} left)", item.id);
            }
        }
    }
    assert!(used_up > 0, "no budget was used up to its last token");
}

/// A conversation over two sessions: the first about a database migration, the second now.
fn seed_conversation(store: &dyn Store) {
    let earlier = scope("t1", "u1", "s0", "r0");
    let turns = [
        ("user", "We need to plan the database migration to Postgres next week."),
        ("assistant", "Understood. I will draft the migration plan with a rollback step."),
        ("user", "Remember that the billing tables must be migrated last."),
        ("assistant", "Noted: billing tables go last in the migration."),
    ];
    for (index, (role, text)) in turns.iter().enumerate() {
        let minute = i64::try_from(index).unwrap_or(0);
        store.append_event(message(&earlier, &format!("s0-{index}"), minute, role, text)).unwrap();
    }
    let now_session = default_scope();
    let current =
        [("user", "Good morning! Can you remind me where we are?"), ("assistant", "Sure, let me check our notes.")];
    for (index, (role, text)) in current.iter().enumerate() {
        let minute = 600 + i64::try_from(index).unwrap_or(0);
        store.append_event(message(&now_session, &format!("s1-{index}"), minute, role, text)).unwrap();
    }
}

pub fn recall_brings_back_earlier_sessions(store: &dyn Store) {
    seed_conversation(store);
    let packet = build(store, request(Purpose::Responder).with_query("which tables are migrated last?"));
    let recalled: Vec<&str> = packet.long_term.recall.iter().map(|item| item.id.as_str()).collect();
    let mut best_two = recalled.iter().take(2).copied().collect::<Vec<_>>();
    best_two.sort_unstable();
    assert_eq!(best_two, ["s0-2", "s0-3"], "the two turns about the last tables rank first: {recalled:?}");
    let explained = packet.explain.selected.iter().find(|item| item.id == "s0-2").unwrap();
    assert_eq!(explained.matched_terms.len(), 3, "{:?}", explained.matched_terms);
    assert!(
        recalled.iter().all(|id| id.starts_with("s0-")),
        "the current session is in the window, not recalled: {recalled:?}"
    );
    assert_eq!(packet.long_term.recall[0].session_id.as_deref(), Some("s0"));
    assert!(packet.rendered.contains("billing tables must be migrated last"));
}

/// With a query, recalled events past `max_recall` use the tokens the other sections leave,
/// best first, after those sections took theirs: a fact and an episode still come in; the
/// budget stays a hard limit and what does not fit is left out for the budget, not the cap.
/// A tool packet (its purpose's default) and `recall_fills_budget: false` stop at the cap.
pub fn recall_fills_the_budget_the_other_sections_leave(store: &dyn Store) {
    let earlier = scope("t1", "u1", "s-fill", "r-fill");
    let turns: Vec<_> = (0..20)
        .map(|index| {
            message(
                &earlier,
                &format!("trip-{index:02}"),
                index,
                "user",
                &format!("The lighthouse trip, note {index}."),
            )
        })
        .collect();
    store.append_events(turns).unwrap();
    let mut fact = FactInput::new(default_scope(), "trip.lighthouse", json!("booked"));
    fact.text = Some("The lighthouse trip is booked.".into());
    store.upsert_fact(fact).unwrap();
    let episode = super::records::episode("lighthouse", 60, "Planned the lighthouse trip.");
    store.append_episode(episode).unwrap();
    let asking = |purpose: Purpose, max_tokens: u32| {
        let mut request = request(purpose).with_query("lighthouse trip");
        request.policy.context_turns = 0;
        request.budget = Budget::with_max_tokens(max_tokens);
        request
    };
    let recalled = |packet: &engram_types::MemoryPacket| packet.long_term.recall.len();
    let capped = |packet: &engram_types::MemoryPacket| {
        packet
            .explain
            .omitted
            .iter()
            .filter(|item| item.section == Section::Recall && item.reason == OmissionReason::PolicyCap)
            .count()
    };

    let roomy = build(store, asking(Purpose::Responder, 4000));
    assert_eq!(recalled(&roomy), 20, "{:?}", roomy.explain.omitted);
    assert_eq!((roomy.long_term.facts.len(), roomy.long_term.episodes.len()), (1, 1));
    let ranks: Vec<u32> =
        roomy.explain.selected.iter().filter(|item| item.section == Section::Recall).map(|item| item.rank).collect();
    assert!(ranks.windows(2).all(|pair| pair[0] < pair[1]), "best first: {ranks:?}");
    let planner = build(store, asking(Purpose::Planner, 4000));
    assert_eq!(recalled(&planner), 20);

    let tight = build(store, asking(Purpose::Responder, 260));
    assert!(recalled(&tight) > 8 && recalled(&tight) < 20, "{}", recalled(&tight));
    assert_eq!((tight.long_term.facts.len(), tight.long_term.episodes.len()), (1, 1), "the fill comes last");
    assert_eq!(capped(&tight), 0, "left out for the budget, not the cap: {:?}", tight.explain.omitted);

    let tool = build(store, asking(Purpose::Tool, 4000));
    assert_eq!((recalled(&tool), capped(&tool)), (8, 12));
    let mut off = asking(Purpose::Responder, 4000);
    off.policy.recall_fills_budget = Some(false);
    let off = build(store, off);
    assert_eq!((recalled(&off), capped(&off)), (8, 12));
    let mut on = asking(Purpose::Tool, 4000);
    on.policy.recall_fills_budget = Some(true);
    assert_eq!(recalled(&build(store, on)), 20);
    let mut none = asking(Purpose::Responder, 4000);
    none.policy.max_recall = 0;
    let none = build(store, none);
    assert_eq!((recalled(&none), capped(&none)), (0, 20), "max_recall 0 turns recall off");
}

/// Short turns fill a large budget only from a pool that grows with it: when the first
/// `candidates_per_source` (32) word matches of a recall section that may fill the budget hold
/// fewer tokens than it, the section fetches up to one per 32 tokens of it. Long turns that fill
/// it already, no fill, or the sources off keep the pool as it is.
pub fn recall_pool_grows_with_the_budget(store: &dyn Store) {
    let earlier = scope("t1", "u1", "s-pool", "r-pool");
    // Fewer than `postings_per_term` (64): every turn is within the postings read.
    let short: Vec<_> = (0..60)
        .map(|index| {
            message(&earlier, &format!("pool-{index:02}"), index, "user", &format!("Harbour ferry, note {index}."))
        })
        .collect();
    store.append_events(short).unwrap();
    let filler = "the lantern festival schedule moved again and everyone asked about it ".repeat(12);
    let long: Vec<_> = (0..40)
        .map(|index| message(&earlier, &format!("long-{index:02}"), 100 + index, "user", &format!("{filler} {index}")))
        .collect();
    store.append_events(long).unwrap();
    let asking = |query: &str, max_tokens: u32| {
        let mut request = request(Purpose::Responder).with_query(query);
        request.policy.context_turns = 0;
        request.budget = Budget::with_max_tokens(max_tokens);
        request
    };
    let recalled = |request: BuildRequest| build(store, request).long_term.recall.len();
    assert_eq!(recalled(asking("harbour ferry", 1024)), 32, "a pool of candidates_per_source: all of it fits");
    assert_eq!(recalled(asking("harbour ferry", 4000)), 60, "a pool of 125 holds every matching turn");
    let mut wider = asking("harbour ferry", 1024);
    wider.policy.candidates_per_source = 40;
    assert_eq!(recalled(wider), 40, "the policy's pool when it is the larger");
    let mut capped = asking("harbour ferry", 4000);
    capped.policy.recall_fills_budget = Some(false);
    assert_eq!(recalled(capped), 8, "no fill: max_recall");
    let mut off = asking("harbour ferry", 4000);
    off.policy.candidates_per_source = 0;
    assert_eq!(recalled(off), 0, "0 turns the sources off");

    let packet = build(store, asking("lantern festival", 4000));
    let considered = packet.explain.selected.iter().filter(|item| item.section == Section::Recall).count()
        + packet.explain.omitted.iter().filter(|item| item.section == Section::Recall).count();
    assert_eq!(considered, 32, "32 long turns hold more than the budget: the pool stays");
}

pub fn conversation_window_is_in_every_purpose(store: &dyn Store) {
    seed_conversation(store);
    for purpose in [Purpose::Planner, Purpose::Tool, Purpose::Responder] {
        let packet = build(store, request(purpose));
        let window: Vec<&str> = packet.short_term.conversation_window.iter().map(|item| item.id.as_str()).collect();
        assert_eq!(window, ["s1-0", "s1-1"], "{purpose:?}");
        let first = packet.rendered.find("Good morning").unwrap();
        let second = packet.rendered.find("let me check").unwrap();
        assert!(first < second, "oldest turn first");
    }
    let mut off = request(Purpose::Planner);
    off.policy.conversation_window = 0;
    assert!(build(store, off).short_term.conversation_window.is_empty());
}

/// Turns written in one call share their millisecond: the window keeps the order they were
/// written in (question before answer), in the JSON list as in `rendered`.
pub fn conversation_window_keeps_write_order_within_a_millisecond(store: &dyn Store) {
    let session = scope("t1", "u1", "s-same-ms", "r-same-ms");
    let mut turns = Vec::new();
    for index in 0..3 {
        for (role, word) in [("user", "question"), ("assistant", "answer")] {
            let mut turn =
                message(&session, &format!("{word}-{index}"), 0, role, &format!("The {word} number {index}."));
            turn.ts = Some(base_time());
            turns.push(turn);
        }
    }
    store.append_events(turns).unwrap();
    for index in 3..6 {
        let mut turn = message(&session, &format!("single-{index}"), 0, "user", &format!("Single turn {index}."));
        turn.ts = Some(base_time());
        store.append_event(turn).unwrap();
    }
    let mut request = BuildRequest::new(session, Purpose::Responder).with_now(base_time() + minutes(1));
    request.policy.conversation_window = 9;
    let packet = build(store, request);
    let window: Vec<&str> = packet.short_term.conversation_window.iter().map(|item| item.id.as_str()).collect();
    let written = [
        "question-0",
        "answer-0",
        "question-1",
        "answer-1",
        "question-2",
        "answer-2",
        "single-3",
        "single-4",
        "single-5",
    ];
    assert_eq!(window, written);
    let listed: Vec<String> =
        store.conversation_window(&packet.meta.scope, 9).unwrap().into_iter().map(|event| event.event_id).collect();
    assert_eq!(listed, written);
}

pub fn policy_caps_and_time_window_are_explained(store: &dyn Store) {
    for index in 0..30 {
        store.upsert_fact(numbered_fact(index)).unwrap();
    }
    let mut capped = request(Purpose::Planner).with_query("project note");
    capped.policy.max_facts = 5;
    capped.policy.max_total_candidates = 20;
    let packet = build(store, capped);
    assert_eq!(packet.long_term.facts.len(), 5);
    let caps = packet.explain.omitted.iter().filter(|item| item.reason == OmissionReason::PolicyCap).count();
    assert_eq!(caps, 25, "10 beyond max_total_candidates and 15 beyond max_facts");

    let mut window = request(Purpose::Planner).with_query("project note");
    window.cues.time_range =
        Some(TimeRange { start: Some(base_time() + minutes(10)), end: Some(base_time() + minutes(19)) });
    let packet = build(store, window);
    assert_eq!(packet.long_term.facts.len(), 10);
    assert!(packet.explain.omitted.iter().any(|item| item.reason == OmissionReason::TimeWindow));

    let mut strict = request(Purpose::Planner).with_query("project note");
    strict.policy.min_score = 0.99;
    let packet = build(store, strict);
    assert!(packet.long_term.facts.is_empty());
    assert!(packet.explain.omitted.iter().all(|item| item.reason == OmissionReason::LowScore));
}

pub fn working_state_comes_first(store: &dyn Store) {
    seed_conversation(store);
    let mut patch = WorkingStatePatch::new(default_scope());
    patch.goal = Some("finish the migration plan".into());
    patch.open_loops = Some(vec!["confirm rollback window".into()]);
    store.patch_working_state(patch).unwrap();
    for purpose in [Purpose::Planner, Purpose::Tool, Purpose::Responder] {
        let packet = build(store, request(purpose));
        assert!(
            packet.rendered.starts_with("## Working state\n- goal: finish the migration plan\n"),
            "{}",
            packet.rendered
        );
        assert_eq!(packet.short_term.open_loops, ["confirm rollback window"]);
        assert_eq!(packet.explain.selected[0].section, Section::WorkingState);
    }
}

pub fn xml_and_cl100k_render_exactly(store: &dyn Store) {
    seed_conversation(store);
    for index in 0..20 {
        store.upsert_fact(numbered_fact(index)).unwrap();
    }
    let mut awkward = FactInput::new(default_scope(), "weird.text", json!("x"));
    awkward.text = Some("  spaces\n\n/slashes/ <tags> & \"quotes\" <|endoftext|> 日本語のテキスト   \t end ".into());
    store.upsert_fact(awkward).unwrap();
    for (format, tokenizer) in [
        (OutputFormat::Xml, Tokenizer::Cl100kBase),
        (OutputFormat::Markdown, Tokenizer::Cl100kBase),
        (OutputFormat::Xml, Tokenizer::O200kBase),
    ] {
        for max_tokens in [40, 150, 3000] {
            let mut budget = Budget::with_max_tokens(max_tokens);
            budget.tokenizer = tokenizer;
            let mut request = request(Purpose::Planner).with_query("weird text endoftext").with_budget(budget);
            request.format = format;
            let packet = build(store, request);
            assert!(packet.meta.tokens <= max_tokens);
            if format == OutputFormat::Xml && max_tokens == 3000 {
                assert!(packet.rendered.contains("&lt;tags&gt;"), "{}", packet.rendered);
            }
        }
    }
}

/// A small section is read whole instead of through its postings; the packet must be exactly
/// the one the postings path builds. `postings_per_term` below the section's size forces the
/// postings path, and no query term is in more documents than that, so nothing is capped.
pub fn small_sections_read_whole_give_the_postings_path_packet(store: &dyn Store) {
    for index in 0..20 {
        let mut fact = numbered_fact(index);
        if index % 7 == 0 {
            fact.text = Some(format!("Budget review {index}: the vendor contract renews in spring."));
            fact.tags = vec!["finance".into()];
        }
        store.upsert_fact(fact).unwrap();
    }
    store.append_insight(insight("rejected", "vendor contract is cursed", ValidationState::Rejected)).unwrap();
    store.append_insight(insight("kept", "vendor prefers email", ValidationState::Validated)).unwrap();
    let mut whole = request(Purpose::Planner).with_query("vendor contract budget");
    whole.cues.tags = vec!["finance".into()];
    let mut postings = whole.clone();
    postings.policy.postings_per_term = 4;
    let whole = build(store, whole);
    let postings = build(store, postings);
    assert!(postings.explain.capped_terms.is_empty());
    assert_eq!(comparable(&whole), comparable(&postings));
    let matched = whole
        .explain
        .selected
        .iter()
        .find(|item| item.id.starts_with("fact") || item.matched_terms.contains(&"vendor".to_string()));
    assert!(matched.is_some_and(|item| item.sources.contains(&"lexical".to_string())), "{:?}", whole.explain.selected);
}

/// The user's `home.city`: Lisbon (`city-1`) at `base_time()`, then Berlin (`city-2`) ten
/// minutes later, superseding it. Returns Berlin's write.
fn move_from_lisbon_to_berlin(store: &dyn Store) -> FactWrite {
    let mut lisbon = FactInput::new(default_scope(), "home.city", json!("Lisbon"));
    lisbon.fact_id = Some("city-1".into());
    lisbon.recorded_at = Some(base_time());
    store.upsert_fact(lisbon).unwrap();
    let mut berlin = FactInput::new(default_scope(), "home.city", json!("Berlin"));
    berlin.fact_id = Some("city-2".into());
    berlin.recorded_at = Some(base_time() + minutes(10));
    store.upsert_fact(berlin).unwrap()
}

/// A turn written in the same millisecond as the change that outdates it (a bulk append and the
/// upsert right after it often share one) is marked outdated, as one written earlier is.
pub fn a_turn_of_the_changes_millisecond_is_outdated_by_it(store: &dyn Store) {
    let earlier = scope("t1", "u1", "s0", "r0");
    store.append_event(message(&earlier, "same-ms", 10, "user", "I live in Lisbon, near the river.")).unwrap();
    move_from_lisbon_to_berlin(store);

    let packet = build(store, request(Purpose::Responder).with_query("Where do I live, near the river?"));
    let turn = packet.explain.selected.iter().find(|item| item.id == "same-ms").expect("the turn is recalled");
    assert_eq!(turn.outdated_by.as_deref(), Some("city-2"), "{}", packet.rendered);
}

/// After the user moved, the new fact says since when it holds and what it replaced; the
/// explain carries the replaced version; recalled turns that still say the old city are marked
/// outdated and rank below an equally relevant turn that is still true; the prompt names no
/// internal ids. A change older than `policy.replaced_within_days`, or a replaced version that
/// was deleted, shows no "was".
pub fn a_changed_fact_says_what_it_replaced_and_outdates_turns(store: &dyn Store) {
    let earlier = scope("t1", "u1", "s0", "r0");
    let turns = [
        ("user", "I live in Lisbon, near the river."),
        ("assistant", "Since you live in Lisbon, the tram 28 is the easiest way to the office."),
        ("user", "I moved from Lisbon to Berlin this week."),
        ("user", "The office near the river has a good tram connection too."),
    ];
    for (index, (role, text)) in turns.iter().enumerate() {
        store
            .append_event(message(&earlier, &format!("s0-{index}"), i64::try_from(index).unwrap(), role, text))
            .unwrap();
    }
    let write = move_from_lisbon_to_berlin(store);
    assert_eq!(write.fact.supersedes.as_deref(), Some("city-1"));
    let history = store.fact_history(&default_scope(), "home.city").unwrap();
    assert_eq!(history[1].supersedes.as_deref(), Some("city-1"), "the link is stored, not only returned");

    let ask = request(Purpose::Responder).with_query("Which tram is the easiest way to the offices?");
    let packet = build(store, ask.clone());
    let date = (base_time() + minutes(10)).format("%Y-%m-%d");
    let line = format!("- [since {date}; was Lisbon] home.city: Berlin\n");
    assert!(packet.rendered.contains(&line), "{}", packet.rendered);
    let fact = packet.explain.selected.iter().find(|item| item.id == "city-2").unwrap();
    let replaced = fact.replaced.as_ref().expect("the replaced version is explained");
    assert_eq!((replaced.fact_id.as_str(), &replaced.value), ("city-1", &json!("Lisbon")));
    assert_eq!(replaced.valid_to, Some(base_time() + minutes(10)));
    assert_eq!((fact.kind.as_str(), fact.text.as_str()), ("fact", "home.city: Berlin"));

    let explained = |id: &str| packet.explain.selected.iter().find(|item| item.id == id);
    let outdated = explained("s0-1").expect("the tram turn is recalled");
    assert_eq!(outdated.outdated_by.as_deref(), Some("city-2"));
    assert!(packet.rendered.contains("assistant; outdated] Since you live in Lisbon"), "{}", packet.rendered);
    assert!(outdated.matched_terms.contains(&"offic".to_string()), "{:?}", outdated.matched_terms);
    assert!(outdated.matched_words.contains(&"offices".to_string()), "{:?}", outdated.matched_words);
    let moved = explained("s0-2").expect("the move is recalled");
    assert_eq!(moved.outdated_by, None, "a turn naming the new value too is not outdated");
    let still_true = explained("s0-3").expect("the river turn is recalled");
    assert_eq!(still_true.outdated_by, None);
    assert!(still_true.rank < outdated.rank, "{} vs {}", still_true.rank, outdated.rank);
    for id in ["city-1", "city-2", "s0-1", "s0-2"] {
        assert!(!packet.rendered.contains(id), "{id} in {}", packet.rendered);
    }

    let mut long_after = ask.clone();
    long_after.now = Some(base_time() + chrono::Duration::days(91));
    let later = build(store, long_after);
    assert!(later.rendered.contains(&format!("- [since {date}] home.city: Berlin\n")), "{}", later.rendered);
    assert!(later.explain.selected.iter().all(|item| item.replaced.is_none() && item.outdated_by.is_none()));

    let mut ids = ask;
    ids.show_ids = true;
    ids.format = OutputFormat::Xml;
    let tooled = build(store, ids);
    assert!(tooled.rendered.contains("<item id=\"city-2\" form=\"full\">"), "{}", tooled.rendered);
}
