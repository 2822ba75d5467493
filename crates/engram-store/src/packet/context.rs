//! Context expansion: a recalled turn comes with its neighbours in its session, so an answer
//! arrives with the question it answered, and a question with its answer.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use engram_types::{BuildRequest, EventKind, OmittedItem, Section, Timestamp};
use rustc_hash::FxHashSet;

use super::candidates::{Candidate, exclusion, sort_best_first};
use super::changes::{outdated_score, written_before};
use super::score::round;
use super::source::Source;
use crate::reads::{ReadBatch, Ticket};
use crate::record::{Anchor, FetchRequest, Fetched, Reach, Record, RecordKind, Selector};

/// A context turn scores this share of its hit's score: right after it, before weaker hits.
const CONTEXT_SHARE: f64 = 0.9;

/// Adds to `batch` the read of the turns around every recalled event that may be among the
/// best `max_recall` once turns that state a replaced fact value are demoted
/// ([`super::changes::mark_outdated`], which needs the replaced versions read alongside this):
/// with no change since `latest_change`, the best `max_recall` as they stand; with one, each
/// candidate that some choice of outdated turns would leave among them ([`possible_hits`]).
/// Reading around a few more hits than are kept changes nothing: each hit's nearest turns are
/// among those read around it.
pub(super) fn plan_neighbours(
    batch: &mut ReadBatch,
    request: &BuildRequest,
    candidates: &[Candidate],
    latest_change: Option<Timestamp>,
) -> Option<Ticket<Vec<Fetched>>> {
    let turns = request.policy.context_turns;
    let best = request.policy.max_recall as usize;
    if turns == 0 || candidates.is_empty() {
        return None;
    }
    let possible: Vec<&Candidate> = match latest_change {
        None => candidates.iter().take(best).collect(),
        Some(latest_change) => possible_hits(candidates, best, latest_change),
    };
    let anchors: Vec<Anchor> = possible.into_iter().filter_map(anchor).collect();
    if anchors.is_empty() {
        return None;
    }
    let mut read =
        FetchRequest::new(RecordKind::Event, request.scope.clone(), Reach::Space, Selector::Neighbours(anchors), turns);
    read.event_kinds = vec![EventKind::Message];
    Some(batch.fetch(read))
}

/// The candidates (best first) that are among the best `best` for some choice of demoted
/// turns: a candidate's best place is where every turn above it that could be outdated (written
/// before the latest change) is demoted and it is not.
fn possible_hits(candidates: &[Candidate], best: usize, latest_change: Timestamp) -> Vec<&Candidate> {
    let demotable = |candidate: &Candidate| matches!(&*candidate.record, Record::Event(event) if written_before(event, latest_change));
    candidates
        .iter()
        .enumerate()
        .filter(|(position, candidate)| {
            let staying_above = candidates[..*position]
                .iter()
                .filter(|other| {
                    let score = if demotable(other) { outdated_score(other.score) } else { other.score };
                    score.total_cmp(&candidate.score).then_with(|| candidate.id().cmp(other.id())).is_gt()
                })
                .count();
            staying_above < best
        })
        .map(|(_, candidate)| candidate)
        .collect()
}

/// A recalled event's place in its session.
fn anchor(candidate: &Candidate) -> Option<Anchor> {
    match &*candidate.record {
        Record::Event(event) => {
            Some(Anchor { session_id: event.scope.session_id.clone(), time: event.ts, sequence: candidate.sequence })
        }
        _ => None,
    }
}

/// Adds, for each of the best `max_recall` recalled events, the message events written just
/// before and after it in its session (`policy.context_turns` each way, by time then write
/// order; turns of other sessions and users, and other kinds of events, are looked past), from
/// the turns `found` around them ([`plan_neighbours`], newest first). `candidates` are best
/// first, and stay so. A neighbour the section already `considered` is not reported again; a
/// new one joins it.
pub(super) fn expand_recall(
    found: Vec<Fetched>,
    request: &BuildRequest,
    candidates: &mut Vec<Candidate>,
    considered: &mut FxHashSet<i64>,
    now: Timestamp,
    window_ids: &HashSet<&str>,
    omitted: &mut Vec<OmittedItem>,
) {
    let turns = request.policy.context_turns;
    if turns == 0 || candidates.is_empty() || found.is_empty() {
        return;
    }
    let hits: Vec<(Anchor, String, f64)> = candidates
        .iter()
        .take(request.policy.max_recall as usize)
        .filter_map(|candidate| Some((anchor(candidate)?, candidate.id().to_string(), candidate.score)))
        .collect();
    if hits.is_empty() {
        return;
    }
    let present: FxHashSet<i64> = candidates.iter().map(|candidate| candidate.sequence).collect();
    // Each neighbour belongs to the best hit that has it among its nearest (hits are best first).
    let mut owner: BTreeMap<i64, usize> = BTreeMap::new();
    for (index, (anchor, ..)) in hits.iter().enumerate() {
        let mut before: Vec<&Fetched> = Vec::new();
        let mut after: Vec<&Fetched> = Vec::new();
        for fetched in &found {
            let Record::Event(event) = &*fetched.record else { continue };
            if event.scope.session_id != anchor.session_id {
                continue;
            }
            match anchor.position(event.ts, fetched.sequence) {
                Ordering::Less => before.push(fetched),
                Ordering::Greater => after.push(fetched),
                Ordering::Equal => {}
            }
        }
        // `found` is newest first: the nearest before come first, the nearest after last.
        let nearest = before.into_iter().take(turns as usize).chain(after.into_iter().rev().take(turns as usize));
        for fetched in nearest {
            if !present.contains(&fetched.sequence) {
                owner.entry(fetched.sequence).or_insert(index);
            }
        }
    }
    let mut added = false;
    for fetched in found {
        let sequence = fetched.sequence;
        let Some((_, hit_id, hit_score)) = owner.get(&sequence).and_then(|index| hits.get(*index)) else {
            continue;
        };
        if !considered.insert(sequence) {
            continue;
        }
        let mut candidate = Candidate::new(Section::Recall, fetched, Source::Context);
        if let Some(reason) = exclusion(request, &candidate, now, window_ids) {
            omitted.push(OmittedItem { id: candidate.id().to_string(), section: Section::Recall, reason, score: None });
            continue;
        }
        candidate.score = round(hit_score * CONTEXT_SHARE);
        candidate.context_of = Some(hit_id.clone());
        candidates.push(candidate);
        added = true;
    }
    if added {
        sort_best_first(candidates);
    }
}
