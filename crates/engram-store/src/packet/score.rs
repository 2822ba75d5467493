//! Stage 2: normalized signals and a weighted score per candidate; ties break by id.

use std::collections::HashMap;

use engram_types::{Fusion, FusionMethod, Policy, Purpose, Section, Signals, Timestamp};

use super::candidates::{Candidate, sort_best_first};
use crate::record::Record;

/// `0.5 ^ (age / half-life)`; records from the future count as brand new.
pub(super) fn recency(now: Timestamp, time: Timestamp, half_life_hours: f64) -> f64 {
    let age_hours = ((now - time).num_milliseconds().max(0) as f64) / 3_600_000.0;
    0.5_f64.powf(age_hours / half_life_hours)
}

/// Scores every candidate of a section in place and sorts them best first (ties by id).
/// `fused`: candidates have similarities to a query vector, so relevance fuses the words and
/// the vectors (`policy.fusion`).
pub(super) fn score_section(
    section: Section,
    candidates: &mut Vec<Candidate>,
    policy: &Policy,
    purpose: Purpose,
    now: Timestamp,
    cue_count: usize,
    fused: bool,
) {
    let weights = policy.weights_for(purpose);
    let total_weight = weights.relevance + weights.recency + weights.importance + weights.confidence + weights.cue;
    let mut relevances = match (fused, policy.fusion.method) {
        (false, _) => lexical_relevance(candidates),
        (true, FusionMethod::Scores) => score_fusion(candidates, &policy.fusion),
        (true, FusionMethod::Ranks) => rank_fusion(candidates, &policy.fusion),
    };
    if section == Section::Recall && policy.session_support > 0.0 {
        session_support(candidates, &mut relevances, policy.session_support);
    }
    let half_life = policy.half_life_hours.for_section(section);
    for (candidate, relevance) in candidates.iter_mut().zip(relevances) {
        let (importance, confidence) = importance_and_confidence(&candidate.record);
        let signals = Signals {
            relevance,
            recency: recency(now, candidate.record.time(), half_life),
            importance,
            confidence,
            cue: if cue_count == 0 { 0.0 } else { candidate.cue_hits.len() as f64 / cue_count as f64 },
            vector: candidate.similarity.unwrap_or(0.0).max(0.0),
        };
        let weighted = weights.relevance * signals.relevance
            + weights.recency * signals.recency
            + weights.importance * signals.importance
            + weights.confidence * signals.confidence
            + weights.cue * signals.cue;
        candidate.signals = round_signals(signals);
        // Validated weights keep this finite; a score is a number whatever they hold.
        let score = weighted / total_weight;
        candidate.score = if score.is_finite() { round(score) } else { 0.0 };
    }
    sort_best_first(candidates);
}

/// How many of a session's best relevances make its support: enough to tell a session that
/// keeps returning to the query from one that mentions it once, few enough that a long
/// session does not win by length.
const SUPPORTING_TURNS: usize = 3;

/// Mixes into each recalled event's relevance the support of its session (`share` of it, see
/// `Policy::session_support`): the sum of the session's best relevances, divided by the best
/// session's. `relevances` are the candidates', in their order.
fn session_support(candidates: &[Candidate], relevances: &mut [f64], share: f64) {
    let mut sessions: HashMap<&str, Vec<f64>> = HashMap::new();
    for (candidate, relevance) in candidates.iter().zip(relevances.iter()) {
        if let Record::Event(event) = &*candidate.record {
            sessions.entry(event.scope.session_id.as_str()).or_default().push(*relevance);
        }
    }
    let support: HashMap<&str, f64> = sessions
        .into_iter()
        .map(|(session, mut values)| {
            values.sort_by(|left, right| right.total_cmp(left));
            (session, values.iter().take(SUPPORTING_TURNS).sum::<f64>())
        })
        .collect();
    let best = support.values().copied().fold(0.0_f64, f64::max);
    if best <= 0.0 {
        return;
    }
    for (candidate, relevance) in candidates.iter().zip(relevances.iter_mut()) {
        if let Record::Event(event) = &*candidate.record {
            let session = support.get(event.scope.session_id.as_str()).copied().unwrap_or(0.0) / best;
            *relevance = (1.0 - share) * *relevance + share * session;
        }
    }
}

/// Score fusion: the weighted mean of BM25 over the section's best and similarity scaled from
/// the section's lowest (0) to its highest (1), divided by the best. Unlike ranks, scores keep
/// how much better one candidate is than the next, so a noisy ranking cannot push a clear word
/// match down by rank alone.
fn score_fusion(candidates: &[Candidate], fusion: &Fusion) -> Vec<f64> {
    let words = lexical_relevance(candidates);
    let similarities = candidates.iter().filter_map(|candidate| candidate.similarity);
    let (lowest, highest) =
        similarities.fold((f64::MAX, f64::MIN), |(lowest, highest), value| (lowest.min(value), highest.max(value)));
    let total = fusion.lexical + fusion.vector;
    let mut fused: Vec<f64> = Vec::with_capacity(candidates.len());
    for (candidate, lexical) in candidates.iter().zip(words) {
        let vector = candidate
            .similarity
            .filter(|_| highest > lowest)
            .map_or(0.0, |similarity| ((similarity - lowest) / (highest - lowest)).clamp(0.0, 1.0));
        let value = (fusion.lexical * lexical + fusion.vector * vector) / total;
        fused.push(if value > 0.0 { value } else { 0.0 });
    }
    divide_by_best(&mut fused);
    fused
}

/// Divides every value by the best (values are 0 or more; all stay 0 if none is above).
fn divide_by_best(values: &mut [f64]) {
    let best = values.iter().copied().fold(0.0_f64, f64::max);
    if best > 0.0 {
        values.iter_mut().for_each(|value| *value /= best);
    }
}

/// BM25 divided by the best in the section, per candidate in their order.
fn lexical_relevance(candidates: &[Candidate]) -> Vec<f64> {
    let best = candidates.iter().map(|candidate| candidate.bm25).fold(0.0_f64, f64::max);
    let relative = |bm25: f64| if bm25 > 0.0 && best > 0.0 { bm25 / best } else { 0.0 };
    candidates.iter().map(|candidate| relative(candidate.bm25)).collect()
}

/// Weighted reciprocal-rank fusion of the BM25 ranking (candidates that matched a query
/// term) and the similarity ranking (candidates with a vector), divided by the best in the
/// section. Ranks, not raw scores, are fused: BM25 and cosine live on unrelated scales.
fn rank_fusion(candidates: &[Candidate], fusion: &Fusion) -> Vec<f64> {
    let mut fused: Vec<f64> = vec![0.0; candidates.len()];
    let mut add_ranking = |mut ranked: Vec<(usize, f64)>, weight: f64| {
        ranked.sort_by(|left, right| {
            right.1.total_cmp(&left.1).then_with(|| candidates[left.0].id().cmp(candidates[right.0].id()))
        });
        for (rank, (index, _)) in ranked.into_iter().enumerate() {
            fused[index] += weight / (fusion.rank_constant + (rank + 1) as f64);
        }
    };
    add_ranking(
        candidates
            .iter()
            .enumerate()
            .filter(|(_, candidate)| candidate.bm25 > 0.0)
            .map(|(index, candidate)| (index, candidate.bm25))
            .collect(),
        fusion.lexical,
    );
    add_ranking(
        candidates
            .iter()
            .enumerate()
            .filter_map(|(index, candidate)| candidate.similarity.map(|similarity| (index, similarity)))
            .collect(),
        fusion.vector,
    );
    divide_by_best(&mut fused);
    fused
}

fn importance_and_confidence(record: &Record) -> (f64, f64) {
    match record {
        Record::Event(event) => (event.importance, 1.0),
        Record::Fact(fact) => (fact.importance, fact.confidence),
        Record::Episode(episode) => (episode.importance, 1.0),
        Record::Procedure(procedure) => (procedure.priority, 1.0),
        Record::Insight(insight) => (0.5, insight.confidence),
    }
}

/// Scores are reported to 6 decimals, so the JSON of a packet is stable and readable.
pub(super) fn round(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

fn round_signals(signals: Signals) -> Signals {
    Signals {
        relevance: round(signals.relevance),
        recency: round(signals.recency),
        importance: round(signals.importance),
        confidence: round(signals.confidence),
        cue: round(signals.cue),
        vector: round(signals.vector),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recency_halves_every_half_life() {
        let now = chrono::DateTime::from_timestamp(1_000_000, 0).unwrap_or_default();
        let day_ago = now - chrono::Duration::hours(24);
        assert!((recency(now, day_ago, 24.0) - 0.5).abs() < 1e-12);
        assert!((recency(now, now, 24.0) - 1.0).abs() < 1e-12);
        assert!((recency(now, now + chrono::Duration::hours(5), 24.0) - 1.0).abs() < 1e-12);
    }
}
