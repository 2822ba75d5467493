#![expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "random numbers scaled to small ranges")]

//! Write and read speed of `SqliteStore` on a file that already holds many events. Ignored by
//! default (it writes about 1.5 GB and takes minutes); timings are printed, never asserted:
//!
//! ```text
//! cargo test -p engram-store --release --test it write_speed -- --ignored --nocapture
//! ```
//!
//! Knobs (environment): `ENGRAM_SPEED_SEED_EVENTS` (default 1,000,000), `ENGRAM_SPEED_USERS`
//! (200), `ENGRAM_SPEED_BATCH` (500), `ENGRAM_SPEED_MEASURE_EVENTS` (100,000 per mode),
//! `ENGRAM_SPEED_DIR` (a directory to keep the database in; a temporary one otherwise).
//!
//! The data: realistic chat messages of 15-40 words drawn Zipf-like from a vocabulary of
//! stop words, common words and generated words (about 4,000 in all), with some tool calls,
//! tags and entities; users and sessions as in a deployment. Two batch shapes are measured:
//! "interleaved" (each batch holds the next events of the whole deployment, many users
//! mixed, as a server committing concurrent sessions together) and "per session" (each batch
//! is one session's events, as an import).
//!
//! Measured on the 2-core development VM (ext4, 240 MB/s), seeded to 1,000,000 events of 200
//! users, 500-event batches: per-session appends 10.5k events/s, interleaved 3.5k events/s;
//! the shared preparation alone (token count + analysis) costs ~33 us/event on one thread.
//! Postings of 5 terms x newest 64: p50 149 us, p99 409 us; conversation window of 20:
//! p50 102 us, p99 212 us.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use engram_store::{FetchRequest, PostingsRequest, Reach, RecordKind, Selector, SqliteStore, StoreExt};
use engram_types::{EventInput, EventKind, Scope};
use serde_json::json;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.replace('_', "").parse().ok()).unwrap_or(default)
}

/// xorshift64*: deterministic and fast.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    /// Zipf-like (log-uniform) rank: rank r is drawn with probability ~ 1/r.
    fn zipf(&mut self, bound: usize) -> usize {
        let uniform = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((bound as f64).powf(uniform) - 1.0) as usize % bound.max(1)
    }
}

const STOP: &[&str] = &[
    "the", "i", "to", "you", "a", "and", "it", "is", "of", "that", "in", "we", "for", "this", "can", "be", "on", "my",
    "with", "have", "will", "me", "so", "do", "are", "not", "just", "at", "if", "your", "what", "about", "was", "but",
    "all", "our", "they", "from", "there", "would", "should", "could", "been", "an", "or", "by", "how", "when",
];

const COMMON: &[&str] = &[
    "need",
    "please",
    "check",
    "meeting",
    "tomorrow",
    "update",
    "thanks",
    "report",
    "send",
    "time",
    "today",
    "team",
    "project",
    "plan",
    "issue",
    "email",
    "review",
    "call",
    "week",
    "customer",
    "order",
    "schedule",
    "deploy",
    "server",
    "database",
    "invoice",
    "budget",
    "deadline",
    "flight",
    "hotel",
    "booking",
    "refund",
    "account",
    "password",
    "release",
    "version",
    "bug",
    "fix",
    "test",
    "build",
    "feature",
    "design",
    "document",
    "draft",
    "contract",
    "price",
    "quote",
    "payment",
    "ticket",
    "support",
    "client",
    "manager",
    "approval",
    "status",
    "progress",
    "question",
    "answer",
    "problem",
    "error",
    "alert",
    "latency",
    "migration",
    "backup",
    "security",
    "access",
    "login",
    "dashboard",
    "metric",
    "goal",
    "risk",
    "priority",
    "summary",
    "notes",
    "agenda",
    "slides",
    "demo",
    "launch",
    "campaign",
    "budgeting",
    "forecast",
    "revenue",
    "cost",
    "vendor",
    "shipping",
    "delivery",
    "warehouse",
    "inventory",
    "recipe",
    "dinner",
    "weekend",
    "vacation",
    "trip",
    "train",
    "tickets",
    "museum",
    "restaurant",
    "reservation",
    "birthday",
    "gift",
    "doctor",
    "appointment",
    "insurance",
    "taxes",
    "mortgage",
    "lisbon",
    "tokyo",
    "berlin",
    "paris",
    "london",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "morning",
    "afternoon",
    "evening",
    "great",
    "sounds",
    "good",
    "sure",
    "maybe",
    "later",
    "soon",
    "again",
    "first",
    "next",
    "last",
    "new",
    "old",
    "big",
    "small",
    "quick",
    "late",
    "early",
    "important",
    "urgent",
];

fn vocabulary() -> Vec<String> {
    const ONSETS: &[&str] = &[
        "b", "br", "c", "cr", "d", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "pl", "r", "s", "st", "t", "tr", "v",
        "w", "z",
    ];
    const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou"];
    const CODAS: &[&str] = &["", "n", "r", "s", "t", "l", "nd", "ck", "m", "x"];
    let mut words: Vec<String> = STOP.iter().chain(COMMON).map(|word| (*word).to_string()).collect();
    let mut random = Random(0x5eed);
    while words.len() < 4_000 {
        let syllables = 2 + random.below(2);
        let word: String = (0..syllables)
            .map(|_| {
                format!(
                    "{}{}{}",
                    ONSETS[random.below(ONSETS.len())],
                    VOWELS[random.below(VOWELS.len())],
                    CODAS[random.below(CODAS.len())]
                )
            })
            .collect();
        if !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// The deployment: users with sessions; every event goes to a random user's open session.
struct Deployment {
    random: Random,
    words: Vec<String>,
    users: usize,
    /// Per user: (session number, events left in it).
    sessions: Vec<(usize, usize)>,
    clock: DateTime<Utc>,
}

impl Deployment {
    fn new(users: usize) -> Self {
        let clock = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        Self { random: Random(42), words: vocabulary(), users, sessions: vec![(0, 0); users], clock }
    }

    fn scope(user: usize, session: usize) -> Scope {
        Scope {
            tenant_id: "acme".into(),
            user_id: format!("user-{user:04}"),
            agent_id: "assistant".into(),
            session_id: format!("user-{user:04}-s{session:05}"),
            run_id: format!("user-{user:04}-s{session:05}-r0"),
        }
    }

    fn sentence(&mut self) -> String {
        let length = 15 + self.random.below(26);
        let mut text = String::new();
        for position in 0..length {
            let word = &self.words[self.random.zipf(self.words.len())];
            if position == 0 {
                let mut letters = word.chars();
                if let Some(first) = letters.next() {
                    text.extend(first.to_uppercase());
                    text.push_str(letters.as_str());
                }
            } else {
                text.push(' ');
                text.push_str(word);
            }
        }
        text.push(if self.random.below(4) == 0 { '?' } else { '.' });
        text
    }

    /// The next event of `user` (in their open session, opening a new one when it ends).
    fn event_of(&mut self, user: usize) -> EventInput {
        if self.sessions[user].1 == 0 {
            self.sessions[user] = (self.sessions[user].0 + 1, 20 + self.random.below(80));
        }
        self.sessions[user].1 -= 1;
        let scope = Self::scope(user, self.sessions[user].0);
        self.clock += chrono::Duration::milliseconds(1 + self.random.below(40) as i64);
        let roll = self.random.below(100);
        let (kind, payload) = if roll < 85 {
            let role = if self.random.below(2) == 0 { "user" } else { "assistant" };
            (EventKind::Message, json!({"role": role, "text": self.sentence()}))
        } else if roll < 93 {
            let query = self.sentence();
            (EventKind::ToolCall, json!({"tool": "search", "arguments": {"query": query}}))
        } else {
            (EventKind::ToolResult, json!({"tool": "search", "result": self.sentence()}))
        };
        let mut event = EventInput::new(scope, kind, payload);
        event.ts = Some(self.clock);
        if self.random.below(5) == 0 {
            event.tags = vec![COMMON[self.random.zipf(COMMON.len())].to_string()];
        }
        if self.random.below(8) == 0 {
            event.entities = vec![format!("project-{}", self.random.zipf(50))];
        }
        event
    }

    /// The next `size` events of the whole deployment, users mixed.
    fn interleaved(&mut self, size: usize) -> Vec<EventInput> {
        (0..size)
            .map(|_| self.random.below(self.users))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|user| self.event_of(user))
            .collect()
    }

    /// `size` events of one user's sessions.
    fn one_user(&mut self, user: usize, size: usize) -> Vec<EventInput> {
        (0..size).map(|_| self.event_of(user)).collect()
    }
}

fn percentile(samples: &mut [Duration], fraction: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() - 1) as f64 * fraction).round() as usize]
}

fn file_size(path: &std::path::Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|meta| meta.len())
        .sum()
}

/// Times the appends, and (apart) the shared preparation of the same events on one thread,
/// so the storage share (`append` minus preparation, which runs on all cores) shows.
fn report_appends(store: &SqliteStore, shape: &str, stored: usize, batches: Vec<Vec<EventInput>>) {
    let events: usize = batches.iter().map(Vec::len).sum();
    let limits = engram_types::Limits::default();
    let now = engram_store::prepare::now();
    let started = Instant::now();
    for event in batches.iter().flatten() {
        engram_store::prepare::event(event.clone(), now, &limits).unwrap();
    }
    let preparing = started.elapsed();
    let started = Instant::now();
    for events in batches {
        store.append_events(events).unwrap();
    }
    let elapsed = started.elapsed();
    eprintln!(
        "append {shape} at {stored} events: {events} events in {:.2} s = {:.0} events/s (preparation alone, one thread: {:.1} us/event)",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        preparing.as_secs_f64() * 1e6 / events as f64,
    );
}

#[test]
#[ignore = "a measurement of minutes, run by hand with --release"]
fn sqlite_write_speed_at_a_million_events() {
    let seed_events = setting("ENGRAM_SPEED_SEED_EVENTS", 1_000_000);
    let users = setting("ENGRAM_SPEED_USERS", 200);
    let batch = setting("ENGRAM_SPEED_BATCH", 500);
    let measured = setting("ENGRAM_SPEED_MEASURE_EVENTS", 100_000);
    let temporary = tempfile::tempdir().unwrap();
    let directory = std::env::var("ENGRAM_SPEED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| temporary.path().to_path_buf());
    let path = directory.join("speed.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = SqliteStore::new(&path).unwrap();
    let mut deployment = Deployment::new(users);

    let started = Instant::now();
    let mut written = 0;
    while written < seed_events {
        // Seeded session by session (the faster shape); the stored data is the same mix.
        let events = deployment.one_user((written / batch) % users, batch.min(seed_events - written));
        written += store.append_events(events).unwrap().len();
        if written % 100_000 == 0 {
            let elapsed = started.elapsed().as_secs_f64();
            eprintln!("seeded {written} events in {elapsed:.1} s ({:.0} events/s)", written as f64 / elapsed);
        }
    }
    let seeded = started.elapsed();
    eprintln!(
        "seed: {written} events in {:.1} s = {:.0} events/s; file {:.0} MB",
        seeded.as_secs_f64(),
        written as f64 / seeded.as_secs_f64(),
        file_size(&path) as f64 / 1e6
    );

    // Generate first, then time only the appends.
    let batches: Vec<Vec<EventInput>> =
        (0..measured / batch).map(|index| deployment.one_user(index % users, batch)).collect();
    report_appends(&store, "per session", written, batches);
    written += measured;
    let batches: Vec<Vec<EventInput>> = (0..measured / batch).map(|_| deployment.interleaved(batch)).collect();
    report_appends(&store, "interleaved", written, batches);

    // Reads: postings of 5 terms x newest 64 (a mix of common and rarer terms), and the
    // conversation window (latest 20 messages of a session), over many users.
    let terms: Vec<String> =
        ["need", "meeting", "deploy", "invoice", "#status"].iter().map(|term| (*term).to_string()).collect();
    let mut postings = Vec::new();
    let mut windows = Vec::new();
    let mut random = Random(7);
    for round in 0..2_000 {
        let user = random.below(users);
        let scope = Deployment::scope(user, deployment.sessions[user].0.max(1));
        let request = PostingsRequest {
            kind: RecordKind::Event,
            tenant_id: scope.tenant_id.clone(),
            spaces: engram_store::record::visible_spaces(&scope, RecordKind::Event),
            terms: terms.clone(),
            per_term: 64,
        };
        let started = Instant::now();
        let result = store.postings(&request).unwrap();
        postings.push(started.elapsed());
        assert!(round > 0 || result.document_count > 0);
        let mut window = FetchRequest::new(RecordKind::Event, scope, Reach::Session, Selector::Newest, 20);
        window.event_kinds = vec![EventKind::Message];
        let started = Instant::now();
        store.fetch(&window).unwrap();
        windows.push(started.elapsed());
    }
    eprintln!(
        "postings 5 terms x newest 64: p50 {:?} p99 {:?}; conversation window (20): p50 {:?} p99 {:?}",
        percentile(&mut postings, 0.5),
        percentile(&mut postings, 0.99),
        percentile(&mut windows, 0.5),
        percentile(&mut windows, 0.99)
    );
    eprintln!("file {:.0} MB", file_size(&path) as f64 / 1e6);
}
