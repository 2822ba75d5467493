//! Replays a retrieval dataset (the JSONL that `python/scripts/eval_retrieval.py --write-dataset`
//! writes) against a store and times its packets, to profile the packet build in Rust alone:
//!
//!     cargo run --release -p engram-store --example replay_packets -- DATASET.jsonl [memory|sqlite] [BUDGET] [QUESTIONS] [DIMENSIONS]
//!
//! With DIMENSIONS (e.g. 384, MiniLM's), every turn and query carries a vector: a pseudo-random unit
//! vector drawn from a hash of its text. That times the vector path (reading, comparing, fusing)
//! at its real size without an embedder; it says nothing about recall.
//!
//! Each conversation is ingested incrementally up to its next question's turn, as the Python
//! evaluation does; each question gets a responder packet with its query, built three times
//! (the first cold). Prints p50/p95 of the cold and warm builds and the median stage timings.

use std::collections::BTreeMap;
use std::error::Error;
use std::time::Instant;

use engram_store::{BuildRequest, InMemoryStore, SqliteStore, Store, StoreExt, build_memory_packet};
use engram_types::{Budget, EventInput, EventKind, Purpose, Scope};
use serde_json::{Value, json};

struct Turn {
    session: String,
    id: String,
    time: String,
    speaker: String,
    text: String,
}

struct Question {
    conversation: String,
    session: Option<String>,
    before: Option<String>,
    time: Option<String>,
    query: String,
}

fn scope(conversation: &str, session: &str) -> Scope {
    Scope {
        tenant_id: "eval".to_string(),
        user_id: conversation.to_string(),
        agent_id: "eval".to_string(),
        session_id: session.to_string(),
        run_id: session.to_string(),
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn percentile(sorted: &[f64], percent: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * percent / 100.0).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// A unit vector drawn from a hash of `text` (splitmix64), the same on every run.
fn pseudo_vector(text: &str, dimensions: usize) -> Vec<f32> {
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(text, &mut hasher);
    let mut state = std::hash::Hasher::finish(&hasher);
    let mut vector: Vec<f32> = (0..dimensions)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut mixed = (state ^ (state >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((mixed ^ (mixed >> 31)) as f64 / u64::MAX as f64 - 0.5) as f32
        })
        .collect();
    let length = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
    vector.iter_mut().for_each(|value| *value /= length);
    vector
}

fn main() -> Result<(), Box<dyn Error>> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let path = arguments
        .first()
        .ok_or("usage: replay_packets DATASET.jsonl [memory|sqlite] [BUDGET] [QUESTIONS] [DIMENSIONS]")?;
    let backend = arguments.get(1).map_or("memory", String::as_str);
    let budget: u32 = arguments.get(2).map_or(Ok(1024), |value| value.parse())?;
    let limit: usize = arguments.get(3).map_or(Ok(usize::MAX), |value| value.parse())?;
    let dimensions: usize = arguments.get(4).map_or(Ok(0), |value| value.parse())?;

    let mut turns: BTreeMap<String, Vec<Turn>> = BTreeMap::new();
    let mut questions: Vec<Question> = Vec::new();
    for line in std::fs::read_to_string(path)?.lines() {
        let value: Value = serde_json::from_str(line)?;
        let conversation = text(&value, "conversation").unwrap_or_default();
        match value.get("type").and_then(Value::as_str) {
            Some("turn") => turns.entry(conversation).or_default().push(Turn {
                session: text(&value, "session").unwrap_or_default(),
                id: text(&value, "id").unwrap_or_default(),
                time: text(&value, "time").unwrap_or_default(),
                speaker: text(&value, "speaker").unwrap_or_default(),
                text: text(&value, "text").unwrap_or_default(),
            }),
            Some("question") => questions.push(Question {
                conversation,
                session: text(&value, "session"),
                before: text(&value, "before"),
                time: text(&value, "time"),
                query: text(&value, "query").unwrap_or_default(),
            }),
            _ => {}
        }
    }
    questions.truncate(limit);

    let directory = std::env::temp_dir().join(format!("engram-replay-{}", std::process::id()));
    let store: Box<dyn Store> = match backend {
        "sqlite" => Box::new(SqliteStore::new(directory.join("replay.db"))?),
        _ => Box::new(InMemoryStore::new()),
    };
    let mut ingested: BTreeMap<String, usize> = BTreeMap::new();
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    let mut stages: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for question in &questions {
        let conversation_turns = &turns[&question.conversation];
        let end = question
            .before
            .as_ref()
            .and_then(|before| conversation_turns.iter().position(|turn| &turn.id == before))
            .unwrap_or(conversation_turns.len());
        let start = ingested.get(&question.conversation).copied().unwrap_or(0);
        if end > start {
            let events = conversation_turns[start..end]
                .iter()
                .map(|turn| {
                    let mut event = json!({
                        "scope": scope(&question.conversation, &turn.session),
                        "event_id": format!("{}:{}", question.conversation, turn.id),
                        "ts": turn.time,
                        "kind": EventKind::Message,
                        "payload": {"role": "user", "text": turn.text, "name": turn.speaker},
                    });
                    if dimensions > 0 {
                        event["embedding"] = json!(pseudo_vector(&turn.text, dimensions));
                    }
                    serde_json::from_value::<EventInput>(event)
                })
                .collect::<Result<Vec<_>, _>>()?;
            for batch in events.chunks(500) {
                store.append_events(batch.to_vec())?;
            }
            ingested.insert(question.conversation.clone(), end);
        }
        let session = question.session.clone().unwrap_or_else(|| "question".to_string());
        let mut request = BuildRequest::new(scope(&question.conversation, &session), Purpose::Responder);
        request.query = Some(question.query.clone());
        if dimensions > 0 {
            request.query_embedding = Some(pseudo_vector(&question.query, dimensions));
        }
        request.now = question.time.as_deref().map(|time| time.parse()).transpose()?;
        request.budget = Budget { max_tokens: budget, ..Budget::default() };
        for round in 0..3 {
            let started = Instant::now();
            let packet = build_memory_packet(store.as_ref(), request.clone())?;
            let elapsed = started.elapsed().as_secs_f64() * 1e3;
            if round == 0 {
                cold.push(elapsed);
            } else {
                warm.push(elapsed);
                let timings = &packet.explain.timings_us;
                for (stage, value) in [
                    ("candidates", timings.candidates),
                    ("score", timings.score),
                    ("assemble", timings.assemble),
                    ("render", timings.render),
                ] {
                    stages.entry(stage).or_default().push(value);
                }
            }
        }
    }
    for values in [&mut cold, &mut warm] {
        values.sort_by(f64::total_cmp);
    }
    println!(
        "{backend}, {} questions, {budget} tokens, vectors of {dimensions} dimensions: cold p50 {:.3} ms p95 {:.3}; warm p50 {:.3} ms p95 {:.3}",
        questions.len(),
        percentile(&cold, 50.0),
        percentile(&cold, 95.0),
        percentile(&warm, 50.0),
        percentile(&warm, 95.0)
    );
    for (stage, mut values) in stages {
        values.sort_unstable();
        println!("  {stage}: median {} us", values.get(values.len() / 2).copied().unwrap_or(0));
    }
    let _ = std::fs::remove_dir_all(directory);
    Ok(())
}
