//! The first phase of stage 1: what each section's sources read (postings of the query's
//! terms and cues, the whole section when it may be small, newest, most important, vectors), all
//! sent together, and what they name once answered, for the second phase to read.

use std::collections::{BTreeSet, HashSet};

use engram_types::{BuildRequest, Section};
use rustc_hash::FxHashMap;

use super::candidates::{Gathered, QueryTerms};
use super::purpose::recall_fills_budget;
use super::similarity::{QueryVector, dimension_mismatch};
use super::source::{Source, Sources};
use crate::error::Result;
use crate::lexical::Bm25;
use crate::reads::{Answers, ReadBatch, Ticket};
use crate::record::{
    FetchRequest, Postings, PostingsRequest, Reach, RecordKind, Selector, VectorRequest, Vectors, visible_spaces,
};

/// What a section's sources read in the first phase (each `None` when the source is off).
pub(super) struct SectionReads {
    pub section: Section,
    pub kind: RecordKind,
    pub reach: Reach,
    /// The postings of the query's terms and cues (their spaces' totals too).
    postings: Option<Ticket<Postings>>,
    /// Every indexed record's sequence, when the section may be small enough for one read
    /// (see [`small_limit`]).
    small: Option<Ticket<Vec<i64>>>,
    newest: Option<Ticket<Vec<i64>>>,
    important: Option<Ticket<Vec<i64>>>,
    vectors: Option<Ticket<Vectors>>,
}

/// What a section's sources named, for the second phase to read.
pub(super) enum Named {
    /// Every record of a small section (read whole: `candidates.rs`, `small_section`).
    Small { sequences: Vec<i64>, totals: Bm25 },
    /// Recalled events: the best text matches (a grown pool's rest apart, [`grown_limit`]), the
    /// best cue matches and the most similar, with the lexical statistics.
    Recall { text: Vec<i64>, grown: Vec<i64>, cue: Vec<i64>, vector: Vec<i64>, statistics: Option<Statistics> },
    /// The records each source named.
    Sources { sources: FxHashMap<i64, Sources>, statistics: Option<Statistics> },
}

/// BM25's numbers for a section: the spaces' totals and each query term's df.
pub(super) type Statistics = (Bm25, Vec<(String, u64)>);

/// The first-phase reads of one section's sources. Recalled events outside the window enter
/// only by matching the query (words or vector) or a cue: recency alone is what the window is
/// for. A searched section other than recall also reads every record's sequence when it may be
/// small (decided once the totals are known, [`name_sources`]).
pub(super) fn plan_sources(
    batch: &mut ReadBatch,
    request: &BuildRequest,
    query: &QueryTerms,
    searching: bool,
    (section, kind, reach): (Section, RecordKind, Reach),
) -> SectionReads {
    let policy = &request.policy;
    let recall = section == Section::Recall;
    let postings = searching.then(|| {
        batch.postings(PostingsRequest {
            kind,
            tenant_id: request.scope.tenant_id.clone(),
            spaces: visible_spaces(&request.scope, kind),
            terms: query.all(),
            per_term: policy.postings_per_term,
        })
    });
    let small = (searching && !recall).then(|| {
        // The indexed records: active facts (superseded ones leave the index), every other record.
        let mut every = FetchRequest::new(kind, request.scope.clone(), reach, Selector::Newest, small_limit(request));
        every.active_only = kind == RecordKind::Fact;
        batch.sequences(every)
    });
    let mut recent = |selector| {
        let read = FetchRequest::new(kind, request.scope.clone(), reach, selector, policy.candidates_per_source);
        (!recall).then(|| batch.sequences(read))
    };
    let newest = recent(Selector::Newest);
    let important = recent(Selector::MostImportant);
    // Insights have no vector source (a small read compares every record's vector).
    let vectors = (request.query_embedding.is_some()
        && (recall || kind != RecordKind::Insight)
        && policy.vector_candidates > 0
        && policy.candidates_per_source > 0)
        .then(|| {
            batch.vectors(VectorRequest {
                kind,
                tenant_id: request.scope.tenant_id.clone(),
                spaces: visible_spaces(&request.scope, kind),
                limit: policy.vector_candidates,
            })
        });
    SectionReads { section, kind, reach, postings, small, newest, important, vectors }
}

/// The most records a section may hold to be read whole.
pub(super) fn small_limit(request: &BuildRequest) -> u32 {
    request.policy.candidates_per_source.min(request.policy.postings_per_term)
}

/// What a section's sources named, from the first phase's answers.
pub(super) fn name_sources(
    answers: &mut Answers,
    request: &BuildRequest,
    query: &QueryTerms,
    reads: &SectionReads,
    gathered: &mut Gathered,
) -> Result<Named> {
    let postings = reads.postings.map(|ticket| answers.take(ticket)).transpose()?;
    let small = reads.small.map(|ticket| answers.take(ticket)).transpose()?;
    let newest = reads.newest.map(|ticket| answers.take(ticket)).transpose()?;
    let important = reads.important.map(|ticket| answers.take(ticket)).transpose()?;
    let vectors = reads.vectors.map(|ticket| answers.take(ticket)).transpose()?;
    let query_embedding = request.query_embedding.as_deref();
    if let (Some(postings), Some(small)) = (&postings, small)
        && postings.document_count <= u64::from(small_limit(request))
        && small.len() as u64 == postings.document_count
    {
        // Every record of the section is at hand: they are all the candidates each source
        // would have returned, and their df is counted exactly from them.
        if reads.section == Section::Facts {
            gathered.fact_documents = Some(postings.document_count);
        }
        return Ok(Named::Small {
            sequences: small,
            totals: Bm25::new(postings.document_count, postings.total_length),
        });
    }
    let limit = request.policy.candidates_per_source as usize;
    let statistics_of = |lexical: &LexicalRanking| (lexical.bm25, lexical.frequencies.clone());
    let lexical = postings.map(|postings| lexical_ranking(postings, query, &mut gathered.capped_terms));
    let vector = match (vectors, query_embedding) {
        (Some(vectors), Some(query_embedding)) => vector_sequences(request, vectors, query_embedding)?,
        _ => Vec::new(),
    };
    if reads.section == Section::Recall {
        let (mut text, mut grown, mut cue, mut statistics) = (Vec::new(), Vec::new(), Vec::new(), None);
        if let Some(lexical) = &lexical {
            let first = lexical.text_ranked.len().min(limit);
            text = lexical.text_ranked[..first].to_vec();
            if let Some(more) = grown_limit(request, reads.kind) {
                grown = lexical.text_ranked[first..lexical.text_ranked.len().min(more as usize).max(first)].to_vec();
            }
            cue = lexical.cue_ranked[..lexical.cue_ranked.len().min(limit)].to_vec();
            statistics = Some(statistics_of(lexical));
        }
        return Ok(Named::Recall { text, grown, cue, vector, statistics });
    }
    // Each source names its records by sequence; the records they share are read once.
    let mut sources: FxHashMap<i64, Sources> = FxHashMap::default();
    let mut name = |sequences: &[i64], source: Source| {
        for sequence in sequences {
            sources.entry(*sequence).or_default().insert(source);
        }
    };
    let mut statistics = None;
    if let Some(lexical) = &lexical {
        name(&lexical.text_ranked[..lexical.text_ranked.len().min(limit)], Source::Lexical);
        name(&lexical.cue_ranked[..lexical.cue_ranked.len().min(limit)], Source::Cue);
        if reads.section == Section::Facts {
            gathered.fact_documents = Some(lexical.bm25.document_count);
        }
        statistics = Some(statistics_of(lexical));
    }
    if reads.kind != RecordKind::Insight {
        name(&vector, Source::Vector);
    }
    name(&newest.unwrap_or_default(), Source::Recent);
    name(&important.unwrap_or_default(), Source::Importance);
    Ok(Named::Sources { sources, statistics })
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
pub(super) fn grown_limit(request: &BuildRequest, kind: RecordKind) -> Option<u32> {
    let limit = request.policy.candidates_per_source;
    let grown = (request.budget.max_tokens / RECALL_TOKENS_PER_CANDIDATE).min(MOST_RECALL_CANDIDATES);
    (kind == RecordKind::Event && limit > 0 && grown > limit && recall_fills_budget(request)).then_some(grown)
}

/// Ranks the documents the postings of the query and cue terms name by the idf of the terms
/// they hold (then newest first), so that a fetch stays at `candidates_per_source` rows whatever
/// the postings held (or a pool grown for short recalled turns, [`grown_limit`]).
fn lexical_ranking(postings: Postings, query: &QueryTerms, capped_terms: &mut BTreeSet<String>) -> LexicalRanking {
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
    LexicalRanking {
        text_ranked: ranked(text_postings),
        cue_ranked: ranked(cue_postings),
        bm25,
        frequencies: query
            .terms
            .iter()
            .map(|term| (term.clone(), postings.terms.get(term).map_or(0, |found| found.document_frequency)))
            .collect(),
    }
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

/// The vector source: the newest `policy.vector_candidates` vectors of the section's spaces
/// (read in the first phase), compared with the query's; the `candidates_per_source` most similar are named (this pool
/// does not grow with the budget: on RealMem, 2,048 and 4,096 tokens, more vector candidates
/// cost recall, 0.413 -> 0.408 and 0.503 -> 0.490). Reads one
/// bounded index range per space whatever the store holds, so its cost is fixed by the policy.
fn vector_sequences(request: &BuildRequest, stored: Vectors, query_embedding: &[f32]) -> Result<Vec<i64>> {
    let policy = &request.policy;
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
