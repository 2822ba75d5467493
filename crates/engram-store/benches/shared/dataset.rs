//! A deterministic, realistic agent-memory dataset: many users, each with many sessions of
//! chat turns, tool calls and results, plus facts, episodes and procedures. The same seed
//! gives the same data on every backend.

use chrono::{DateTime, Duration, Utc};
use engram_types::{EpisodeInput, EventInput, EventKind, FactInput, ProcedureInput, Scope};
use serde_json::json;

/// xorshift64*: tiny, fast and deterministic; benches need no cryptographic randomness.
#[derive(Debug, Clone)]
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }

    /// A pseudo-random unit vector (the bench's cost does not depend on what vectors mean).
    pub fn unit_vector(&mut self, dimensions: usize) -> Vec<f32> {
        let mut vector: Vec<f32> =
            (0..dimensions).map(|_| ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) - 0.5).collect();
        let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
        vector.iter_mut().for_each(|value| *value /= norm);
        vector
    }

    /// Zipf-like pick: low indexes far more often, like words in real text.
    pub fn zipf(&mut self, bound: usize) -> usize {
        let uniform = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((bound as f64).powf(uniform) - 1.0) as usize % bound.max(1)
    }
}

const TOPICS: &[&str] = &[
    "billing",
    "migration",
    "deployment",
    "database",
    "invoice",
    "refund",
    "travel",
    "flight",
    "hotel",
    "budget",
    "roadmap",
    "onboarding",
    "kubernetes",
    "latency",
    "incident",
    "backup",
    "pricing",
    "contract",
    "newsletter",
    "analytics",
    "dashboard",
    "security",
    "password",
    "compliance",
    "audit",
    "vendor",
    "shipping",
    "warehouse",
    "inventory",
    "support",
    "ticket",
    "escalation",
    "marketing",
    "campaign",
    "webinar",
    "recipe",
    "garden",
    "fitness",
    "marathon",
    "vacation",
    "lisbon",
    "tokyo",
    "berlin",
    "mortgage",
    "insurance",
    "taxes",
    "payroll",
];

const WORDS: &[&str] = &[
    "need", "plan", "check", "update", "review", "schedule", "confirm", "send", "draft", "fix", "team", "week",
    "monday", "friday", "deadline", "customer", "report", "meeting", "note", "issue", "change", "request", "cost",
    "time", "version", "service", "server", "account", "order", "email", "call", "document", "summary", "step",
    "option", "problem", "question", "answer", "result", "detail", "priority", "status", "progress", "estimate",
    "approval", "manager", "client", "project", "release", "test", "error", "alert", "metric", "goal", "risk",
];

const OPENERS: &[&str] =
    &["Can you", "Please", "I think we should", "Let's", "Remember to", "We decided to", "Could you", "I want to"];

fn sentence(random: &mut Random, words: usize) -> String {
    let mut text = String::from(OPENERS[random.below(OPENERS.len())]);
    for position in 0..words {
        text.push(' ');
        if position % 4 == 1 {
            text.push_str(TOPICS[random.zipf(TOPICS.len())]);
        } else {
            text.push_str(WORDS[random.zipf(WORDS.len())]);
        }
    }
    text.push('.');
    text
}

/// The instant every dataset's history ends.
pub fn epoch_end() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").map(|time| time.with_timezone(&Utc)).unwrap_or_default()
}

pub fn user_scope(user: usize, session: usize) -> Scope {
    Scope {
        tenant_id: "bench".into(),
        user_id: format!("user-{user:04}"),
        agent_id: "assistant".into(),
        session_id: format!("user-{user:04}-session-{session:05}"),
        run_id: format!("user-{user:04}-session-{session:05}-run"),
    }
}

/// How a dataset of `events` events is laid out: each user holds up to 20,000 events, so a
/// large store means many users (as in a real deployment), not one giant user.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub events: usize,
    pub users: usize,
    pub turns_per_session: usize,
}

impl Layout {
    pub fn for_events(events: usize) -> Self {
        Self { events, users: events.div_ceil(20_000).max(1), turns_per_session: 40 }
    }

    pub fn events_per_user(&self) -> usize {
        self.events.div_ceil(self.users)
    }
}

/// Events in generation order (user by user, session by session), in chunks for bulk append.
pub struct EventStream {
    layout: Layout,
    random: Random,
    produced: usize,
    /// Vectors of this length on every event, when set.
    dimensions: Option<usize>,
}

impl EventStream {
    pub fn new(layout: Layout, seed: u64) -> Self {
        Self { layout, random: Random::new(seed), produced: 0, dimensions: None }
    }

    /// The same events, each with a vector of `dimensions` values.
    pub fn with_vectors(layout: Layout, seed: u64, dimensions: usize) -> Self {
        Self { dimensions: Some(dimensions), ..Self::new(layout, seed) }
    }

    pub fn next_chunk(&mut self, size: usize) -> Vec<EventInput> {
        let mut chunk = Vec::with_capacity(size);
        let per_user = self.layout.events_per_user();
        while chunk.len() < size && self.produced < self.layout.events {
            let index = self.produced;
            let user = index / per_user;
            let within_user = index % per_user;
            let session = within_user / self.layout.turns_per_session;
            let turn = within_user % self.layout.turns_per_session;
            let minutes_before_end = (per_user - within_user) as i64 * 7;
            let scope = user_scope(user, session);
            let (kind, payload) = match turn % 8 {
                5 => (
                    EventKind::ToolCall,
                    json!({"tool": "search", "arguments": {"query": sentence(&mut self.random, 4)}}),
                ),
                6 => (EventKind::ToolResult, json!({"tool": "search", "result": sentence(&mut self.random, 12)})),
                even if even % 2 == 0 => {
                    let length = 10 + self.random.below(25);
                    (EventKind::Message, json!({"role": "user", "text": sentence(&mut self.random, length)}))
                }
                _ => {
                    let length = 15 + self.random.below(25);
                    (EventKind::Message, json!({"role": "assistant", "text": sentence(&mut self.random, length)}))
                }
            };
            let mut event = EventInput::new(scope, kind, payload);
            event.event_id = Some(format!("e-{index:09}"));
            event.ts = Some(epoch_end() - Duration::minutes(minutes_before_end));
            event.tags = vec![TOPICS[self.random.zipf(TOPICS.len())].to_string()];
            event.importance = Some((self.random.below(10) as f64) / 10.0);
            if let Some(dimensions) = self.dimensions {
                event.embedding = Some(self.random.unit_vector(dimensions));
            }
            chunk.push(event);
            self.produced += 1;
        }
        chunk
    }

    pub fn remaining(&self) -> usize {
        self.layout.events - self.produced
    }
}

/// Long-term memory of one user: facts, episodes and procedures.
pub fn long_term(user: usize, facts: usize, seed: u64) -> (Vec<FactInput>, Vec<EpisodeInput>, Vec<ProcedureInput>) {
    let mut random = Random::new(seed ^ (user as u64 + 1));
    let scope = user_scope(user, 0);
    let fact_list = (0..facts)
        .map(|index| {
            let topic = TOPICS[index % TOPICS.len()];
            let mut fact =
                FactInput::new(scope.clone(), format!("{topic}.note_{index}"), json!(sentence(&mut random, 6)));
            fact.text = Some(format!("{topic}: {}", sentence(&mut random, 14)));
            fact.importance = Some((random.below(10) as f64) / 10.0);
            fact.recorded_at = Some(epoch_end() - Duration::hours(index as i64));
            fact
        })
        .collect();
    let episodes = (0..facts / 10)
        .map(|index| EpisodeInput {
            scope: scope.clone(),
            episode_id: Some(format!("ep-{user}-{index}")),
            start_ts: epoch_end() - Duration::days(index as i64 + 1),
            end_ts: epoch_end() - Duration::days(index as i64) - Duration::hours(20),
            summary: sentence(&mut random, 30),
            highlights: vec![sentence(&mut random, 8)],
            tags: vec![TOPICS[random.zipf(TOPICS.len())].to_string()],
            entities: vec![],
            sources: vec![],
            compression_level: Default::default(),
            importance: Some(0.5),
            scope_level: Default::default(),
            expires_at: None,
            embedding: None,
        })
        .collect();
    let procedures = (0..facts / 20)
        .map(|index| ProcedureInput {
            scope: scope.clone(),
            procedure_id: Some(format!("proc-{user}-{index}")),
            task_type: TOPICS[index % TOPICS.len()].to_string(),
            title: format!("How to handle {}", TOPICS[index % TOPICS.len()]),
            steps: (0..4).map(|_| sentence(&mut random, 6)).collect(),
            content: None,
            priority: Some(0.5),
            applicability: None,
            tags: vec![],
            entities: vec![],
            scope_level: Default::default(),
            updated_at: Some(epoch_end() - Duration::days(index as i64)),
            expires_at: None,
            embedding: None,
        })
        .collect();
    (fact_list, episodes, procedures)
}

/// The scope a bench builds packets for: user 0, in its latest session (under way).
pub fn target_scope(layout: &Layout) -> Scope {
    user_scope(0, (layout.events_per_user().saturating_sub(1)) / layout.turns_per_session)
}

/// A realistic request text: what a user asks an agent mid-conversation.
pub const QUERY: &str = "what did we decide about the billing migration deadline and the invoice review";
