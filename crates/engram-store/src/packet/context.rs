//! Context expansion: a recalled turn comes with its neighbours in its session, so an answer
//! arrives with the question it answered, and a question with its answer.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use engram_types::{BuildRequest, EventKind, OmittedItem, Section, Timestamp};

use super::candidates::{Candidate, Source, exclusion};
use super::score::round;
use crate::error::Result;
use crate::record::{FetchRequest, Fetched, Reach, Record, RecordKind, Selector};
use crate::store::Store;

/// A context turn scores this share of its hit's score: right after it, before weaker hits.
const CONTEXT_SHARE: f64 = 0.9;

/// Adds, for each of the best `max_recall` recalled events, the message events written just
/// before and after it in the same session (`policy.context_turns` each way, by write order),
/// in one read by sequence number. Neighbours written in between by other sessions are not
/// looked past: the read stays one bounded lookup. `candidates` are best first, and stay so.
/// A neighbour the section already `considered` is not reported again; a new one joins it.
pub(super) fn expand_recall(
    store: &dyn Store,
    request: &BuildRequest,
    candidates: &mut Vec<Candidate>,
    considered: &mut BTreeSet<String>,
    now: Timestamp,
    window_ids: &HashSet<&str>,
    omitted: &mut Vec<OmittedItem>,
) -> Result<()> {
    let turns = i64::from(request.policy.context_turns);
    if turns == 0 || candidates.is_empty() {
        return Ok(());
    }
    let hits: Vec<(i64, String, String, f64)> = candidates
        .iter()
        .take(request.policy.max_recall as usize)
        .filter_map(|candidate| match &candidate.record {
            Record::Event(event) => {
                Some((candidate.sequence, candidate.id().to_string(), event.scope.session_id.clone(), candidate.score))
            }
            _ => None,
        })
        .collect();
    let present: HashSet<i64> = candidates.iter().map(|candidate| candidate.sequence).collect();
    // Each neighbour belongs to the best hit that asks for it (hits are best first).
    let mut wanted: BTreeMap<i64, usize> = BTreeMap::new();
    for (index, (sequence, ..)) in hits.iter().enumerate() {
        for offset in 1..=turns {
            for neighbour in [sequence - offset, sequence + offset] {
                if neighbour > 0 && !present.contains(&neighbour) {
                    wanted.entry(neighbour).or_insert(index);
                }
            }
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let limit = u32::try_from(wanted.len()).unwrap_or(u32::MAX);
    let mut read = FetchRequest::new(
        RecordKind::Event,
        request.scope.clone(),
        Reach::Space,
        Selector::Sequences(wanted.keys().copied().collect()),
        limit,
    );
    read.event_kinds = vec![EventKind::Message];
    let mut added = false;
    for Fetched { sequence, record } in store.fetch(&read)? {
        let Some((_, hit_id, session_id, hit_score)) = wanted.get(&sequence).and_then(|index| hits.get(*index)) else {
            continue;
        };
        let Record::Event(event) = &record else { continue };
        if &event.scope.session_id != session_id || !considered.insert(event.event_id.clone()) {
            continue;
        }
        let mut candidate = Candidate::new(Section::Recall, sequence, record, Source::Context);
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
        candidates.sort_by(|left, right| right.score.total_cmp(&left.score).then_with(|| left.id().cmp(right.id())));
    }
    Ok(())
}
