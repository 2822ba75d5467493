//! Stage 1: candidates per section, each from a bounded query (lexical, cue, most recent,
//! most important), merged by record id. Filters that need no score happen here too.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use engram_types::{
    BuildRequest, CompressionLevel, Event, OmissionReason, OmittedItem, Section, ShortTermState, Signals, Timestamp,
    WorkingState,
};

use crate::engine::conversation_window;
use crate::error::Result;
use crate::lexical::{Bm25, IndexedTerms, cue_term, for_each_term};
use crate::prepare::{document_terms, document_text};
use crate::record::{
    FetchRequest, Fetched, PostingsRequest, Reach, Record, RecordKind, Selector, VectorRequest, visible_spaces,
};
use crate::store::Snapshot;

use super::purpose::{admits_insight, recall_fills_budget};
use super::similarity::{QueryVector, dimension_mismatch};

/// Which query found a candidate. Ordered by how telling the source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Source {
    Lexical,
    Vector,
    Cue,
    Recent,
    Importance,
    Window,
    State,
    Context,
}

impl Source {
    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Self::Lexical => "lexical",
            Self::Vector => "vector",
            Self::Cue => "cue",
            Self::Recent => "recent",
            Self::Importance => "importance",
            Self::Window => "window",
            Self::State => "state",
            Self::Context => "context",
        }
    }
}

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
    pub sources: BTreeSet<Source>,
    /// Raw BM25 of the query terms; normalized per section when scored.
    pub bm25: f64,
    /// Cosine similarity of the record's vector to the query's, when both exist.
    pub similarity: Option<f64>,
    pub matched_terms: Vec<String>,
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
        Self::found_by(section, fetched, BTreeSet::from([source]))
    }

    /// A candidate every one of `sources` found.
    pub(super) fn found_by(section: Section, fetched: Fetched, sources: BTreeSet<Source>) -> Self {
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
            matched_terms: Vec::new(),
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

    fn all(&self) -> Vec<String> {
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
    /// The ids each scored section considered, whatever became of them: its candidates.
    pub considered: BTreeMap<Section, BTreeSet<String>>,
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

pub(super) fn gather(
    snapshot: &mut dyn Snapshot,
    request: &BuildRequest,
    query: &QueryTerms,
    now: Timestamp,
) -> Result<Gathered> {
    let policy = &request.policy;
    let mut gathered = Gathered::default();
    let working_state = snapshot.working_state(&request.scope)?.unwrap_or_default();
    // An ended run's state is history: readable, no longer context.
    let live = working_state.version > 0 && working_state.ended_at.is_none_or(|ended_at| ended_at > now);
    gathered.working_state = live.then_some(working_state);
    gathered.short_term = snapshot.short_term(&request.scope)?.unwrap_or_default();
    if policy.conversation_window > 0 {
        gathered.window = conversation_window(snapshot, &request.scope, policy.conversation_window)?;
    }
    let window_ids: HashSet<&str> = gathered.window.iter().map(|event| event.event_id.as_str()).collect();

    for (section, kind, reach) in SCORED {
        let mut found: BTreeMap<String, Candidate> = BTreeMap::new();
        let mut add = |fetched: Vec<Fetched>, source: Source| {
            for fetched in fetched {
                found
                    .entry(fetched.record.id().to_string())
                    .and_modify(|candidate| {
                        candidate.sources.insert(source);
                    })
                    .or_insert_with(|| Candidate::new(section, fetched, source));
            }
        };
        let mut statistics = None;
        let searching = !query.terms.is_empty() || !query.cues.is_empty();
        let small = if searching && section != Section::Recall {
            small_section(snapshot, request, query, kind, reach)?
        } else {
            None
        };
        if let Some(small) = &small
            && section == Section::Facts
        {
            gathered.fact_documents = Some(small.bm25.document_count);
        }
        let small_read = small.is_some();
        if let Some(small) = small {
            // Every record of the section is at hand: they are all the candidates each source
            // would have returned, and their df is counted exactly from them.
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
                let (score, matched) =
                    small.bm25.score_document(&document, &small.frequencies).unwrap_or_else(|| (0.0, Vec::new()));
                set_relevance(&mut candidate, score, matched);
                found.insert(candidate.id().to_string(), candidate);
            }
        } else if section == Section::Recall {
            // Events outside the window enter only by matching the query (words or vector)
            // or a cue: recency alone is what the window is for.
            if searching {
                let lexical = lexical_ranking(snapshot, request, query, kind, &mut gathered.capped_terms)?;
                let (text_matches, cue_matches) = recall_matches(snapshot, request, &lexical, kind, reach)?;
                add(text_matches, Source::Lexical);
                add(cue_matches, Source::Cue);
                statistics = Some((lexical.bm25, lexical.frequencies));
            }
            if let Some(query_embedding) = &request.query_embedding {
                let sequences = vector_sequences(snapshot, request, query_embedding, kind)?;
                add(fetch_sequences(snapshot, request, kind, reach, sequences)?, Source::Vector);
            }
        } else {
            // Each source names its records by sequence; the records they share are read once.
            let limit = policy.candidates_per_source;
            let mut sources: BTreeMap<i64, BTreeSet<Source>> = BTreeMap::new();
            let mut name = |sequences: &[i64], source: Source| {
                for sequence in sequences {
                    sources.entry(*sequence).or_default().insert(source);
                }
            };
            if searching {
                let lexical = lexical_ranking(snapshot, request, query, kind, &mut gathered.capped_terms)?;
                name(&lexical.text_ranked[..lexical.text_ranked.len().min(limit as usize)], Source::Lexical);
                name(&lexical.cue_ranked[..lexical.cue_ranked.len().min(limit as usize)], Source::Cue);
                if section == Section::Facts {
                    gathered.fact_documents = Some(lexical.bm25.document_count);
                }
                statistics = Some((lexical.bm25, lexical.frequencies));
            }
            if let Some(query_embedding) = &request.query_embedding
                && kind != RecordKind::Insight
            {
                name(&vector_sequences(snapshot, request, query_embedding, kind)?, Source::Vector);
            }
            for selector in [Selector::Newest, Selector::MostImportant] {
                let source = if selector == Selector::Newest { Source::Recent } else { Source::Importance };
                let read = FetchRequest::new(kind, request.scope.clone(), reach, selector, limit);
                name(&snapshot.fetch_sequences(&read)?, source);
            }
            let named = sources.keys().copied().collect();
            for fetched in fetch_sequences(snapshot, request, kind, reach, named)? {
                let found_by = sources.remove(&fetched.sequence).unwrap_or_default();
                let candidate = Candidate::found_by(section, fetched, found_by);
                found.insert(candidate.id().to_string(), candidate);
            }
        }

        gathered.considered.insert(section, found.keys().cloned().collect());
        let mut kept = Vec::new();
        for candidate in found.into_values() {
            match exclusion(request, &candidate, now, &window_ids) {
                Some(reason) => {
                    gathered.omitted.push(OmittedItem { id: candidate.id().to_string(), section, reason, score: None })
                }
                None => kept.push(candidate),
            }
        }
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
            kept.retain(|candidate| {
                let cued = weakly_cued(candidate, now);
                if cued {
                    gathered.omitted.push(OmittedItem {
                        id: candidate.id().to_string(),
                        section,
                        reason: OmissionReason::WeakCue,
                        score: None,
                    });
                }
                !cued
            });
        }
        tracing::debug!(section = section.as_str(), candidates = kept.len(), "candidates gathered");
        gathered.sections.insert(section, kept);
    }
    Ok(gathered)
}

/// A section whose spaces hold no more records than one candidate query returns.
struct SmallSection {
    /// Every current record, with its analyzed terms.
    records: Vec<(Fetched, IndexedTerms)>,
    bm25: Bm25,
    frequencies: Vec<(String, u64)>,
}

/// Reads a section whole when it is small: its spaces' document count first (no postings),
/// and if every record fits in one newest-first read, that read. The candidates are then
/// exactly those the postings, recency and importance reads would have found (each returns
/// every record), at a fraction of the statements. `None` when the section is larger.
fn small_section(
    snapshot: &mut dyn Snapshot,
    request: &BuildRequest,
    query: &QueryTerms,
    kind: RecordKind,
    reach: Reach,
) -> Result<Option<SmallSection>> {
    let totals = snapshot.postings(&PostingsRequest {
        kind,
        tenant_id: request.scope.tenant_id.clone(),
        spaces: visible_spaces(&request.scope, kind),
        terms: Vec::new(),
        per_term: 1,
    })?;
    let limit = request.policy.candidates_per_source.min(request.policy.postings_per_term);
    if totals.document_count > u64::from(limit) {
        return Ok(None);
    }
    // The indexed records: active facts (superseded ones leave the index), every other record.
    let mut every = FetchRequest::new(kind, request.scope.clone(), reach, Selector::Newest, limit);
    every.active_only = kind == RecordKind::Fact;
    let fetched = snapshot.fetch(&every)?;
    if fetched.len() as u64 != totals.document_count {
        return Ok(None);
    }
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
    Ok(Some(SmallSection { records, bm25: Bm25::new(totals.document_count, totals.total_length), frequencies }))
}

/// What the lexical source of one section found: the documents ranked for the query's text
/// terms and for its cues, and the numbers BM25 needs.
struct LexicalRanking {
    text_ranked: Vec<i64>,
    cue_ranked: Vec<i64>,
    bm25: Bm25,
    /// (query term, document frequency in the section's spaces)
    frequencies: Vec<(String, u64)>,
}

/// Tokens of budget per recall candidate when short turns cannot fill it (see [`grown_limit`]).
const RECALL_TOKENS_PER_CANDIDATE: u32 = 32;

/// Most recall candidates a grown pool may hold, whatever the budget.
const MOST_RECALL_CANDIDATES: u32 = 256;

/// How many word matches recalled events may fetch when the first `candidates_per_source` hold
/// fewer tokens than the budget and recall may fill it: one per [`RECALL_TOKENS_PER_CANDIDATE`]
/// tokens of the budget (at most [`MOST_RECALL_CANDIDATES`]), if that is more. Short turns fill a
/// large budget only from a pool that grows with it (MADial, 2,048 and 4,096 tokens: 0.753 of the
/// evidence at both from a pool of 32, 0.840 and 0.964 grown); long turns fill it from the first
/// pool, which then stays as it is (RealMem: growing it anyway cost recall with vectors).
fn grown_limit(request: &BuildRequest, kind: RecordKind) -> Option<u32> {
    let limit = request.policy.candidates_per_source;
    let grown = (request.budget.max_tokens / RECALL_TOKENS_PER_CANDIDATE).min(MOST_RECALL_CANDIDATES);
    (kind == RecordKind::Event && limit > 0 && grown > limit && recall_fills_budget(request)).then_some(grown)
}

/// Tokens the fetched records' texts hold (their counts from write time).
fn text_tokens(fetched: &[Fetched]) -> u64 {
    fetched.iter().map(|row| u64::from(row.record.token_count())).sum()
}

/// Reads postings of the query and cue terms and ranks the documents by the idf of the terms
/// they hold (then newest first), so that a fetch stays at `candidates_per_source` rows whatever
/// the postings held (or a pool grown for short recalled turns, [`grown_limit`]).
fn lexical_ranking(
    snapshot: &mut dyn Snapshot,
    request: &BuildRequest,
    query: &QueryTerms,
    kind: RecordKind,
    capped_terms: &mut BTreeSet<String>,
) -> Result<LexicalRanking> {
    let postings = snapshot.postings(&PostingsRequest {
        kind,
        tenant_id: request.scope.tenant_id.clone(),
        spaces: visible_spaces(&request.scope, kind),
        terms: query.all(),
        per_term: request.policy.postings_per_term,
    })?;
    let bm25 = Bm25::new(postings.document_count, postings.total_length);
    // (sequence, weight) per posting, in term order; summed per sequence in `ranked`.
    let mut text_postings: Vec<(i64, f64)> = Vec::new();
    let mut cue_postings: Vec<(i64, f64)> = Vec::new();
    let cue_terms: HashSet<&str> = query.cues.iter().map(|(term, _)| term.as_str()).collect();
    for (term, term_postings) in &postings.terms {
        if term_postings.document_frequency > term_postings.sequences.len() as u64 {
            capped_terms.insert(term.clone());
        }
        let (found, weight) = if cue_terms.contains(term.as_str()) {
            (&mut cue_postings, 1.0)
        } else {
            (&mut text_postings, bm25.idf(term_postings.document_frequency))
        };
        found.extend(term_postings.sequences.iter().map(|sequence| (*sequence, weight)));
    }
    Ok(LexicalRanking {
        text_ranked: ranked(text_postings),
        cue_ranked: ranked(cue_postings),
        bm25,
        frequencies: query
            .terms
            .iter()
            .map(|term| (term.clone(), postings.terms.get(term).map_or(0, |found| found.document_frequency)))
            .collect(),
    })
}

/// Documents by the summed weight of the postings naming them, best first (then newest). A
/// stable sort keeps each document's postings in term order, so the sums are the same floats
/// whatever the number of postings.
fn ranked(mut postings: Vec<(i64, f64)>) -> Vec<i64> {
    postings.sort_by_key(|(sequence, _)| *sequence);
    let mut sums: Vec<(i64, f64)> = Vec::with_capacity(postings.len());
    for (sequence, weight) in postings {
        match sums.last_mut() {
            Some((last, sum)) if *last == sequence => *sum += weight,
            _ => sums.push((sequence, 0.0 + weight)),
        }
    }
    sums.sort_unstable_by(|left, right| right.1.total_cmp(&left.1).then(right.0.cmp(&left.0)));
    sums.into_iter().map(|(sequence, _)| sequence).collect()
}

/// The recalled events the lexical ranking names: the best `candidates_per_source` by text
/// (more when short turns leave the budget unfilled, [`grown_limit`]) and by cue.
fn recall_matches(
    snapshot: &mut dyn Snapshot,
    request: &BuildRequest,
    lexical: &LexicalRanking,
    kind: RecordKind,
    reach: Reach,
) -> Result<(Vec<Fetched>, Vec<Fetched>)> {
    let limit = request.policy.candidates_per_source as usize;
    let text_ranked = &lexical.text_ranked;
    let first = text_ranked.len().min(limit);
    let mut text_matches = fetch_sequences(snapshot, request, kind, reach, text_ranked[..first].to_vec())?;
    if let Some(grown) = grown_limit(request, kind)
        && text_ranked.len() > first
        && text_tokens(&text_matches) < u64::from(request.budget.max_tokens)
    {
        let more = text_ranked.len().min(grown as usize);
        text_matches.extend(fetch_sequences(snapshot, request, kind, reach, text_ranked[first..more].to_vec())?);
    }
    let cue_ranked = &lexical.cue_ranked;
    let cue_matches =
        fetch_sequences(snapshot, request, kind, reach, cue_ranked[..cue_ranked.len().min(limit)].to_vec())?;
    Ok((text_matches, cue_matches))
}

/// The records of a section named by sequence.
fn fetch_sequences(
    snapshot: &mut dyn Snapshot,
    request: &BuildRequest,
    kind: RecordKind,
    reach: Reach,
    sequences: Vec<i64>,
) -> Result<Vec<Fetched>> {
    if sequences.is_empty() {
        return Ok(Vec::new());
    }
    let limit = sequences.len() as u32;
    snapshot.fetch(&FetchRequest::new(kind, request.scope.clone(), reach, Selector::Sequences(sequences), limit))
}

/// The vector source: the newest `policy.vector_candidates` vectors of the section's spaces,
/// compared with the query's; the `candidates_per_source` most similar are named (this pool
/// does not grow with the budget: on RealMem, 2,048 and 4,096 tokens, more vector candidates
/// cost recall, 0.413 -> 0.408 and 0.503 -> 0.490). Reads one
/// bounded index range per space whatever the store holds, so its cost is fixed by the policy.
fn vector_sequences(
    snapshot: &mut dyn Snapshot,
    request: &BuildRequest,
    query_embedding: &[f32],
    kind: RecordKind,
) -> Result<Vec<i64>> {
    let policy = &request.policy;
    if policy.vector_candidates == 0 || policy.candidates_per_source == 0 {
        return Ok(Vec::new());
    }
    let stored = snapshot.vectors(&VectorRequest {
        kind,
        tenant_id: request.scope.tenant_id.clone(),
        spaces: visible_spaces(&request.scope, kind),
        limit: policy.vector_candidates,
    })?;
    if let Some(dimensions) = stored.dimensions
        && dimensions as usize != query_embedding.len()
    {
        return Err(dimension_mismatch(query_embedding.len(), dimensions as usize));
    }
    let query_vector = QueryVector::new(query_embedding);
    let mut ranked: Vec<(i64, f64)> = Vec::with_capacity(stored.vectors.len());
    for vector in &stored.vectors {
        ranked.push((vector.sequence, query_vector.similarity(&vector.embedding)?));
    }
    ranked.sort_by(|left, right| right.1.total_cmp(&left.1).then(right.0.cmp(&left.0)));
    ranked.truncate(policy.candidates_per_source as usize);
    Ok(ranked.into_iter().map(|(sequence, _)| sequence).collect())
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
    let vector_match = usize::from(candidate.sources.contains(&Source::Vector));
    candidate.matched_terms.len() + candidate.cue_hits.len() + vector_match < needed
}

/// The request's tags and entities a record carries, as the agent wrote them.
fn cue_hits(record: &Record, query: &QueryTerms) -> Vec<String> {
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
    set_relevance(candidate, score, matched);
}

/// Whether a record's (readable) terms hold `term`.
fn holds(document: &IndexedTerms, term: &str) -> bool {
    document.frequency(term).is_some_and(|count| count > 0)
}

fn set_relevance(candidate: &mut Candidate, score: f64, mut matched: Vec<crate::lexical::TermScore>) {
    matched.sort_by(|left, right| {
        right.contribution.total_cmp(&left.contribution).then_with(|| left.term.cmp(&right.term))
    });
    candidate.bm25 = score;
    candidate.matched_terms = matched.into_iter().map(|term| term.term).collect();
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
