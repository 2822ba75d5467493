//! Stage 1: candidates per section, each from a bounded query (lexical, cue, most recent,
//! most important), merged by record id. Filters that need no score happen here too.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use engram_types::{
    BuildRequest, CompressionLevel, Event, OmissionReason, OmittedItem, Section, ShortTermState, Signals, Timestamp,
    WorkingState,
};

use crate::engine::{window_events, window_request};
use crate::error::Result;
use crate::lexical::{Bm25, IndexedTerms, TermScores, cue_term, for_each_term};
use crate::maintenance::{StateOwner, StoredState};
use crate::prepare::{document_terms, document_text};
use crate::reads::ReadBatch;
use crate::record::{FetchRequest, Fetched, Reach, Record, RecordKind, Selector};
use crate::store::Snapshot;

use super::purpose::admits_insight;
use super::similarity::QueryVector;
use super::source::{Source, Sources};
use super::sources::{Named, SectionReads, Statistics, name_sources, plan_sources};

/// Positions of matched query terms, inline: a packet scores thousands of candidates.
pub(super) type MatchedTerms = SmallVec<[u32; 6]>;

/// A record competing for a place in the packet.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub section: Section,
    /// The record's sequence number (its write order in its table).
    pub sequence: i64,
    /// Shared with the fetch that found it (the in-memory store's own copy): candidates are
    /// moved while they are merged and placed, and most are left out.
    pub record: Arc<Record>,
    /// The record's indexed terms when the store had them at hand (see [`Fetched::terms`]).
    pub terms: Option<IndexedTerms>,
    /// The record's line tokens kept from write time (see [`Fetched::line_tokens`]).
    pub line_tokens: Option<u32>,
    pub sources: Sources,
    /// Raw BM25 of the query terms; normalized per section when scored.
    pub bm25: f64,
    /// Cosine similarity of the record's vector to the query's, when both exist.
    pub similarity: Option<f64>,
    /// The query terms the record holds (positions in `QueryTerms::terms`), by contribution.
    pub matched_terms: MatchedTerms,
    pub cue_hits: Vec<String>,
    pub signals: Signals,
    pub score: f64,
    /// A turn added as context of this recalled event (see `context.rs`).
    pub context_of: Option<String>,
    /// A fact that changed lately: the version it replaced (see `changes.rs`).
    pub replaced: Option<Box<engram_types::Fact>>,
    /// A recalled event that states what this newer fact replaced (see `changes.rs`).
    pub outdated_by: Option<String>,
}

impl Candidate {
    pub(super) fn new(section: Section, fetched: Fetched, source: Source) -> Self {
        Self::found_by(section, fetched, Sources::of(source))
    }

    /// A candidate every one of `sources` found.
    pub(super) fn found_by(section: Section, fetched: Fetched, sources: Sources) -> Self {
        let Fetched { sequence, record, terms, line_tokens } = fetched;
        Self {
            section,
            sequence,
            record,
            terms,
            line_tokens,
            sources,
            bm25: 0.0,
            similarity: None,
            matched_terms: MatchedTerms::new(),
            cue_hits: Vec::new(),
            signals: Signals::default(),
            score: 0.0,
            context_of: None,
            replaced: None,
            outdated_by: None,
        }
    }

    pub(super) fn id(&self) -> &str {
        self.record.id()
    }
}

/// Sorts candidates best first, ties by id. The keys are sorted, not the candidates: a
/// candidate is hundreds of bytes to move.
pub(super) fn sort_best_first(candidates: &mut Vec<Candidate>) {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&left, &right| {
        let (left, right) = (&candidates[left], &candidates[right]);
        right.score.total_cmp(&left.score).then_with(|| left.id().cmp(right.id()))
    });
    if order.iter().enumerate().all(|(position, index)| position == *index) {
        return;
    }
    let mut slots: Vec<Option<Candidate>> = std::mem::take(candidates).into_iter().map(Some).collect();
    // Sized first: growing a vector of candidates copies them all, again and again.
    candidates.reserve_exact(slots.len());
    candidates.extend(order.into_iter().filter_map(|index| slots[index].take()));
}

/// The analyzed query: text terms (query + keywords) and cue terms (tags, entities).
#[derive(Debug, Clone, Default)]
pub(super) struct QueryTerms {
    pub terms: Vec<String>,
    /// (index term, the cue as the agent wrote it)
    pub cues: Vec<(String, String)>,
    /// Each text term and the first query word it came from, as the agent wrote it.
    pub words: BTreeMap<String, String>,
}

impl QueryTerms {
    pub(super) fn new(request: &BuildRequest) -> Self {
        let mut seen = HashSet::new();
        let text = std::iter::once(request.query.as_deref().unwrap_or(""))
            .chain(request.cues.keywords.iter().map(String::as_str));
        // One pass: the analyzer cuts text at ASCII whitespace before anything else, so the
        // chunks' terms in order are the text's, and each term's first chunk is its query word.
        let mut words = BTreeMap::new();
        let mut terms = Vec::new();
        for chunk in text.flat_map(str::split_ascii_whitespace) {
            for_each_term(chunk, |term| {
                if seen.insert(term.to_string()) {
                    terms.push(term.to_string());
                    let written = chunk.trim_matches(|character: char| !character.is_alphanumeric());
                    words.insert(term.to_string(), written.to_string());
                }
            });
        }
        let tags = request.cues.tags.iter().map(|tag| (cue_term('#', tag), tag.clone()));
        let entities = request.cues.entities.iter().map(|entity| (cue_term('@', entity), entity.clone()));
        let cues = tags.chain(entities).filter(|(term, _)| seen.insert(term.clone())).collect();
        Self { terms, cues, words }
    }

    pub(super) fn all(&self) -> Vec<String> {
        self.terms.iter().cloned().chain(self.cues.iter().map(|(term, _)| term.clone())).collect()
    }
}

/// Everything stage 1 found.
#[derive(Debug, Default)]
pub(super) struct Gathered {
    pub working_state: Option<WorkingState>,
    pub short_term: ShortTermState,
    /// The conversation window, oldest first.
    pub window: Vec<Event>,
    pub sections: BTreeMap<Section, Vec<Candidate>>,
    pub omitted: Vec<OmittedItem>,
    /// The sequences each scored section considered, whatever became of them: its candidates.
    pub considered: BTreeMap<Section, FxHashSet<i64>>,
    pub capped_terms: BTreeSet<String>,
    /// Current (indexed) facts in the scope's fact spaces, when a read told (policy guard).
    pub fact_documents: Option<u64>,
}

/// The scored sections and where their records live.
const SCORED: [(Section, RecordKind, Reach); 5] = [
    (Section::Facts, RecordKind::Fact, Reach::Space),
    (Section::Episodes, RecordKind::Episode, Reach::Space),
    (Section::Procedures, RecordKind::Procedure, Reach::Space),
    (Section::Insights, RecordKind::Insight, Reach::Run),
    (Section::Recall, RecordKind::Event, Reach::Space),
];

/// Reads the candidates in two phases of independent reads: first the states, the window's
/// sequences and what each section's sources name (postings, newest, most important,
/// vectors); then the window's events and the records named, one read per section.
pub(super) fn gather(
    snapshot: &mut dyn Snapshot,
    request: &BuildRequest,
    query: &QueryTerms,
    now: Timestamp,
) -> Result<Gathered> {
    let policy = &request.policy;
    let mut gathered = Gathered::default();
    let searching = !query.terms.is_empty() || !query.cues.is_empty();

    let mut first = ReadBatch::default();
    let working_state = first.state(StateOwner::of_run(&request.scope));
    let short_term = first.state(StateOwner::of_session(&request.scope));
    // The window's sequences first and its events with the candidates: a server's first
    // statement then returns narrow rows only (sequences, postings, states).
    let window_read =
        (policy.conversation_window > 0).then(|| window_request(&request.scope, policy.conversation_window));
    let window = window_read.clone().map(|read| first.sequences(read));
    let sections: Vec<SectionReads> =
        SCORED.into_iter().map(|scored| plan_sources(&mut first, request, query, searching, scored)).collect();
    let mut answers = first.run(snapshot)?;

    let working_state = match answers.take(working_state)? {
        Some(StoredState::WorkingState { state, .. }) => state,
        _ => WorkingState::default(),
    };
    // An ended run's state is history: readable, no longer context.
    let live = working_state.version > 0 && working_state.ended_at.is_none_or(|ended_at| ended_at > now);
    gathered.working_state = live.then_some(working_state);
    gathered.short_term = match answers.take(short_term)? {
        Some(StoredState::ShortTerm { state, .. }) => state,
        _ => ShortTermState::default(),
    };
    let mut second = ReadBatch::default();
    let window = match (window_read, window) {
        (Some(mut read), Some(ticket)) => {
            let sequences = answers.take(ticket)?;
            read.selector = Selector::Sequences(sequences.clone());
            Some((sequences, second.fetch(read)))
        }
        _ => None,
    };
    let mut named = Vec::with_capacity(sections.len());
    for reads in sections {
        let sources = name_sources(&mut answers, request, query, &reads, &mut gathered)?;
        // Each record once, in sequence order.
        let mut sequences: Vec<i64> = match &sources {
            Named::Small { sequences, .. } => sequences.clone(),
            Named::Recall { text, grown, cue, vector, .. } => {
                text.iter().chain(grown).chain(cue).chain(vector).copied().collect()
            }
            Named::Sources { sources, .. } => sources.keys().copied().collect(),
        };
        sequences.sort_unstable();
        sequences.dedup();
        let fetch = (!sequences.is_empty()).then(|| {
            let limit = u32::try_from(sequences.len()).unwrap_or(u32::MAX);
            second.fetch(FetchRequest::new(
                reads.kind,
                request.scope.clone(),
                reads.reach,
                Selector::Sequences(sequences),
                limit,
            ))
        });
        named.push((reads.section, sources, fetch));
    }
    let mut records = second.run(snapshot)?;
    if let Some((sequences, ticket)) = window {
        gathered.window = window_events(in_order(&sequences, records.take(ticket)?));
    }

    let window_ids: HashSet<&str> = gathered.window.iter().map(|event| event.event_id.as_str()).collect();
    for (section, sources, fetch) in named {
        let fetched = match fetch {
            Some(fetch) => records.take(fetch)?,
            None => Vec::new(),
        };
        let (mut kept, statistics, small_read) = candidates_of(request, query, section, sources, fetched);
        gathered.considered.insert(section, kept.iter().map(|candidate| candidate.sequence).collect());
        let mut excluded = Vec::new();
        kept.retain(|candidate| {
            let reason = exclusion(request, candidate, now, &window_ids);
            if let Some(reason) = reason {
                excluded.push(OmittedItem { id: candidate.id().to_string(), section, reason, score: None });
            }
            reason.is_none()
        });
        omit_in_id_order(&mut gathered.omitted, excluded);
        let query_vector = request.query_embedding.as_deref().map(QueryVector::new);
        for candidate in &mut kept {
            candidate.cue_hits = cue_hits(&candidate.record, query);
            if let Some(query_vector) = &query_vector {
                candidate.similarity =
                    candidate.record.embedding().map(|embedding| query_vector.similarity(embedding)).transpose()?;
                if small_read && candidate.similarity.is_some() {
                    candidate.sources.insert(Source::Vector);
                }
            }
            if let Some((bm25, frequencies)) = &statistics {
                relevance(candidate, bm25, frequencies);
            }
        }
        if section == Section::Episodes {
            let mut weak = Vec::new();
            kept.retain(|candidate| {
                let cued = weakly_cued(candidate, now);
                if cued {
                    weak.push(OmittedItem {
                        id: candidate.id().to_string(),
                        section,
                        reason: OmissionReason::WeakCue,
                        score: None,
                    });
                }
                !cued
            });
            omit_in_id_order(&mut gathered.omitted, weak);
        }
        tracing::debug!(section = section.as_str(), candidates = kept.len(), "candidates gathered");
        gathered.sections.insert(section, kept);
    }
    Ok(gathered)
}

/// A section's candidates from the records its sources named (each once, in no set order), with
/// the statistics that score them, and whether the section was read whole.
fn candidates_of(
    request: &BuildRequest,
    query: &QueryTerms,
    section: Section,
    named: Named,
    fetched: Vec<Fetched>,
) -> (Vec<Candidate>, Option<Statistics>, bool) {
    let mut found: Vec<Candidate> = Vec::with_capacity(fetched.len());
    let (statistics, small_read) = match named {
        Named::Small { totals, .. } => {
            let small = small_section(fetched, query, totals);
            for (fetched, document) in small.records {
                let mut candidate = Candidate::new(section, fetched, Source::Recent);
                candidate.sources.insert(Source::Importance);
                if small.frequencies.iter().any(|(term, _)| holds(&document, term)) {
                    candidate.sources.insert(Source::Lexical);
                }
                if query.cues.iter().any(|(term, _)| holds(&document, term)) {
                    candidate.sources.insert(Source::Cue);
                }
                // The terms are readable (`small_section` replaced damaged ones).
                let (score, matched) = small
                    .bm25
                    .score_document(&document, &small.frequencies)
                    .unwrap_or_else(|| (0.0, TermScores::new()));
                set_relevance(&mut candidate, score, matched, &small.frequencies);
                found.push(candidate);
            }
            (None, true)
        }
        Named::Recall { text, grown, cue, vector, statistics } => {
            let by_sequence: FxHashMap<i64, Fetched> =
                fetched.into_iter().map(|fetched| (fetched.sequence, fetched)).collect();
            let mut positions: FxHashMap<i64, usize> =
                FxHashMap::with_capacity_and_hasher(by_sequence.len(), Default::default());
            let mut add = |sequences: &[i64], source: Source, by_sequence: &FxHashMap<i64, Fetched>| {
                for fetched in sequences.iter().filter_map(|sequence| by_sequence.get(sequence)) {
                    match positions.get(&fetched.sequence) {
                        Some(position) => found[*position].sources.insert(source),
                        None => {
                            positions.insert(fetched.sequence, found.len());
                            found.push(Candidate::new(section, fetched.clone(), source));
                        }
                    }
                }
            };
            add(&text, Source::Lexical, &by_sequence);
            // A grown pool is read with the rest, and joins only when the first matches leave the
            // budget unfilled (as when it was read after them).
            let first_tokens: u64 = text
                .iter()
                .filter_map(|sequence| by_sequence.get(sequence))
                .map(|fetched| u64::from(fetched.record.token_count()))
                .sum();
            if first_tokens < u64::from(request.budget.max_tokens) {
                add(&grown, Source::Lexical, &by_sequence);
            }
            add(&cue, Source::Cue, &by_sequence);
            add(&vector, Source::Vector, &by_sequence);
            (statistics, false)
        }
        Named::Sources { mut sources, statistics } => {
            for fetched in fetched {
                let found_by = sources.remove(&fetched.sequence).unwrap_or_default();
                found.push(Candidate::found_by(section, fetched, found_by));
            }
            (statistics, false)
        }
    };
    (found, statistics, small_read)
}

/// Lists one step's omissions in id order: candidates come in the order their reads named
/// them, and scoring orders them by itself (ties by id).
fn omit_in_id_order(omitted: &mut Vec<OmittedItem>, mut items: Vec<OmittedItem>) {
    items.sort_by(|left, right| left.id.cmp(&right.id));
    omitted.append(&mut items);
}

/// Records fetched by sequence, in the order `sequences` named them (a by-sequence fetch
/// returns the newest sequence first; the window is ordered by time).
fn in_order(sequences: &[i64], fetched: Vec<Fetched>) -> Vec<Fetched> {
    let mut by_sequence: FxHashMap<i64, Fetched> =
        fetched.into_iter().map(|fetched| (fetched.sequence, fetched)).collect();
    sequences.iter().filter_map(|sequence| by_sequence.remove(sequence)).collect()
}

/// A section whose spaces hold no more records than one candidate query returns.
struct SmallSection {
    /// Every current record, with its analyzed terms.
    records: Vec<(Fetched, IndexedTerms)>,
    bm25: Bm25,
    frequencies: Vec<(String, u64)>,
}

/// A section read whole ([`Named::Small`]): every indexed record with readable terms, and the
/// df of the query's terms counted exactly from them. The candidates are then exactly those
/// the postings, recency and importance reads would have found (each returns every record).
fn small_section(fetched: Vec<Fetched>, query: &QueryTerms, bm25: Bm25) -> SmallSection {
    let records: Vec<(Fetched, IndexedTerms)> = fetched
        .into_iter()
        .map(|fetched| {
            // Readable terms from here on: damaged stored ones are replaced by the analyzed text.
            let terms = fetched
                .terms
                .clone()
                .filter(IndexedTerms::readable)
                .unwrap_or_else(|| IndexedTerms::Analyzed(Arc::new(document_terms(&fetched.record))));
            (fetched, terms)
        })
        .collect();
    let frequencies = query
        .terms
        .iter()
        .map(|term| (term.clone(), records.iter().filter(|(_, document)| holds(document, term)).count() as u64))
        .collect();
    let records = records.into_iter().filter(|(fetched, _)| fetched.record.is_active()).collect();
    SmallSection { records, bm25, frequencies }
}

/// Why a candidate cannot enter at all, before any scoring.
pub(super) fn exclusion(
    request: &BuildRequest,
    candidate: &Candidate,
    now: Timestamp,
    window_ids: &HashSet<&str>,
) -> Option<OmissionReason> {
    let record = &candidate.record;
    if record.expires_at().is_some_and(|expires_at| expires_at <= now) {
        return Some(OmissionReason::Expired);
    }
    if let Record::Fact(fact) = &**record
        && fact.status == engram_types::FactStatus::Superseded
    {
        return Some(OmissionReason::Superseded);
    }
    if let Record::Insight(insight) = &**record
        && !admits_insight(request.purpose, insight.validation)
    {
        return Some(OmissionReason::PurposeGate);
    }
    if candidate.section == Section::Recall && window_ids.contains(record.id()) {
        return Some(OmissionReason::Duplicate);
    }
    if request.cues.time_range.as_ref().is_some_and(|range| !range.contains(record.time())) {
        return Some(OmissionReason::TimeWindow);
    }
    None
}

/// An episode ages through compression levels (raw up to 7 days, phase to 30, milestone to
/// 90, theme beyond; or the level it was stored with, if higher). Each level past raw needs
/// one more matched query term or cue (or a place among the vector source's best) to enter:
/// 1 for phase, 2 for milestone, 3 for theme.
fn weakly_cued(candidate: &Candidate, now: Timestamp) -> bool {
    let Record::Episode(episode) = &*candidate.record else { return false };
    let age_days = (now - episode.end_ts).num_days();
    let by_age = match age_days {
        ..=7 => CompressionLevel::Raw,
        8..=30 => CompressionLevel::Phase,
        31..=90 => CompressionLevel::Milestone,
        _ => CompressionLevel::Theme,
    };
    let needed = match by_age.max(episode.compression_level) {
        CompressionLevel::Raw => 0,
        CompressionLevel::Phase => 1,
        CompressionLevel::Milestone => 2,
        CompressionLevel::Theme => 3,
    };
    // Being among the most similar to the query vector counts as one match.
    let vector_match = usize::from(candidate.sources.contains(Source::Vector));
    candidate.matched_terms.len() + candidate.cue_hits.len() + vector_match < needed
}

/// The request's tags and entities a record carries, as the agent wrote them.
fn cue_hits(record: &Record, query: &QueryTerms) -> Vec<String> {
    if query.cues.is_empty() {
        return Vec::new();
    }
    let (tags, entities) = labels(record);
    let own: HashSet<String> =
        tags.iter().map(|tag| cue_term('#', tag)).chain(entities.iter().map(|entity| cue_term('@', entity))).collect();
    query.cues.iter().filter(|(term, _)| own.contains(term)).map(|(_, cue)| cue.clone()).collect()
}

/// Exact BM25 of the query terms, with the matched terms by contribution: from the terms the
/// record was indexed with when the store kept them readable, else from its text analyzed
/// again (the same terms either way).
fn relevance(candidate: &mut Candidate, bm25: &Bm25, frequencies: &[(String, u64)]) {
    let stored = candidate.terms.as_ref().and_then(|terms| {
        let scored = bm25.score_document(terms, frequencies);
        if scored.is_none() {
            tracing::warn!(id = candidate.id(), "stored index terms are unreadable; scoring the analyzed text");
        }
        scored
    });
    let (score, matched) = stored.unwrap_or_else(|| bm25.score(&document_text(&candidate.record), frequencies));
    set_relevance(candidate, score, matched, frequencies);
}

/// Whether a record's (readable) terms hold `term`.
fn holds(document: &IndexedTerms, term: &str) -> bool {
    document.frequency(term).is_some_and(|count| count > 0)
}

/// `terms`: the scored (term, df) list, in the order of `QueryTerms::terms`.
fn set_relevance(candidate: &mut Candidate, score: f64, mut matched: TermScores, terms: &[(String, u64)]) {
    let name = |position: usize| terms.get(position).map(|(term, _)| term.as_str());
    matched.sort_by(|left, right| {
        right.contribution.total_cmp(&left.contribution).then_with(|| name(left.term).cmp(&name(right.term)))
    });
    candidate.bm25 = score;
    candidate.matched_terms = matched.into_iter().filter_map(|term| u32::try_from(term.term).ok()).collect();
}

fn labels(record: &Record) -> (&[String], &[String]) {
    match record {
        Record::Event(event) => (&event.tags, &event.entities),
        Record::Fact(fact) => (&fact.tags, &fact.entities),
        Record::Episode(episode) => (&episode.tags, &episode.entities),
        Record::Procedure(procedure) => (&procedure.tags, &procedure.entities),
        Record::Insight(insight) => (&insight.tags, &insight.entities),
    }
}
