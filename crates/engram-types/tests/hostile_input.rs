#![expect(clippy::panic, reason = "a test fails loudly on the first surprise")]

//! Hostile input (issue 8): every type the public API parses, fed arbitrary JSON, arbitrary
//! text and valid requests with one thing broken. Parsing and validation never panic, never
//! overflow the stack, and every rejection names a field: the one that was broken, or a field
//! on its path.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use engram_types::{
    BuildRequest, ConsolidateRequest, Cues, Episode, EpisodeInput, Event, EventInput, EventQuery, Fact, FactInput,
    ForgetRequest, Insight, InsightInput, InsightUpdate, Limits, ListQuery, Policy, Procedure, ProcedureInput,
    PromoteInsight, Scope, ShortTermState, ShortTermUpdate, Summary, SweepRequest, ValidationError, WorkingState,
    WorkingStatePatch, check_id, from_json_value, parse_json, parse_json_value,
};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, RngSeed};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// 256 cases per property, from a fixed seed so every run tries the same inputs
/// (`PROPTEST_CASES` and `PROPTEST_RNG_SEED` override both), and no regression files written
/// into the source tree: a failure prints its minimal input instead.
fn config() -> Config {
    let mut config = Config { failure_persistence: None, ..Config::default() };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(0x5eed_0008);
    }
    config
}

/// Parsing, then the validation the store runs before it writes (or reads) anything.
trait Checked: DeserializeOwned {
    fn check(&self) -> Result<(), ValidationError>;
}

macro_rules! checked_with_limits {
    ($($type:ty),* $(,)?) => {
        $(impl Checked for $type {
            fn check(&self) -> Result<(), ValidationError> {
                self.validate(&Limits::default())
            }
        })*
    };
}

checked_with_limits!(
    EventInput,
    FactInput,
    EpisodeInput,
    ProcedureInput,
    InsightInput,
    InsightUpdate,
    WorkingStatePatch,
    ShortTermUpdate,
    BuildRequest,
    ForgetRequest,
    PromoteInsight,
    ConsolidateRequest,
    Summary,
);

macro_rules! checked_by {
    ($($type:ty => |$value:ident| $body:expr),* $(,)?) => {
        $(impl Checked for $type {
            fn check(&self) -> Result<(), ValidationError> {
                let $value = self;
                $body
            }
        })*
    };
}

const MAX_ID: usize = 128;

// Reads and imports check what the store checks: the scope of a read, the scope and id of an
// imported record (`prepare::restored`).
checked_by!(
    Limits => |limits| limits.validate(),
    Policy => |policy| policy.validate(),
    engram_types::Budget => |budget| budget.validate(),
    // `Scope::validate` names fields as inside a request (`scope.user_id`); a bare scope has no prefix.
    Scope => |scope| scope.validate(MAX_ID).map_err(|error| {
        let field = error.field.strip_prefix("scope.").unwrap_or(&error.field).to_string();
        ValidationError::new(field, error.problem)
    }),
    EventQuery => |query| query.scope.validate(MAX_ID),
    ListQuery => |query| query.scope.validate(MAX_ID),
    SweepRequest => |_request| Ok(()),
    Cues => |_cues| Ok(()),
    Event => |event| {
        event.scope.validate(MAX_ID)?;
        check_id("event_id", &event.event_id, MAX_ID)
    },
    Fact => |fact| {
        fact.scope.validate(MAX_ID)?;
        check_id("fact_id", &fact.fact_id, MAX_ID)
    },
    Episode => |episode| {
        episode.scope.validate(MAX_ID)?;
        check_id("episode_id", &episode.episode_id, MAX_ID)
    },
    Procedure => |procedure| {
        procedure.scope.validate(MAX_ID)?;
        check_id("procedure_id", &procedure.procedure_id, MAX_ID)
    },
    Insight => |insight| {
        insight.scope.validate(MAX_ID)?;
        check_id("insight_id", &insight.insight_id, MAX_ID)
    },
    WorkingState => |_state| Ok(()),
    ShortTermState => |_state| Ok(()),
);

fn by_text<T: Checked>(text: &str) -> Result<(), ValidationError> {
    parse_json::<T>(text)?.check()
}

fn by_value<T: Checked>(value: Value) -> Result<(), ValidationError> {
    from_json_value::<T>(value)?.check()
}

// ---------------------------------------------------------------------------------------------
// Valid requests and records, every optional field given, so mutations reach every field.

const TIME: &str = "2026-11-01T12:00:00Z";
const LATER: &str = "2026-11-02T12:00:00.250Z";

fn scope() -> Value {
    json!({"tenant_id": "acme", "user_id": "u1", "agent_id": "support", "session_id": "s1", "run_id": "r1"})
}

fn policy() -> Value {
    json!({
        "policy_id": "strict", "max_total_candidates": 200, "max_facts": 20, "max_episodes": 5,
        "max_procedures": 5, "max_insights": 5, "max_recall": 8, "conversation_window": 12,
        "candidates_per_source": 32, "postings_per_term": 64, "min_score": 0.1,
        "half_life_hours": {"facts": 720.0, "episodes": 168, "procedures": 2160, "recall": 168, "insights": 24},
        "weights": {"relevance": 0.35, "recency": 0.2, "importance": 0.2, "confidence": 0.1, "cue": 0.15},
        "max_active_facts": 5000
    })
}

fn budget() -> Value {
    json!({"max_tokens": 2000, "per_section": {"facts": 200, "episodes": 100}, "tokenizer": "cl100k_base"})
}

fn limits() -> Value {
    json!({
        "max_id_bytes": 128, "max_payload_bytes": 262144, "max_payload_depth": 32, "max_labels": 64,
        "max_text_bytes": 65536, "max_batch": 10000, "max_sources": 10000
    })
}

fn event_input() -> Vec<Value> {
    vec![json!({
        "scope": scope(), "event_id": "e1", "ts": TIME, "kind": "message",
        "payload": {"role": "user", "text": "book a table in Lisbon", "nested": {"list": [1, 2.5, {"x": null}]}},
        "tags": ["travel", "food"], "entities": ["Lisbon"], "importance": 0.5, "expires_at": LATER
    })]
}

fn fact_input() -> Vec<Value> {
    vec![json!({
        "scope": scope(), "fact_key": "user.diet", "value": {"diet": "vegetarian", "since": [2020]},
        "text": "diet: vegetarian", "fact_id": "f1", "confidence": 0.9, "importance": 0.4,
        "sources": ["e1", "e2"], "tags": ["food"], "entities": ["user"], "valid_from": TIME,
        "expires_at": LATER, "scope_level": "agent", "recorded_at": TIME
    })]
}

fn episode_input() -> Vec<Value> {
    vec![json!({
        "scope": scope(), "episode_id": "ep1", "start_ts": TIME, "end_ts": LATER,
        "summary": "planned the trip", "highlights": ["chose Lisbon", "vegetarian"], "tags": ["travel"],
        "entities": ["Lisbon"], "sources": ["e1"], "compression_level": "phase", "importance": 0.7,
        "scope_level": "tenant", "expires_at": LATER
    })]
}

fn procedure_input() -> Vec<Value> {
    vec![json!({
        "scope": scope(), "procedure_id": "p1", "task_type": "booking", "title": "Book a table",
        "steps": ["find a place", "call"], "content": "prefer vegetarian places", "priority": 0.6,
        "applicability": "restaurant bookings", "tags": ["food"], "entities": ["Lisbon"],
        "scope_level": "user", "updated_at": TIME, "expires_at": LATER
    })]
}

fn insight_input() -> Vec<Value> {
    vec![json!({
        "scope": scope(), "insight_id": "i1", "kind": "strategy", "text": "the user answers email faster",
        "confidence": 0.6, "validation": "testing", "tags": ["contact"], "entities": ["email"],
        "sources": ["e1"], "created_at": TIME, "expires_at": LATER
    })]
}

fn insight_update() -> Vec<Value> {
    vec![json!({
        "scope": scope(), "insight_id": "i1", "validation": "validated", "confidence": 0.8,
        "expires_at": LATER, "promoted_to": "fact:f1"
    })]
}

fn working_state_patch() -> Vec<Value> {
    vec![json!({
        "scope": scope(), "expected_version": 3, "goal": "book dinner", "plan": ["search", "book"],
        "slots": {"city": "Lisbon", "party": 2, "drop": null}, "constraints": ["vegetarian"],
        "decisions": ["Lisbon"], "risks": ["fully booked"], "open_loops": ["time?"],
        "tool_evidence": ["search: 3 results"], "updated_at": TIME, "ended_at": LATER
    })]
}

fn short_term_update() -> Vec<Value> {
    vec![json!({
        "scope": scope(), "rolling_summary": "talking about dinner", "key_quotes": ["I'm vegetarian"],
        "updated_at": TIME, "consolidated_until": TIME
    })]
}

fn build_request() -> Vec<Value> {
    vec![json!({
        "scope": scope(), "purpose": "planner", "task_type": "booking", "query": "restaurant in Lisbon",
        "cues": {"tags": ["food"], "entities": ["Lisbon"], "keywords": ["dinner"],
                 "time_range": {"start": TIME, "end": LATER}},
        "policy": policy(), "budget": budget(), "now": LATER, "format": "xml"
    })]
}

fn event_query() -> Vec<Value> {
    vec![json!({
        "scope": scope(), "limit": 50, "before": LATER, "after": TIME, "kinds": ["message", "tool_call"],
        "session_wide": true
    })]
}

fn list_query() -> Vec<Value> {
    vec![json!({"scope": scope(), "limit": 10, "include_inactive": true})]
}

fn forget_request() -> Vec<Value> {
    vec![
        json!({"scope": scope(), "before": TIME, "tags": ["promo"], "kinds": ["event", "fact"], "session_only": false}),
    ]
}

fn sweep_request() -> Vec<Value> {
    vec![json!({"now": TIME, "retention": {"max_event_age_days": 30, "max_events_per_session": 500}})]
}

fn promote_insight() -> Vec<Value> {
    vec![
        json!({
            "scope": scope(), "insight_id": "i1", "to": "fact", "fact_key": "contact.channel",
            "value": {"channel": "email"}, "scope_level": "agent"
        }),
        json!({
            "scope": scope(), "insight_id": "i1", "to": "procedure", "task_type": "follow_up",
            "title": "Follow up by email", "steps": ["write", "send"], "scope_level": "user"
        }),
    ]
}

fn consolidate_request() -> Vec<Value> {
    vec![json!({"scope": scope(), "window": 12, "max_events": 5000, "min_events": 1, "now": TIME})]
}

fn summary() -> Vec<Value> {
    vec![json!({
        "summary": "dinner planning", "highlights": ["Lisbon"], "key_quotes": ["I'm vegetarian"],
        "tags": ["food"], "entities": ["Lisbon"]
    })]
}

fn event() -> Vec<Value> {
    vec![json!({
        "event_id": "e1", "scope": scope(), "ts": TIME, "kind": "tool_call", "payload": {"tool": "search"},
        "role": "tool", "text": "search", "tags": ["t"], "entities": [], "importance": 0.5, "token_count": 1,
        "expires_at": null
    })]
}

fn fact() -> Vec<Value> {
    vec![json!({
        "fact_id": "f1", "scope": scope(), "scope_level": "user", "fact_key": "k", "value": [1, "two"],
        "text": "k: two", "status": "superseded", "valid_from": TIME, "valid_to": LATER, "recorded_at": TIME,
        "confidence": 0.8, "importance": 0.5, "sources": ["e1"], "tags": [], "entities": [],
        "expires_at": null, "superseded_by": "f2", "token_count": 3
    })]
}

fn episode() -> Vec<Value> {
    vec![json!({
        "episode_id": "ep1", "scope": scope(), "scope_level": "agent", "start_ts": TIME, "end_ts": LATER,
        "summary": "s", "highlights": [], "tags": [], "entities": [], "sources": [],
        "compression_level": "theme", "importance": 0.5, "token_count": 1, "expires_at": LATER
    })]
}

fn procedure() -> Vec<Value> {
    vec![json!({
        "procedure_id": "p1", "scope": scope(), "scope_level": "tenant", "task_type": "t", "title": "T",
        "steps": ["a"], "content": null, "text": "T 1. a", "priority": 0.5, "applicability": null,
        "tags": [], "entities": [], "use_count": 7, "updated_at": TIME, "token_count": 4, "expires_at": null
    })]
}

fn insight() -> Vec<Value> {
    vec![json!({
        "insight_id": "i1", "scope": scope(), "kind": "pattern", "text": "x", "confidence": 0.5,
        "validation": "rejected", "tags": [], "entities": [], "sources": [], "created_at": TIME,
        "expires_at": null, "token_count": 1, "promoted_to": "procedure:p1"
    })]
}

fn working_state() -> Vec<Value> {
    vec![json!({
        "goal": "g", "plan": ["a"], "slots": {"k": [1]}, "constraints": [], "decisions": [], "risks": [],
        "open_loops": [], "tool_evidence": [], "version": 4, "updated_at": TIME, "ended_at": null
    })]
}

fn short_term_state() -> Vec<Value> {
    vec![json!({"rolling_summary": "r", "key_quotes": ["q"], "updated_at": TIME, "consolidated_until": null})]
}

// ---------------------------------------------------------------------------------------------
// Generators.

/// Field names of every type above (and words of payloads), so random objects look like requests.
/// Space separated, read with [`field_names`].
const FIELD_NAMES: &str = concat!(
    "scope tenant_id user_id agent_id session_id run_id event_id ts kind payload tags entities importance ",
    "expires_at fact_key value text fact_id confidence sources valid_from valid_to scope_level ",
    "recorded_at episode_id start_ts end_ts summary highlights compression_level procedure_id task_type ",
    "title steps content priority applicability updated_at insight_id validation created_at promoted_to ",
    "expected_version goal plan slots constraints decisions risks open_loops tool_evidence ended_at ",
    "rolling_summary key_quotes consolidated_until purpose query cues keywords time_range start end ",
    "policy budget now format policy_id max_total_candidates max_facts max_episodes max_procedures ",
    "max_insights max_recall conversation_window candidates_per_source postings_per_term min_score ",
    "half_life_hours facts episodes procedures recall insights weights relevance recency cue ",
    "max_active_facts max_tokens per_section tokenizer limit before after kinds session_wide ",
    "include_inactive session_only retention max_event_age_days max_events_per_session to window ",
    "max_events min_events ",
    "max_id_bytes max_payload_bytes max_payload_depth max_labels max_text_bytes max_batch max_sources ",
    "role message tool args arguments result status superseded_by token_count use_count version ",
    "working_state rolling_summary key_quotes type"
);

/// Enum spellings, so random values sometimes pass a variant check and go deeper.
const ENUM_WORDS: &str = concat!(
    "planner tool responder markdown xml message tool_call tool_result state_patch observation system ",
    "user agent tenant raw phase milestone theme hypothesis strategy pattern unvalidated testing ",
    "validated rejected active superseded disputed deprecated event fact episode procedure insight ",
    "o200k_base cl100k_base working_state conversation_window rolling_summary key_quotes Planner FACT"
);

/// Control characters, bidi tricks, combining marks, SQL and FTS syntax, the store's own key
/// separator: what a hostile client would try in an id or a text.
const HOSTILE_STRINGS: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "a\u{0}b",
    "\u{1f}",
    "u\u{1f}u1\u{1f}support",
    "line\nbreak",
    "\t",
    "\r\n",
    "\u{7f}",
    "\u{85}",
    "\u{202e}evil",
    "\u{200b}",
    "\u{feff}",
    "e\u{301}",
    "🧠🗂️",
    "東京",
    "'; DROP TABLE events; --",
    "\" OR 1=1 --",
    "\"x\" OR y",
    "*",
    "NEAR(alpha beta)",
    "tenant_id:acme",
    "a AND NOT b",
    "%",
    "_",
    "\\",
    "${jndi:ldap://x}",
    "{{template}}",
    "null",
    "true",
    "1e400",
    "-0",
];

const TIMES: &[&str] = &[
    TIME,
    LATER,
    "2026-11-01T12:00:00.123456789+05:30",
    "1970-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999Z",
    "+262143-12-31T23:59:59Z",
    "-262143-01-01T00:00:00Z",
    "+262144-01-01T00:00:00Z",
    "2016-12-31T23:59:60Z",
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-11-01",
    "2026-11-01T12:00:00",
    "yesterday",
];

/// `FIELD_NAMES` split once: strategies are rebuilt for every case (recursive ones for every
/// level), so splitting each time would dominate the run.
fn field_names() -> &'static [&'static str] {
    static WORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| FIELD_NAMES.split_whitespace().collect())
}

fn enum_words() -> &'static [&'static str] {
    static WORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| ENUM_WORDS.split_whitespace().collect())
}

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(HOSTILE_STRINGS).prop_map(String::from),
        3 => select(field_names()).prop_map(String::from),
        4 => select(enum_words()).prop_map(String::from),
        4 => select(TIMES).prop_map(String::from),
        4 => any::<String>(),
        2 => "[a-z0-9._:-]{1,12}",
        1 => "[a-z]{129,140}",
        1 => Just(" ".repeat(40)),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        select(&[0_i64, 1, -1, 2, 12, 128, 4_294_967_295, 4_294_967_296, i64::MIN, i64::MAX][..]).prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        any::<f64>().prop_map(Value::from),
        select(&[0.0, -0.0, 0.5, 1.0, 1.000_000_1, -1e-300, 1e308, f64::MAX, f64::MIN, f64::MIN_POSITIVE, 5e-324][..])
            .prop_map(Value::from),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        hostile_string().prop_map(Value::String),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![6 => select(field_names()).prop_map(String::from), 1 => hostile_string()]
}

/// Any JSON value: scalars of every kind, arrays, objects keyed mostly by real field names.
fn json_value() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(6, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<String, Value>>())),
            ]
        })
        .boxed()
}

/// Tokens spliced into JSON text where a value was: numbers a `serde_json::Value` cannot hold
/// (out of range, past u64) and text that is not JSON at all (NaN, hex, lone surrogates, bad
/// escapes, broken arrays and objects).
const RAW_TOKENS: &[&str] = &[
    "1e400",
    "-1e400",
    "1e-400",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890.5",
    "-0",
    "0.0000000000000000000000000000001",
    "NaN",
    "Infinity",
    "-Infinity",
    "01",
    "1.",
    ".5",
    "+1",
    "0x10",
    "\"\\ud800\"",
    "\"\\udfff\\ud800\"",
    "\"\\u0000\"",
    "\"\\x41\"",
    "\"tab\there\"",
    "tru",
    "[1,]",
    "{\"a\" 1}",
    "{\"a\":1,}",
];

/// What one mutation does at its path.
#[derive(Debug, Clone)]
enum Mutation {
    /// The value at the path becomes this value (a removed key, for an object member, half the time).
    Replace(Value),
    Remove,
    /// A member with this key is added to the object at the path (or the value is replaced).
    Insert(String, Value),
    /// The value at the path becomes this raw JSON text (text parsing only).
    Raw(&'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => json_value().prop_map(Mutation::Replace),
        // Past the free-text limit (64 KiB); kept out of `json_value`, where it would be in most
        // documents and make every case slow.
        1 => Just(Mutation::Replace(Value::String("x".repeat(64 * 1024 + 1)))),
        2 => Just(Mutation::Remove),
        2 => (key(), json_value()).prop_map(|(key, value)| Mutation::Insert(key, value)),
        2 => select(RAW_TOKENS).prop_map(Mutation::Raw),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Every path in `value`, the root (an empty path) included.
fn paths(value: &Value) -> Vec<Vec<Segment>> {
    let mut found = vec![Vec::new()];
    let mut index = 0;
    while index < found.len() {
        let path = found[index].clone();
        match lookup(value, &path) {
            Some(Value::Object(map)) => {
                found.extend(map.keys().map(|key| [path.clone(), vec![Segment::Key(key.clone())]].concat()));
            }
            Some(Value::Array(items)) => {
                found.extend((0..items.len()).map(|item| [path.clone(), vec![Segment::Index(item)]].concat()));
            }
            _ => {}
        }
        index += 1;
    }
    found
}

fn lookup<'a>(value: &'a Value, path: &[Segment]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, segment| match segment {
        Segment::Key(key) => value.get(key),
        Segment::Index(index) => value.get(index),
    })
}

fn lookup_mut<'a>(value: &'a mut Value, path: &[Segment]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |value, segment| match segment {
        Segment::Key(key) => value.get_mut(key),
        Segment::Index(index) => value.get_mut(index),
    })
}

/// A path as errors spell it: `cues.time_range.start`, `tags[1]`.
fn render(path: &[Segment]) -> String {
    let mut text = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) if text.is_empty() => text.push_str(key),
            Segment::Key(key) => {
                text.push('.');
                text.push_str(key);
            }
            Segment::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

/// A placeholder swapped for a raw token after serializing; it cannot occur in generated text
/// because generated strings are escaped (`\u0000` is never raw in JSON text).
const RAW_MARK: &str = "\u{0}raw\u{0}";

/// A valid document with one mutation applied, and the path it touched. A raw token leaves a
/// placeholder in the document, swapped for the token in its text.
#[derive(Debug)]
struct Mutated {
    document: Value,
    raw: Option<&'static str>,
    path: Vec<Segment>,
}

impl Mutated {
    fn text(&self) -> String {
        let text = self.document.to_string();
        match self.raw {
            Some(token) => text.replacen(&serde_json::to_string(RAW_MARK).unwrap_or_default(), token, 1),
            None => text,
        }
    }

    /// The document as a value, unless its text holds a raw token (no value can).
    fn value(&self) -> Option<&Value> {
        self.raw.is_none().then_some(&self.document)
    }
}

fn mutate(mut document: Value, at: &Index, mutation: Mutation) -> Mutated {
    let all = paths(&document);
    let mut path = at.get(&all).clone();
    let mut raw = None;
    match mutation {
        Mutation::Replace(new) => {
            if let Some(target) = lookup_mut(&mut document, &path) {
                *target = new;
            }
        }
        Mutation::Remove => match path.split_last() {
            Some((Segment::Key(key), parent)) => {
                if let Some(Value::Object(map)) = lookup_mut(&mut document, parent) {
                    map.remove(key);
                }
            }
            _ => {
                if let Some(target) = lookup_mut(&mut document, &path) {
                    *target = Value::Null;
                }
            }
        },
        Mutation::Insert(key, new) => match lookup_mut(&mut document, &path) {
            Some(Value::Object(map)) => {
                map.insert(key.clone(), new);
                path.push(Segment::Key(key));
            }
            Some(target) => *target = new,
            None => {}
        },
        Mutation::Raw(token) => {
            if let Some(target) = lookup_mut(&mut document, &path) {
                *target = Value::String(RAW_MARK.into());
                raw = Some(token);
            }
        }
    }
    Mutated { document, raw, path }
}

/// Whether `prefix` is `path` or a path above it (`scope` above `scope.user_id`, `tags` above
/// `tags[1]`); the empty path is above everything.
fn is_path_prefix(prefix: &str, path: &str) -> bool {
    prefix.is_empty()
        || path == prefix
        || (path.starts_with(prefix) && matches!(path.as_bytes().get(prefix.len()), Some(b'.' | b'[')))
}

/// Checks that compare two fields name the later one (`end_ts: is before start_ts`): breaking
/// either is reported at the other.
const FIELD_PAIRS: &[(&str, &str)] = &[("start_ts", "end_ts"), ("cues.time_range.start", "cues.time_range.end")];

/// Whether an error naming `field` is about the mutation at `path`: the field is on the
/// mutated path (above it, or inside the new value), or is its pair in a two-field check.
fn names_the_mutation(field: &str, path: &[Segment]) -> bool {
    let mutated = render(path);
    // No field: only right when the whole document was replaced (or the change is a key
    // spelt as the empty string, at the top).
    if field.is_empty() {
        return mutated.is_empty();
    }
    // Values of maps keyed by an enum (`budget.per_section`) show their key as `?`: serde
    // does not report the key of a non-string map; the key is at least placed.
    let mut anonymous = path.to_vec();
    for index in 1..anonymous.len() {
        if anonymous[index - 1] == Segment::Key("per_section".into()) && matches!(anonymous[index], Segment::Key(_)) {
            anonymous[index] = Segment::Key("?".into());
        }
    }
    let anonymous = render(&anonymous);
    // A syntax error inside an object (`{"limit": 0x10}`) is met where the next key should be,
    // which serde names `?`: the error names the object, not the member.
    let field = match field.strip_suffix('?') {
        Some(parent) => parent.strip_suffix('.').unwrap_or(parent),
        None => field,
    };
    let related = |mutated: &str| is_path_prefix(field, mutated) || is_path_prefix(mutated, field);
    related(&mutated)
        || related(&anonymous)
        || FIELD_PAIRS.iter().any(|(first, second)| is_path_prefix(first, &mutated) && field == *second)
}

/// The same document as text and as a value gets the same verdict. The field may differ in
/// depth: text names the variant tried for an enum given as an object (`kinds[0].message`),
/// a value does not (`kinds[0]`).
fn agree(text: &Result<(), ValidationError>, value: &Result<(), ValidationError>) -> bool {
    match (text, value) {
        (Ok(()), Ok(())) => true,
        (Err(text), Err(value)) => {
            is_path_prefix(&text.field, &value.field) || is_path_prefix(&value.field, &text.field)
        }
        _ => false,
    }
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        3 => r#"[\[\]{}":,0-9a-z_ .\\eE+-]{0,80}"#,
        2 => json_value().prop_map(|value| value.to_string()),
    ]
}

// ---------------------------------------------------------------------------------------------
// The properties, for every type.

/// For each type: arbitrary JSON, valid documents with several things broken, one mutation of
/// a valid document, and arbitrary text.
macro_rules! hostile_input_properties {
    ($($module:ident: $type:ty => $templates:ident;)*) => {
        $(mod $module {
            use super::*;

            #[test]
            fn templates_are_valid() {
                for template in $templates() {
                    if let Err(error) = by_value::<$type>(template.clone()) {
                        panic!("the template is invalid: {error}\n{template}");
                    }
                }
            }

            proptest! {
                #![proptest_config(config())]

                /// Any JSON, or a valid document with up to four things broken: no panic, the
                /// same verdict from text and from a value, and every rejection of an object
                /// names a field.
                #[test]
                fn any_json_is_parsed_or_rejected_naming_a_field(
                    value in prop_oneof![
                        json_value(),
                        (select($templates()), prop::collection::vec((any::<Index>(), mutation()), 1..5))
                            .prop_map(|(template, mutations)| {
                                mutations.into_iter().fold(template, |document, (at, mutation)| {
                                    let mutation = match mutation {
                                        Mutation::Raw(_) => Mutation::Remove,
                                        other => other,
                                    };
                                    mutate(document, &at, mutation).document
                                })
                            }),
                    ],
                ) {
                    let text_verdict = by_text::<$type>(&value.to_string());
                    let value_verdict = by_value::<$type>(value.clone());
                    prop_assert!(
                        agree(&text_verdict, &value_verdict),
                        "text and value disagree: {:?} / {:?}", text_verdict, value_verdict
                    );
                    if let Err(error) = text_verdict {
                        prop_assert!(!error.problem.is_empty());
                        // Only a whole document that is not an object has no field to name, and
                        // an unknown key that is the empty string is named by itself.
                        let empty_key = error.problem == "unknown key" && value.get("").is_some();
                        prop_assert!(
                            !error.field.is_empty() || !value.is_object() || empty_key,
                            "rejected without naming a field: {}", error
                        );
                    }
                }

                /// A valid document with one value replaced, one key removed or added, or one
                /// raw token spliced into its text: it still passes, or the error names a
                /// field on the path of the change.
                #[test]
                fn one_broken_field_is_named_where_it_broke(
                    template in select($templates()),
                    at in any::<Index>(),
                    mutation in mutation(),
                ) {
                    let mutated = mutate(template, &at, mutation);
                    let text = mutated.text();
                    let verdict = by_text::<$type>(&text);
                    if let Some(value) = mutated.value().cloned() {
                        let value_verdict = by_value::<$type>(value);
                        prop_assert!(
                            agree(&verdict, &value_verdict),
                            "text and value disagree: {:?} / {:?}", verdict, value_verdict
                        );
                    }
                    if let Err(error) = verdict {
                        prop_assert!(
                            names_the_mutation(&error.field, &mutated.path),
                            "broke `{}`, the error names `{}`: {}\n{}",
                            render(&mutated.path), error.field, error.problem, text
                        );
                    }
                }

                /// Any text, JSON or not: no panic; what parses is validated, and a validation
                /// error names its field.
                #[test]
                fn any_text_is_parsed_or_rejected(text in arbitrary_text()) {
                    match parse_json::<$type>(&text) {
                        Ok(parsed) => {
                            if let Err(error) = parsed.check() {
                                prop_assert!(!error.field.is_empty(), "{}", error);
                            }
                        }
                        Err(error) => prop_assert!(!error.problem.is_empty()),
                    }
                }
            }
        })*
    };
}

hostile_input_properties! {
    event_input: EventInput => event_input;
    fact_input: FactInput => fact_input;
    episode_input: EpisodeInput => episode_input;
    procedure_input: ProcedureInput => procedure_input;
    insight_input: InsightInput => insight_input;
    insight_update: InsightUpdate => insight_update;
    working_state_patch: WorkingStatePatch => working_state_patch;
    short_term_update: ShortTermUpdate => short_term_update;
    build_request: BuildRequest => build_request;
    event_query: EventQuery => event_query;
    list_query: ListQuery => list_query;
    forget_request: ForgetRequest => forget_request;
    sweep_request: SweepRequest => sweep_request;
    promote_insight: PromoteInsight => promote_insight;
    consolidate_request: ConsolidateRequest => consolidate_request;
    summary: Summary => summary;
    limits: Limits => limits_template;
    policy: Policy => policy_template;
    budget: engram_types::Budget => budget_template;
    scope: Scope => scope_template;
    event: Event => event;
    fact: Fact => fact;
    episode: Episode => episode;
    procedure: Procedure => procedure;
    insight: Insight => insight;
    working_state: WorkingState => working_state;
    short_term_state: ShortTermState => short_term_state;
}

fn limits_template() -> Vec<Value> {
    vec![limits()]
}

fn policy_template() -> Vec<Value> {
    vec![policy()]
}

fn budget_template() -> Vec<Value> {
    vec![budget()]
}

fn scope_template() -> Vec<Value> {
    vec![scope()]
}

// ---------------------------------------------------------------------------------------------
// Deep nesting.

type Parse = fn(&str) -> Result<(), ValidationError>;

fn nested_text(depth: usize, closed: bool) -> String {
    let (open, close) = ("[{\"a\":".repeat(depth / 2), "}]".repeat(depth / 2));
    if closed { format!("{open}1{close}") } else { open }
}

/// 10,000 levels of arrays and objects, closed or cut short, in every free-JSON field and in
/// typed ones: serde_json's recursion limit (128) stops the parser, and the error names the
/// field the nesting is in.
#[test]
fn json_text_nested_10000_deep_is_rejected_naming_the_field() {
    let scope = scope().to_string();
    for closed in [true, false] {
        let deep = nested_text(10_000, closed);
        let cases: Vec<(String, Parse, &str)> = vec![
            (format!(r#"{{"scope":{scope},"kind":"message","payload":{deep}"#), by_text::<EventInput>, "payload"),
            (format!(r#"{{"scope":{scope},"fact_key":"k","value":{deep}"#), by_text::<FactInput>, "value"),
            (format!(r#"{{"scope":{scope},"slots":{{"k":{deep}"#), by_text::<WorkingStatePatch>, "slots.k"),
            (
                format!(r#"{{"scope":{scope},"insight_id":"i","to":"fact","fact_key":"k","value":{deep}"#),
                by_text::<PromoteInsight>,
                "value",
            ),
            (format!(r#"{{"scope":{scope},"purpose":"planner","query":{deep}"#), by_text::<BuildRequest>, "query"),
            (format!(r#"{{"scope":{deep}"#), by_text::<BuildRequest>, "scope"),
            (format!(r#"{{"policy":{{"weights":{deep}"#), by_text::<BuildRequest>, "policy.weights"),
            (format!(r#"{{"payload":{deep}"#), by_text::<Event>, "payload"),
            (deep.clone(), by_text::<EventInput>, ""),
        ];
        for (text, parse, field) in cases {
            let Err(error) = parse(&text) else { panic!("accepted {} nested levels in {field}", 10_000) };
            assert!(is_path_prefix(field, &error.field), "{field}: named {}", error.field);
        }
    }
}

/// Nesting the parser accepts (under 128 levels) but the payload limit (32) does not: parsed,
/// then rejected by validation, naming the field.
#[test]
fn json_text_nested_past_the_payload_limit_is_rejected_by_validation() {
    let scope = scope().to_string();
    let deep = format!("{}{}", "[".repeat(120), "]".repeat(120));
    let event = format!(r#"{{"scope":{scope},"kind":"message","payload":{deep}}}"#);
    assert_eq!(by_text::<EventInput>(&event).err().map(|error| error.field).as_deref(), Some("payload"));
    let fact = format!(r#"{{"scope":{scope},"fact_key":"k","value":{deep}}}"#);
    assert_eq!(by_text::<FactInput>(&fact).err().map(|error| error.field).as_deref(), Some("value"));
    let patch = format!(r#"{{"scope":{scope},"slots":{{"k":{deep}}}}}"#);
    assert_eq!(by_text::<WorkingStatePatch>(&patch).err().map(|error| error.field).as_deref(), Some("slots"));
    let shallow = format!("{}{}", "[".repeat(32), "]".repeat(32));
    let event = format!(r#"{{"scope":{scope},"kind":"message","payload":{shallow}}}"#);
    assert_eq!(by_text::<EventInput>(&event), Ok(()), "32 levels are allowed");
}

const DEEP_VALUE_CHILD: &str = "ENGRAM_HOSTILE_DEEP_VALUE_CHILD";

/// A `serde_json::Value` nested 10,000 deep (one a Rust caller can build and drop on an 8 MiB
/// stack) given to `from_json_value` is rejected, not a stack overflow. A stack overflow
/// aborts the process, so the attempt runs in a child process of this test binary.
#[test]
fn json_value_nested_10000_deep_is_rejected_without_overflowing_the_stack() {
    const NAME: &str = "json_value_nested_10000_deep_is_rejected_without_overflowing_the_stack";
    if std::env::var_os(DEEP_VALUE_CHILD).is_some() {
        let worker = std::thread::Builder::new().stack_size(8 << 20).spawn(|| {
            let mut payload = Value::from(1);
            for _ in 0..10_000 {
                payload = Value::Array(vec![payload]);
            }
            let mut event = json!({"scope": scope(), "kind": "message"});
            if let Some(map) = event.as_object_mut() {
                map.insert("payload".into(), payload);
            }
            by_value::<EventInput>(event).err().map(|error| error.field)
        });
        let field = worker.map(|handle| handle.join());
        assert!(matches!(&field, Ok(Ok(Some(named))) if named.starts_with("payload")), "{field:?}");
        return;
    }
    let output = std::env::current_exe()
        .and_then(|binary| {
            std::process::Command::new(binary)
                .args(["--exact", NAME, "--test-threads=1", "--nocapture"])
                .env(DEEP_VALUE_CHILD, "1")
                .output()
        })
        .unwrap_or_else(|error| panic!("cannot run the child test: {error}"));
    assert!(
        output.status.success(),
        "from_json_value on a 10,000-deep value failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Rejections found by the properties, pinned.

/// A request is one JSON document: text after it is an error, not silently dropped (a
/// concatenated second request must not be half-read).
#[test]
fn text_after_the_document_is_rejected() {
    let scope = scope().to_string();
    for tail in [" garbage", "}", r#"{"scope": {}}"#, ",1", "\u{0}"] {
        let text = format!("{scope}{tail}");
        assert!(parse_json::<Scope>(&text).is_err(), "accepted {text:?}");
    }
}

/// A key given twice is rejected naming the key.
#[test]
fn duplicate_keys_are_named() {
    let text = format!(r#"{{"scope":{},"purpose":"planner","purpose":"tool"}}"#, scope());
    assert_eq!(parse_json::<BuildRequest>(&text).err().map(|error| error.field).as_deref(), Some("purpose"));
    let text = format!(r#"{{"scope":{},"purpose":"planner","policy":{{"max_facts":1,"max_facts":2}}}}"#, scope());
    assert_eq!(parse_json::<BuildRequest>(&text).err().map(|error| error.field).as_deref(), Some("policy.max_facts"));
}

/// Inside free JSON too (found by `fuzz/` `requests`: the typed read refused a repeated field
/// of a struct, while free JSON, and any text read as a `Value` first, kept the last silently).
#[test]
fn duplicate_keys_inside_free_json_are_named() {
    let text = format!(r#"{{"scope":{},"kind":"message","payload":{{"role":"user","role":"system"}}}}"#, scope());
    let error = parse_json::<EventInput>(&text).err();
    assert_eq!(error.as_ref().map(|error| error.field.as_str()), Some("payload.role"));
    assert_eq!(error.map(|error| error.problem).as_deref(), Some("given more than once"));
    let text = r#"{"a":[{"b":1,"c":{"d":1,"d":2}}]}"#;
    assert_eq!(parse_json_value(text).err().map(|error| error.field).as_deref(), Some("a[0].c.d"));
    let text = r#"{"a":1,"b":{"a":1}}"#;
    assert_eq!(parse_json_value(text).ok(), serde_json::from_str(text).ok(), "the same key in two objects is fine");
    // Both readers agree on a repeated struct field: refused.
    let text = format!(r#"{{"scope":{0},"fact_key":"k","value":1,"scope":{0}}}"#, scope());
    assert!(parse_json::<FactInput>(&text).is_err());
    assert!(parse_json_value(&text).is_err());
}

/// `promote_insight`'s target fields (`to`, `fact_key`, `steps`, `scope_level`, ...) are named
/// when wrong, and a misspelt key is refused like everywhere else.
#[test]
fn promotion_errors_name_their_field() {
    let base = |extra: &str| format!(r#"{{"scope":{},"insight_id":"i1",{extra}}}"#, scope());
    let cases = [
        (r#""to":"banana""#, "to"),
        (r#""to":"fact","fact_key":5"#, "fact_key"),
        (r#""to":"fact","fact_key":"k","scope_level":"everyone""#, "scope_level"),
        (r#""to":"procedure","task_type":"t","steps":[1]"#, "steps[0]"),
        (r#""to":"fact","fact_key":"k","fact_kye":"typo""#, "fact_kye"),
    ];
    let mut wrong = Vec::new();
    for (extra, field) in cases {
        let named = parse_json::<PromoteInsight>(&base(extra)).err().map(|error| error.field);
        if named.as_deref() != Some(field) {
            wrong.push(format!("{extra}: named {named:?}, expected {field:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Unknown sections and bad token counts in `budget.per_section` are refused; the count's
/// error at least places the map (serde cannot name the key of a non-string map).
#[test]
fn per_section_budgets_are_checked() {
    let base = |per_section: &str| {
        format!(r#"{{"scope":{},"purpose":"planner","budget":{{"per_section":{per_section}}}}}"#, scope())
    };
    let field = |text: String| parse_json::<BuildRequest>(&text).err().map(|error| error.field);
    assert_eq!(field(base(r#"{"gossip": 1}"#)).as_deref(), Some("budget.per_section.gossip"));
    assert_eq!(field(base(r#"{"": 1}"#)).as_deref(), Some("budget.per_section."));
    assert_eq!(field(base(r#"{"facts": -1}"#)).as_deref(), Some("budget.per_section.?"));
    let mut counts = BTreeMap::new();
    counts.insert("facts", u64::from(u32::MAX) + 1);
    assert!(field(base(&json!(counts).to_string())).is_some_and(|field| field.starts_with("budget.per_section")));
}

/// An unknown key is named as written, whatever characters it holds (the name is read back
/// from serde's message, where a backtick ends it).
#[test]
fn unknown_keys_are_named_as_written() {
    for key in ["a`b", "`", "x` or `y"] {
        let mut request = json!({"scope": scope(), "purpose": "planner"});
        if let Some(map) = request.as_object_mut() {
            map.insert(key.into(), json!(1));
        }
        let named = parse_json::<BuildRequest>(&request.to_string()).err().map(|error| error.field);
        assert_eq!(named.as_deref(), Some(key), "unknown key {key:?}");
        let per_section = json!({"scope": scope(), "purpose": "planner", "budget": {"per_section": {key: 1}}});
        let named = parse_json::<BuildRequest>(&per_section.to_string()).err().map(|error| error.field);
        assert_eq!(named, Some(format!("budget.per_section.{key}")), "unknown section {key:?}");
    }
}
