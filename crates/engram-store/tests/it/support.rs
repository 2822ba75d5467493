use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use engram_store::{Store, build_memory_packet};
use engram_types::{BuildRequest, EventInput, EventKind, MemoryPacket, Scope};
use serde_json::json;

/// `ENGRAM_LONG_TESTS=1` (`make test-long`, as for the Python reliability tests): the long
/// variants of the tests that have one.
pub fn long_tests() -> bool {
    std::env::var("ENGRAM_LONG_TESTS").is_ok_and(|value| value == "1")
}

/// A fixed instant, so packets are reproducible.
pub fn base_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z").map(|time| time.with_timezone(&Utc)).unwrap_or_default()
}

pub fn minutes(count: i64) -> Duration {
    Duration::minutes(count)
}

pub fn scope(tenant: &str, user: &str, session: &str, run: &str) -> Scope {
    Scope {
        tenant_id: tenant.into(),
        user_id: user.into(),
        agent_id: "agent".into(),
        session_id: session.into(),
        run_id: run.into(),
    }
}

pub fn default_scope() -> Scope {
    scope("t1", "u1", "s1", "r1")
}

/// A message event with an explicit id and time.
pub fn message(scope: &Scope, id: &str, minute: i64, role: &str, text: &str) -> EventInput {
    let mut event = EventInput::new(scope.clone(), EventKind::Message, json!({"role": role, "text": text}));
    event.event_id = Some(id.into());
    event.ts = Some(base_time() + minutes(minute));
    event
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| match jsonschema::validator_for(&engram_types::packet_schema()) {
        Ok(validator) => validator,
        Err(error) => panic!("the packet schema does not compile: {error}"),
    })
}

/// Builds a packet and checks it against the packet's JSON Schema and its own invariants:
/// every packet the suite builds goes through here.
pub fn build(store: &dyn Store, request: BuildRequest) -> MemoryPacket {
    let packet = match build_memory_packet(store, request) {
        Ok(packet) => packet,
        Err(error) => panic!("build_memory_packet failed: {error}"),
    };
    check_packet(&packet);
    packet
}

pub fn check_packet(packet: &MemoryPacket) {
    let value = serde_json::to_value(packet).unwrap_or_default();
    let errors: Vec<String> =
        validator().iter_errors(&value).map(|error| format!("{error} at {}", error.instance_path())).collect();
    assert!(errors.is_empty(), "packet violates its JSON Schema: {errors:?}");
    let tokenizer = match packet.meta.tokenizer.as_str() {
        "cl100k_base" => engram_types::Tokenizer::Cl100kBase,
        _ => engram_types::Tokenizer::O200kBase,
    };
    assert_eq!(
        packet.meta.tokens,
        engram_store::tokens::count_tokens(tokenizer, &packet.rendered),
        "meta.tokens is not the count of rendered"
    );
    assert!(packet.meta.tokens <= packet.budget_report.max_tokens, "over budget");
    assert_eq!(packet.budget_report.used_tokens, packet.meta.tokens);
    assert_eq!(packet.budget_report.section_usage.values().sum::<u32>(), packet.budget_report.used_tokens);
    check_explain_counts(packet);
}

/// Each candidate is reported once (selected or omitted, never twice in a section), and per
/// section the counts add up: candidates = selected + omitted = the items listed.
fn check_explain_counts(packet: &MemoryPacket) {
    let explain = &packet.explain;
    let mut reported = std::collections::BTreeSet::new();
    let outcomes = explain
        .selected
        .iter()
        .map(|item| (item.section, item.id.as_str()))
        .chain(explain.omitted.iter().map(|item| (item.section, item.id.as_str())));
    for (section, id) in outcomes {
        assert!(reported.insert((section, id)), "{id} is reported twice in {section:?}: {explain:?}");
    }
    let counts = &explain.counts;
    let sections: std::collections::BTreeSet<_> =
        reported.iter().map(|(section, _)| *section).chain(counts.candidates.keys().copied()).collect();
    for section in sections {
        let count =
            |map: &std::collections::BTreeMap<engram_types::Section, u32>| map.get(&section).copied().unwrap_or(0);
        let listed = reported.iter().filter(|(listed, _)| *listed == section).count();
        assert_eq!(
            count(&counts.candidates),
            count(&counts.selected) + count(&counts.omitted),
            "{section:?}: {counts:?}"
        );
        assert_eq!(count(&counts.candidates) as usize, listed, "{section:?}: counts and lists differ: {counts:?}");
    }
}

/// The packet as JSON with the wall-clock timings zeroed, for byte comparisons.
pub fn comparable(packet: &MemoryPacket) -> String {
    let mut packet = packet.clone();
    packet.explain.timings_us = engram_types::StageTimings::default();
    serde_json::to_string_pretty(&packet).unwrap_or_default()
}

/// Counts the statements a store sends to its server while `work` runs on this thread (the
/// TRACE events of target `engram_store::statements`), with what `work` returned.
pub fn count_statements<T>(work: impl FnOnce() -> T) -> (usize, T) {
    let counter = std::sync::Arc::new(StatementCounter::default());
    let dispatch = tracing::Dispatch::from(std::sync::Arc::clone(&counter));
    let value = tracing::dispatcher::with_default(&dispatch, work);
    (counter.statements.load(std::sync::atomic::Ordering::Relaxed), value)
}

/// A `tracing` subscriber that counts statement events and ignores everything else.
#[derive(Default)]
struct StatementCounter {
    statements: std::sync::atomic::AtomicUsize,
}

const STATEMENTS: &str = "engram_store::statements";

impl tracing::Subscriber for StatementCounter {
    fn register_callsite(&self, _: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
        // Asked again at each event: other threads run without this subscriber.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == STATEMENTS
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == STATEMENTS {
            self.statements.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}
