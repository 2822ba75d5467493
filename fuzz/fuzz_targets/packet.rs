//! The packet builder over small random stores: conversations in a few sessions, facts, random
//! queries, budgets, purposes, formats and tokenizers. Every packet respects its budget
//! (`meta.tokens` is the exact count of `rendered`, at most `max_tokens`, and equals the
//! sections' usage), and every candidate is reported exactly once, selected or omitted.
//! A request the store refuses is `InvalidInput`, never a panic.

#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use arbitrary::Arbitrary;
use chrono::{DateTime, Duration, Utc};
use engram_store::tokens::count_tokens;
use engram_store::{ErrorKind, InMemoryStore, Store, StoreExt, build_memory_packet};
use engram_types::{
    Budget, BuildRequest, EventInput, EventKind, FactInput, MemoryPacket, OutputFormat, Purpose, Scope, Section,
    Tokenizer,
};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

#[derive(Debug, Arbitrary)]
struct Turn {
    session: u8,
    assistant: bool,
    minutes: u16,
    text: String,
}

#[derive(Debug, Arbitrary)]
struct Input {
    turns: Vec<Turn>,
    facts: Vec<(u8, String)>,
    query: Option<String>,
    max_tokens: u16,
    purpose: u8,
    xml: bool,
    cl100k: bool,
    now_minutes: u16,
}

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

fn scope(session: u8) -> Scope {
    Scope {
        tenant_id: "t".into(),
        user_id: "u".into(),
        agent_id: "a".into(),
        session_id: format!("s{}", session % 3),
        run_id: "r".into(),
    }
}

fn check(packet: &MemoryPacket, tokenizer: Tokenizer) {
    assert_eq!(packet.meta.tokens, count_tokens(tokenizer, &packet.rendered), "meta.tokens is not the count");
    assert!(packet.meta.tokens <= packet.budget_report.max_tokens, "over budget");
    assert_eq!(packet.budget_report.used_tokens, packet.meta.tokens);
    assert_eq!(packet.budget_report.section_usage.values().sum::<u32>(), packet.budget_report.used_tokens);
    let explain = &packet.explain;
    let mut reported = BTreeSet::new();
    let outcomes = explain
        .selected
        .iter()
        .map(|item| (item.section, item.id.as_str()))
        .chain(explain.omitted.iter().map(|item| (item.section, item.id.as_str())));
    for (section, id) in outcomes {
        assert!(reported.insert((section, id)), "{id} reported twice in {section:?}");
    }
    let count = |map: &BTreeMap<Section, u32>, section: Section| map.get(&section).copied().unwrap_or(0);
    let sections: BTreeSet<Section> =
        reported.iter().map(|(section, _)| *section).chain(explain.counts.candidates.keys().copied()).collect();
    for section in sections {
        let listed = reported.iter().filter(|(listed, _)| *listed == section).count();
        let candidates = count(&explain.counts.candidates, section);
        assert_eq!(candidates, count(&explain.counts.selected, section) + count(&explain.counts.omitted, section));
        assert_eq!(candidates as usize, listed, "{section:?}: counts and lists differ");
    }
}

fuzz_target!(|input: Input| {
    let store = InMemoryStore::new();
    for (index, turn) in input.turns.iter().take(24).enumerate() {
        let role = if turn.assistant { "assistant" } else { "user" };
        let mut event =
            EventInput::new(scope(turn.session), EventKind::Message, json!({"role": role, "text": turn.text}));
        event.event_id = Some(format!("e{index}"));
        event.ts = Some(start() + Duration::minutes(i64::from(turn.minutes)));
        drop(store.append_events(vec![event]));
    }
    for (key, value) in input.facts.iter().take(8) {
        drop(store.upsert_fact(FactInput::new(scope(0), format!("fact.{}", key % 4), json!(value))));
    }
    let purpose = [Purpose::Planner, Purpose::Tool, Purpose::Responder][usize::from(input.purpose % 3)];
    let tokenizer = if input.cl100k { Tokenizer::Cl100kBase } else { Tokenizer::O200kBase };
    let mut budget = Budget::with_max_tokens(u32::from(input.max_tokens));
    budget.tokenizer = tokenizer;
    let mut request = BuildRequest::new(scope(0), purpose)
        .with_now(start() + Duration::minutes(i64::from(input.now_minutes)))
        .with_budget(budget);
    if let Some(query) = &input.query {
        request = request.with_query(query.clone());
    }
    if input.xml {
        request.format = OutputFormat::Xml;
    }
    match build_memory_packet(&store, request) {
        Ok(packet) => check(&packet, tokenizer),
        Err(error) => assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}"),
    }
});
