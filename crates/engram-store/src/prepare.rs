//! Turning write inputs into stored records, the same way for every backend: validation,
//! defaults, generated ids, derived text, token counts and index terms.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use engram_types::{
    DEFAULT_FACT_CONFIDENCE, DEFAULT_IMPORTANCE, DEFAULT_INSIGHT_CONFIDENCE, DEFAULT_PRIORITY, Episode, EpisodeInput,
    Event, EventInput, Fact, FactInput, FactStatus, Insight, InsightInput, Limits, Procedure, ProcedureInput,
    ScopeLevel, Timestamp, Tokenizer,
};

use crate::error::{Error, Result};
use crate::lexical::DocumentTerms;
use crate::packet::{SpokenDay, line_tail_tokens};
use crate::record::{Record, run_space_key, space_key};
use crate::tokens::count_tokens;

/// Tokens stored with each record are counted with this vocabulary.
pub const STORED_TOKENIZER: Tokenizer = Tokenizer::O200kBase;

/// A record ready to store, with its memory space, index terms and the token count of its
/// packet line's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared<T> {
    pub record: T,
    pub space: String,
    pub terms: DocumentTerms,
    /// Tokens of the text that ends the record's full line in a packet (see
    /// `packet::line_tail_tokens`), so a packet does not count a long text again.
    pub line_tokens: u32,
}

impl<T: Clone> Prepared<T> {
    /// Derives the index terms and line tokens of `record`, seen as a [`Record`] through `wrap`.
    fn new(record: T, space: String, wrap: fn(T) -> Record) -> Self {
        let whole = wrap(record.clone());
        let terms = document_terms(&whole);
        let line_tokens = line_tail_tokens(&whole);
        Self { record, space, terms, line_tokens }
    }

    /// The same prepared record as a [`Record`], as a backend stores it.
    pub fn wrapped(&self, wrap: fn(T) -> Record) -> Prepared<Record> {
        let (space, terms) = (self.space.clone(), self.terms.clone());
        Prepared { record: wrap(self.record.clone()), space, terms, line_tokens: self.line_tokens }
    }
}

/// Timestamps are kept to the millisecond on every backend, so reads compare equal everywhere.
pub fn normalize_time(instant: Timestamp) -> Timestamp {
    DateTime::<Utc>::from_timestamp_millis(instant.timestamp_millis()).unwrap_or(instant)
}

/// The wall clock, to the millisecond.
pub fn now() -> Timestamp {
    normalize_time(Utc::now())
}

/// Time-ordered (UUIDv7), so generated ids land at the end of the id index instead of on
/// a random page of it.
fn generated_id(prefix: &str) -> String {
    let mut buffer = uuid::Uuid::encode_buffer();
    [prefix, uuid::Uuid::now_v7().simple().encode_lower(&mut buffer)].join("_")
}

fn tokens_of(text: &str) -> u32 {
    count_tokens(STORED_TOKENIZER, text)
}

fn dedupe(labels: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    labels.into_iter().filter(|label| seen.insert(label.clone())).collect()
}

pub fn event(input: EventInput, now: Timestamp, limits: &Limits) -> Result<Prepared<Event>> {
    input.validate(limits)?;
    let text = input.derived_text();
    let role = input.derived_role();
    let space = space_key(&input.scope, ScopeLevel::User);
    let record = Event {
        event_id: input.event_id.unwrap_or_else(|| generated_id("evt")),
        ts: normalize_time(input.ts.unwrap_or(now)),
        kind: input.kind,
        role,
        token_count: tokens_of(&text),
        text,
        payload: input.payload,
        tags: dedupe(input.tags),
        entities: dedupe(input.entities),
        importance: input.importance.unwrap_or(DEFAULT_IMPORTANCE),
        expires_at: input.expires_at.map(normalize_time),
        embedding: input.embedding,
        scope: input.scope,
        sequence: None,
    };
    Ok(Prepared::new(record, space, Record::Event))
}

pub fn fact(input: FactInput, now: Timestamp, limits: &Limits) -> Result<Prepared<Fact>> {
    input.validate(limits)?;
    let text = input.rendered_text();
    let space = space_key(&input.scope, input.scope_level);
    let recorded_at = normalize_time(input.recorded_at.unwrap_or(now));
    let record = Fact {
        fact_id: input.fact_id.unwrap_or_else(|| generated_id("fact")),
        scope_level: input.scope_level,
        fact_key: input.fact_key,
        value: input.value,
        token_count: tokens_of(&text),
        text,
        status: FactStatus::Active,
        valid_from: normalize_time(input.valid_from.unwrap_or(recorded_at)),
        valid_to: None,
        recorded_at,
        confidence: input.confidence.unwrap_or(DEFAULT_FACT_CONFIDENCE),
        importance: input.importance.unwrap_or(DEFAULT_IMPORTANCE),
        sources: dedupe(input.sources),
        tags: dedupe(input.tags),
        entities: dedupe(input.entities),
        expires_at: input.expires_at.map(normalize_time),
        superseded_by: None,
        supersedes: None,
        embedding: input.embedding,
        scope: input.scope,
    };
    Ok(Prepared::new(record, space, Record::Fact))
}

/// What an upsert must do, decided from the active fact with the same key (if any).
#[expect(clippy::large_enum_variant, reason = "built once per upsert and consumed at once")]
#[derive(Debug, Clone, PartialEq)]
pub enum FactPlan {
    /// Insert the new fact.
    Create(Prepared<Fact>),
    /// Mark `previous` superseded (its new state given) and insert the new fact.
    Supersede { previous: Fact, new: Prepared<Fact> },
    /// Same value: update the active fact in place (confidence, sources), no new row.
    Refresh(Fact),
}

pub fn plan_fact(active: Option<Fact>, mut new: Prepared<Fact>) -> FactPlan {
    let Some(mut active) = active else {
        return FactPlan::Create(new);
    };
    if active.value == new.record.value {
        active.confidence = new.record.confidence;
        for source in new.record.sources {
            if !active.sources.contains(&source) {
                active.sources.push(source);
            }
        }
        return FactPlan::Refresh(active);
    }
    active.status = FactStatus::Superseded;
    active.valid_to = Some(new.record.valid_from.max(active.valid_from));
    active.superseded_by = Some(new.record.fact_id.clone());
    new.record.supersedes = Some(active.fact_id.clone());
    FactPlan::Supersede { previous: active, new }
}

pub fn episode(input: EpisodeInput, limits: &Limits) -> Result<Prepared<Episode>> {
    input.validate(limits)?;
    let space = space_key(&input.scope, input.scope_level);
    let record = Episode {
        episode_id: input.episode_id.unwrap_or_else(|| generated_id("ep")),
        scope_level: input.scope_level,
        start_ts: normalize_time(input.start_ts),
        end_ts: normalize_time(input.end_ts),
        token_count: tokens_of(&input.summary),
        summary: input.summary,
        highlights: input.highlights,
        tags: dedupe(input.tags),
        entities: dedupe(input.entities),
        sources: dedupe(input.sources),
        compression_level: input.compression_level,
        importance: input.importance.unwrap_or(DEFAULT_IMPORTANCE),
        expires_at: input.expires_at.map(normalize_time),
        embedding: input.embedding,
        scope: input.scope,
    };
    Ok(Prepared::new(record, space, Record::Episode))
}

/// `use_count` carries over from the version being replaced.
pub fn procedure(
    input: ProcedureInput,
    now: Timestamp,
    use_count: u64,
    limits: &Limits,
) -> Result<Prepared<Procedure>> {
    input.validate(limits)?;
    let text = input.rendered_text();
    let space = space_key(&input.scope, input.scope_level);
    let record = Procedure {
        procedure_id: input.procedure_id.unwrap_or_else(|| generated_id("proc")),
        scope_level: input.scope_level,
        task_type: input.task_type,
        title: input.title,
        steps: input.steps,
        content: input.content,
        token_count: tokens_of(&text),
        text,
        priority: input.priority.unwrap_or(DEFAULT_PRIORITY),
        applicability: input.applicability,
        tags: dedupe(input.tags),
        entities: dedupe(input.entities),
        use_count,
        updated_at: normalize_time(input.updated_at.unwrap_or(now)),
        expires_at: input.expires_at.map(normalize_time),
        embedding: input.embedding,
        scope: input.scope,
    };
    Ok(Prepared::new(record, space, Record::Procedure))
}

pub fn insight(input: InsightInput, now: Timestamp, limits: &Limits) -> Result<Prepared<Insight>> {
    input.validate(limits)?;
    let space = run_space_key(&input.scope);
    let record = Insight {
        insight_id: input.insight_id.unwrap_or_else(|| generated_id("ins")),
        kind: input.kind,
        token_count: tokens_of(&input.text),
        text: input.text,
        confidence: input.confidence.unwrap_or(DEFAULT_INSIGHT_CONFIDENCE),
        validation: input.validation,
        tags: dedupe(input.tags),
        entities: dedupe(input.entities),
        sources: dedupe(input.sources),
        created_at: normalize_time(input.created_at.unwrap_or(now)),
        expires_at: input.expires_at.map(normalize_time),
        scope: input.scope,
        promoted_to: None,
    };
    Ok(Prepared::new(record, space, Record::Insight))
}

/// The memory space a stored record lives in.
pub fn record_space(record: &Record) -> String {
    match record {
        Record::Event(event) => space_key(&event.scope, ScopeLevel::User),
        Record::Fact(fact) => space_key(&fact.scope, fact.scope_level),
        Record::Episode(episode) => space_key(&episode.scope, episode.scope_level),
        Record::Procedure(procedure) => space_key(&procedure.scope, procedure.scope_level),
        Record::Insight(insight) => run_space_key(&insight.scope),
    }
}

/// Whether a stored record has postings: every record but superseded facts, which leave the
/// lexical index when a newer version takes their key.
pub fn is_indexed(record: &Record) -> bool {
    !matches!(record, Record::Fact(fact) if fact.status == FactStatus::Superseded)
}

/// Checks an exported record as the write that made it was checked: limits, ranges, ids, and
/// text derived from other fields being what a write derives.
pub fn check_restored(record: &Record, limits: &Limits) -> std::result::Result<(), engram_types::ValidationError> {
    match record {
        Record::Event(event) => event.validate(limits),
        Record::Fact(fact) => fact.validate(limits),
        Record::Episode(episode) => episode.validate(limits),
        Record::Procedure(procedure) => procedure.validate(limits),
        Record::Insight(insight) => insight.validate(limits),
    }
}

/// An exported record made ready to store again (imports): checked as on a write
/// ([`check_restored`]), its times kept to the millisecond, its token count counted again (it
/// is derived, not trusted), its space and terms derived.
pub fn restored(record: Record, limits: &Limits) -> Result<Prepared<Record>> {
    check_restored(&record, limits)?;
    let record = match record {
        Record::Event(mut event) => {
            event.ts = normalize_time(event.ts);
            event.expires_at = event.expires_at.map(normalize_time);
            event.token_count = tokens_of(&event.text);
            Record::Event(event)
        }
        Record::Fact(mut fact) => {
            fact.token_count = tokens_of(&fact.text);
            fact.recorded_at = normalize_time(fact.recorded_at);
            fact.valid_from = normalize_time(fact.valid_from);
            fact.valid_to = fact.valid_to.map(normalize_time);
            fact.expires_at = fact.expires_at.map(normalize_time);
            Record::Fact(fact)
        }
        Record::Episode(mut episode) => {
            episode.token_count = tokens_of(&episode.summary);
            episode.start_ts = normalize_time(episode.start_ts);
            episode.end_ts = normalize_time(episode.end_ts);
            episode.expires_at = episode.expires_at.map(normalize_time);
            Record::Episode(episode)
        }
        Record::Procedure(mut procedure) => {
            procedure.token_count = tokens_of(&procedure.text);
            procedure.updated_at = normalize_time(procedure.updated_at);
            procedure.expires_at = procedure.expires_at.map(normalize_time);
            Record::Procedure(procedure)
        }
        Record::Insight(mut insight) => {
            insight.token_count = tokens_of(&insight.text);
            insight.created_at = normalize_time(insight.created_at);
            insight.expires_at = insight.expires_at.map(normalize_time);
            Record::Insight(insight)
        }
    };
    let space = record_space(&record);
    let terms = if is_indexed(&record) { document_terms(&record) } else { DocumentTerms::default() };
    let line_tokens = line_tail_tokens(&record);
    Ok(Prepared { record, space, terms, line_tokens })
}

/// Longest speaker name indexed: longer `payload.name` values are tool names or data.
const MAX_SPEAKER_BYTES: usize = 64;

/// The text a record is indexed by (tags and entities are indexed apart, as cue terms).
/// An event adds who spoke and when (`user Lisa December 25 2023 Monday`), so "what did Lisa
/// say at Christmas" finds it. Fields weigh by repetition, BM25F-style: a fact's key and a
/// procedure's title and task type count twice, being what the record is about.
pub fn document_text(record: &Record) -> String {
    fn key_words(key: &str) -> String {
        key.replace(['.', '_', '-', '/', ':'], " ")
    }
    match record {
        Record::Event(event) => {
            // A message's `name` is who spoke; a tool call's is the tool, already in its text.
            let speaker = ["name", "speaker"]
                .iter()
                .filter(|_| event.kind == engram_types::EventKind::Message)
                .find_map(|key| event.payload.get(*key).and_then(serde_json::Value::as_str))
                .filter(|name| name.len() <= MAX_SPEAKER_BYTES)
                .unwrap_or("");
            let mut document = String::with_capacity(event.text.len() + event.role.len() + speaker.len() + 32);
            for part in [event.text.as_str(), " ", event.role.as_str(), " ", speaker, " "] {
                document.push_str(part);
            }
            // Writing to a String cannot fail.
            let _ = write!(document, "{}", SpokenDay(event.ts));
            document
        }
        Record::Fact(fact) => {
            let key = key_words(&fact.fact_key);
            format!("{key} {key} {}", fact.text)
        }
        Record::Episode(episode) => std::iter::once(episode.summary.as_str())
            .chain(episode.highlights.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        Record::Procedure(procedure) => {
            let task = key_words(&procedure.task_type);
            format!(
                "{task} {task} {} {} {}",
                procedure.title,
                procedure.applicability.as_deref().unwrap_or(""),
                procedure.text
            )
        }
        Record::Insight(insight) => insight.text.clone(),
    }
}

/// What a stored record contributes to the lexical index. Writes index these terms and the
/// packet builder scores [`document_text`], so both always agree.
pub fn document_terms(record: &Record) -> DocumentTerms {
    let (tags, entities): (&[String], &[String]) = match record {
        Record::Event(event) => (&event.tags, &event.entities),
        Record::Fact(fact) => (&fact.tags, &fact.entities),
        Record::Episode(episode) => (&episode.tags, &episode.entities),
        Record::Procedure(procedure) => (&procedure.tags, &procedure.entities),
        Record::Insight(insight) => (&insight.tags, &insight.entities),
    };
    DocumentTerms::new(&document_text(record), tags, entities)
}

/// A procedure id may only be reused by the user and agent that own it: replacing another
/// owner's procedure is a `Conflict`.
pub fn check_procedure_owner(existing: &engram_types::Procedure, input: &engram_types::ProcedureInput) -> Result<()> {
    let (left, right) = (&existing.scope, &input.scope);
    if left.tenant_id != right.tenant_id || left.user_id != right.user_id || left.agent_id != right.agent_id {
        return Err(crate::Error::Conflict {
            entity: "procedure",
            id: existing.procedure_id.clone(),
            detail: "procedure_id belongs to another user or agent".into(),
        });
    }
    Ok(())
}

/// Applies an update to a stored insight. An insight is promoted once: an update naming what it
/// became is a `Conflict` when it already became something. Backends call this with the stored
/// insight read under their write lock (a row lock on servers), so racing promotions see it.
pub fn update_insight(update: &engram_types::InsightUpdate, insight: &mut Insight) -> Result<()> {
    if update.promoted_to.is_some()
        && let Some(target) = &insight.promoted_to
    {
        return Err(Error::already_promoted(&insight.insight_id, target));
    }
    update.apply_to(insight);
    Ok(())
}
