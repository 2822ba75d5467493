use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use engram_types::{
    BudgetReport, BuildRequest, Citation, Explain, ExplainCounts, LongTermMemory, MemoryPacket, OmissionReason,
    OmittedItem, PacketItem, PacketMeta, ReplacedVersion, SCHEMA_VERSION, Section, SelectedItem, ShortTermMemory,
    Signals, StageTimings,
};

use super::assemble::{Assembly, Content, Entry, Placed, assemble, render_text};
use super::candidates::{Candidate, QueryTerms, gather};
use super::changes::{mark_outdated, plan_replaced, set_replaced};
use super::context::{expand_recall, plan_neighbours};
use super::score::{recency, round, score_section};
use super::source::Source;
use crate::engine::read;
use crate::error::Result;
use crate::prepare::{self, normalize_time};
use crate::reads::ReadBatch;
use crate::record::Record;
use crate::store::{Snapshot, Store};

/// Builds the memory packet for a request: the best context that fits the budget, with the
/// reason for every item in it and every candidate left out. Deterministic: the same stored
/// state and request (with `now` given) give the same packet, timings aside, on every backend.
/// Every read of a build comes from one snapshot of the store, so the packet sees one state even
/// while other writers commit; the scope is checked once, here.
pub fn build_memory_packet(store: &dyn Store, request: BuildRequest) -> Result<MemoryPacket> {
    let started = Instant::now();
    request.validate(store.limits())?;
    read(store, |snapshot| build(snapshot, &request, started))
}

fn build(snapshot: &mut dyn Snapshot, request: &BuildRequest, started: Instant) -> Result<MemoryPacket> {
    tracing::debug!(purpose = request.purpose.as_str(), "memory packet build started");
    let now = request.now.map_or_else(prepare::now, normalize_time);
    let query = QueryTerms::new(request);

    let stage = Instant::now();
    let mut gathered = gather(snapshot, request, &query, now)?;
    let candidates_us = elapsed_us(stage);

    let stage = Instant::now();
    let cue_count = query.cues.len();
    for (section, candidates) in &mut gathered.sections {
        // Fusion needs two rankings: a section without vectors scores as it would lexically.
        let fused = candidates.iter().any(|candidate| candidate.similarity.is_some());
        score_section(*section, candidates, &request.policy, request.purpose, now, cue_count, fused);
    }
    // The third phase: the versions changed facts replaced, and the turns around recalled ones.
    let mut context = ReadBatch::default();
    let replaced =
        gathered.sections.get(&Section::Facts).and_then(|facts| plan_replaced(&mut context, request, facts, now));
    let latest_change = replaced.as_ref().map(|read| read.latest_change);
    let neighbours = gathered
        .sections
        .get(&Section::Recall)
        .and_then(|recall| plan_neighbours(&mut context, request, recall, latest_change));
    let mut answers = context.run(snapshot)?;
    if let Some(mut facts) = gathered.sections.remove(&Section::Facts) {
        if let Some(replaced) = replaced {
            set_replaced(&mut facts, replaced, &mut answers)?;
        }
        if let Some(recall) = gathered.sections.get_mut(&Section::Recall) {
            mark_outdated(recall, &facts);
        }
        gathered.sections.insert(Section::Facts, facts);
    }
    let mut omitted = std::mem::take(&mut gathered.omitted);
    if let Some(recall) = gathered.sections.get_mut(&Section::Recall) {
        let found = neighbours.map(|ticket| answers.take(ticket)).transpose()?.unwrap_or_default();
        let window_ids: HashSet<&str> = gathered.window.iter().map(|event| event.event_id.as_str()).collect();
        let considered = gathered.considered.entry(Section::Recall).or_default();
        expand_recall(found, request, recall, considered, now, &window_ids, &mut omitted);
    }
    let mut counts = ExplainCounts::default();
    // Every candidate a section considered ends selected or omitted, once.
    for (section, considered) in &gathered.considered {
        counts.candidates.insert(*section, u32::try_from(considered.len()).unwrap_or(u32::MAX));
    }
    let scored = limit_candidates(&mut gathered.sections, request, &mut omitted);
    let entries = entries(scored, &gathered, request, now);
    // Turns and state compete for the budget too: count them as that section's candidates.
    for (section, list) in &entries {
        if !counts.candidates.contains_key(section) {
            counts.candidates.insert(*section, u32::try_from(list.len()).unwrap_or(u32::MAX));
        }
    }
    let score_us = elapsed_us(stage);

    let stage = Instant::now();
    let mut assembly = assemble(entries, request);
    let assemble_us = elapsed_us(stage);

    let stage = Instant::now();
    let rendered = render_text(&assembly, request);
    omitted.append(&mut assembly.omitted);
    let packet =
        packet(request, now, query, gathered.capped_terms.into_iter().collect(), assembly, omitted, counts, rendered);
    let render_us = elapsed_us(stage);

    let mut packet = packet;
    if let Some(facts) = gathered.fact_documents
        && facts > u64::from(request.policy.max_active_facts)
    {
        packet.explain.warnings.push(format!(
            "facts visible from the scope: {facts}, above policy.max_active_facts ({}); consider consolidating or forgetting old facts",
            request.policy.max_active_facts
        ));
    }
    packet.explain.timings_us = StageTimings {
        candidates: candidates_us,
        score: score_us,
        assemble: assemble_us,
        render: render_us,
        total: elapsed_us(started),
    };
    tracing::debug!(
        purpose = request.purpose.as_str(),
        tokens = packet.meta.tokens,
        selected = packet.explain.selected.len(),
        omitted = packet.explain.omitted.len(),
        total_us = packet.explain.timings_us.total,
        "memory packet built"
    );
    Ok(packet)
}

fn elapsed_us(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Applies `min_score` and `max_total_candidates` (best scores across sections survive).
/// Each section is sorted best first (ties by id), so what a section keeps is a prefix of it:
/// candidates are cut, never moved.
fn limit_candidates(
    sections: &mut BTreeMap<Section, Vec<Candidate>>,
    request: &BuildRequest,
    omitted: &mut Vec<OmittedItem>,
) -> BTreeMap<Section, Vec<Candidate>> {
    let policy = &request.policy;
    for candidates in sections.values_mut() {
        let scored = candidates.partition_point(|candidate| candidate.score >= policy.min_score);
        omitted.extend(candidates[scored..].iter().map(|candidate| omission(candidate, OmissionReason::LowScore)));
        candidates.truncate(scored);
    }
    // The global order, by keys: score, then section, then id.
    let mut order: Vec<(usize, usize)> = Vec::new();
    let lists: Vec<&Vec<Candidate>> = sections.values().collect();
    for (list, candidates) in lists.iter().enumerate() {
        order.extend((0..candidates.len()).map(|index| (list, index)));
    }
    let cap = policy.max_total_candidates as usize;
    if order.len() > cap {
        let candidate = |(list, index): (usize, usize)| &lists[list][index];
        order.sort_by(|&left, &right| {
            let (left, right) = (candidate(left), candidate(right));
            right
                .score
                .total_cmp(&left.score)
                .then_with(|| left.section.cmp(&right.section))
                .then_with(|| left.id().cmp(right.id()))
        });
        let mut kept = vec![0; lists.len()];
        for &(list, index) in &order[..cap] {
            kept[list] = kept[list].max(index + 1);
        }
        omitted.extend(order[cap..].iter().map(|&key| omission(candidate(key), OmissionReason::PolicyCap)));
        for (candidates, kept) in sections.values_mut().zip(kept) {
            candidates.truncate(kept);
        }
    }
    std::mem::take(sections).into_iter().filter(|(_, candidates)| !candidates.is_empty()).collect()
}

fn omission(candidate: &Candidate, reason: OmissionReason) -> OmittedItem {
    OmittedItem { id: candidate.id().to_string(), section: candidate.section, reason, score: Some(candidate.score) }
}

/// Everything that competes for the budget, per section, best first.
fn entries(
    scored: BTreeMap<Section, Vec<Candidate>>,
    gathered: &super::candidates::Gathered,
    request: &BuildRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> BTreeMap<Section, Vec<Entry>> {
    let mut entries: BTreeMap<Section, Vec<Entry>> = BTreeMap::new();
    if let Some(state) = &gathered.working_state {
        entries.insert(
            Section::WorkingState,
            vec![state_entry(Section::WorkingState, Content::WorkingState(state.clone()))],
        );
    }
    let short_term = &gathered.short_term;
    if short_term.rolling_summary.as_deref().is_some_and(|summary| !summary.trim().is_empty()) {
        entries.insert(
            Section::RollingSummary,
            vec![state_entry(Section::RollingSummary, Content::Summary(short_term.clone()))],
        );
    }
    if !short_term.key_quotes.is_empty() {
        entries.insert(Section::KeyQuotes, vec![state_entry(Section::KeyQuotes, Content::Quotes(short_term.clone()))]);
    }
    let half_life = request.policy.half_life_hours.recall;
    let turns = gathered.window.len();
    let window = gathered.window.iter().enumerate().rev().map(|(index, event)| Entry {
        section: Section::ConversationWindow,
        score: round(recency(now, event.ts, half_life)),
        rank: u32::try_from(turns - index).unwrap_or(u32::MAX),
        content: Content::Turn(event.clone()),
    });
    entries.insert(Section::ConversationWindow, window.collect());
    for (section, candidates) in scored {
        let list = candidates
            .into_iter()
            .enumerate()
            .map(|(index, candidate)| Entry {
                section,
                score: candidate.score,
                rank: u32::try_from(index + 1).unwrap_or(u32::MAX),
                content: Content::Record(Box::new(candidate)),
            })
            .collect();
        entries.insert(section, list);
    }
    entries
}

fn state_entry(section: Section, content: Content) -> Entry {
    Entry { section, score: 1.0, rank: 1, content }
}

#[expect(clippy::too_many_arguments, reason = "one call site; the pieces are the stages' outputs")]
fn packet(
    request: &BuildRequest,
    now: chrono::DateTime<chrono::Utc>,
    query: QueryTerms,
    capped_terms: Vec<String>,
    assembly: Assembly,
    omitted: Vec<OmittedItem>,
    mut counts: ExplainCounts,
    rendered: String,
) -> MemoryPacket {
    let mut short_term = ShortTermMemory::default();
    let mut long_term = LongTermMemory::default();
    let mut insight = Vec::new();
    let mut window = Vec::new();
    let mut citations = Vec::new();
    let mut selected = Vec::new();
    for (section, placed) in &assembly.placed {
        counts.selected.insert(*section, u32::try_from(placed.len()).unwrap_or(u32::MAX));
        for item in placed {
            selected.push(selected_item(item, &query));
            match &item.entry.content {
                Content::WorkingState(state) => {
                    short_term.working_state = Some(state.clone());
                    short_term.open_loops.clone_from(&state.open_loops);
                }
                Content::Summary(state) => short_term.rolling_summary.clone_from(&state.rolling_summary),
                Content::Quotes(state) => short_term.key_quotes.clone_from(&state.key_quotes),
                Content::Turn(event) => window.push((
                    item.entry.rank,
                    PacketItem {
                        role: Some(event.role.clone()),
                        session_id: Some(event.scope.session_id.clone()),
                        ..base_item(item, event.ts)
                    },
                )),
                Content::Record(candidate) => {
                    let packet_item = record_item(item, &candidate.record);
                    if !packet_item.sources.is_empty() {
                        citations.push(Citation {
                            id: packet_item.id.clone(),
                            section: *section,
                            sources: packet_item.sources.clone(),
                        });
                    }
                    match section {
                        Section::Facts => long_term.facts.push(packet_item),
                        Section::Episodes => long_term.episodes.push(packet_item),
                        Section::Procedures => long_term.procedures.push(packet_item),
                        Section::Recall => long_term.recall.push(packet_item),
                        _ => insight.push(packet_item),
                    }
                }
            }
        }
    }
    // Oldest first in write order: the window's rank counts from the newest turn, and turns
    // written in one millisecond (a question and its answer) differ only by it.
    window.sort_by_key(|(rank, _)| std::cmp::Reverse(*rank));
    short_term.conversation_window = window.into_iter().map(|(_, item)| item).collect();
    let mut omissions = BTreeMap::new();
    for item in &omitted {
        *omissions.entry(item.reason).or_insert(0) += 1;
        *counts.omitted.entry(item.section).or_insert(0) += 1;
    }
    counts.degraded = u32::try_from(assembly.degradations.len()).unwrap_or(u32::MAX);
    MemoryPacket {
        meta: PacketMeta {
            schema_version: SCHEMA_VERSION.to_string(),
            scope: request.scope.clone(),
            purpose: request.purpose,
            task_type: request.task_type.clone(),
            generated_at: now,
            tokens: assembly.used_tokens,
            tokenizer: request.budget.tokenizer.as_str().to_string(),
            policy_id: request.policy.policy_id.clone(),
            format: request.format,
        },
        short_term,
        long_term,
        insight,
        citations,
        budget_report: BudgetReport {
            max_tokens: request.budget.max_tokens,
            used_tokens: assembly.used_tokens,
            section_usage: assembly.section_usage,
            omissions,
            degradations: assembly.degradations,
        },
        explain: Explain {
            selected,
            omitted,
            counts,
            timings_us: StageTimings::default(),
            query_terms: query.terms,
            capped_terms,
            warnings: Vec::new(),
        },
        rendered,
    }
}

fn base_item(item: &Placed, ts: chrono::DateTime<chrono::Utc>) -> PacketItem {
    PacketItem {
        id: item.entry.id().to_string(),
        form: item.form,
        text: item.text.clone(),
        score: item.entry.score,
        ts,
        role: None,
        session_id: None,
        fact_key: None,
        value: None,
        confidence: None,
        validation: None,
        title: None,
        sources: Vec::new(),
    }
}

fn record_item(item: &Placed, record: &Record) -> PacketItem {
    let base = PacketItem { sources: record_sources(record).to_vec(), ..base_item(item, record.time()) };
    match record {
        Record::Event(event) => {
            PacketItem { role: Some(event.role.clone()), session_id: Some(event.scope.session_id.clone()), ..base }
        }
        Record::Fact(fact) => PacketItem {
            fact_key: Some(fact.fact_key.clone()),
            value: Some(fact.value.clone()),
            confidence: Some(fact.confidence),
            ..base
        },
        Record::Episode(_) => base,
        Record::Procedure(procedure) => PacketItem { title: Some(procedure.title.clone()), ..base },
        Record::Insight(insight) => {
            PacketItem { confidence: Some(insight.confidence), validation: Some(insight.validation), ..base }
        }
    }
}

fn selected_item(item: &Placed, query: &QueryTerms) -> SelectedItem {
    let entry = &item.entry;
    let (kind, time, evidence, replaced, outdated_by) = match &entry.content {
        Content::Record(candidate) => (
            candidate.record.kind().as_str(),
            Some(candidate.record.time()),
            record_sources(&candidate.record).to_vec(),
            candidate.replaced.as_deref().map(|fact| ReplacedVersion {
                fact_id: fact.fact_id.clone(),
                value: fact.value.clone(),
                text: fact.text.clone(),
                valid_from: fact.valid_from,
                valid_to: fact.valid_to,
            }),
            candidate.outdated_by.clone(),
        ),
        Content::Turn(event) => ("event", Some(event.ts), Vec::new(), None, None),
        _ => (entry.section.as_str(), None, Vec::new(), None, None),
    };
    let (signals, matched_terms, cue_hits, sources, context_of) = match &entry.content {
        Content::Record(candidate) => (
            candidate.signals,
            candidate
                .matched_terms
                .iter()
                .filter_map(|position| query.terms.get(*position as usize).cloned())
                .collect::<Vec<_>>(),
            candidate.cue_hits.clone(),
            candidate.sources.iter().map(|source| source.as_str().to_string()).collect::<Vec<_>>(),
            candidate.context_of.clone(),
        ),
        Content::Turn(_) => (
            Signals { recency: entry.score, ..Signals::default() },
            Vec::new(),
            Vec::new(),
            vec![Source::Window.as_str().to_string()],
            None,
        ),
        _ => (Signals::default(), Vec::new(), Vec::new(), vec![Source::State.as_str().to_string()], None),
    };
    SelectedItem {
        id: entry.id().to_string(),
        section: entry.section,
        rank: entry.rank,
        score: entry.score,
        signals,
        cue_hits,
        source: sources.first().cloned().unwrap_or_default(),
        sources,
        form: item.form,
        tokens: item.tokens,
        context_of,
        kind: kind.to_string(),
        text: item.text.clone(),
        time,
        matched_words: matched_words(&matched_terms, &query.words),
        matched_terms,
        evidence,
        replaced,
        outdated_by,
    }
}

/// The records a record rests on (what `citations` lists).
fn record_sources(record: &Record) -> &[String] {
    match record {
        Record::Fact(fact) => &fact.sources,
        Record::Episode(episode) => &episode.sources,
        Record::Insight(insight) => &insight.sources,
        Record::Event(_) | Record::Procedure(_) => &[],
    }
}

/// The query words behind matched index terms, each once, in the terms' order.
fn matched_words(terms: &[String], words: &BTreeMap<String, String>) -> Vec<String> {
    let mut seen = HashSet::new();
    terms
        .iter()
        .map(|term| words.get(term).unwrap_or(term))
        .filter(|word| seen.insert(word.as_str()))
        .cloned()
        .collect()
}
