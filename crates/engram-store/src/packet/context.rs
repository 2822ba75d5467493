//! Context expansion: a recalled turn comes with its neighbours in its session, so an answer
//! arrives with the question it answered, and a question with its answer.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use engram_types::{BuildRequest, EventKind, OmittedItem, Section, Timestamp};

use super::candidates::{Candidate, Source, exclusion, sort_best_first};
use super::score::round;
use crate::error::Result;
use crate::record::{Anchor, FetchRequest, Fetched, Reach, Record, RecordKind, Selector};
use crate::store::Snapshot;

/// A context turn scores this share of its hit's score: right after it, before weaker hits.
const CONTEXT_SHARE: f64 = 0.9;

/// Adds, for each of the best `max_recall` recalled events, the message events written just
/// before and after it in its session (`policy.context_turns` each way, by time then write
/// order; turns of other sessions and users, and other kinds of events, are looked past), in
/// one read around every hit. `candidates` are best first, and stay so. A neighbour the
/// section already `considered` is not reported again; a new one joins it.
pub(super) fn expand_recall(
    snapshot: &mut dyn Snapshot,
    request: &BuildRequest,
    candidates: &mut Vec<Candidate>,
    considered: &mut BTreeSet<String>,
    now: Timestamp,
    window_ids: &HashSet<&str>,
    omitted: &mut Vec<OmittedItem>,
) -> Result<()> {
    let turns = request.policy.context_turns;
    if turns == 0 || candidates.is_empty() {
        return Ok(());
    }
    let hits: Vec<(Anchor, String, f64)> = candidates
        .iter()
        .take(request.policy.max_recall as usize)
        .filter_map(|candidate| match &*candidate.record {
            Record::Event(event) => Some((
                Anchor { session_id: event.scope.session_id.clone(), time: event.ts, sequence: candidate.sequence },
                candidate.id().to_string(),
                candidate.score,
            )),
            _ => None,
        })
        .collect();
    if hits.is_empty() {
        return Ok(());
    }
    let mut read = FetchRequest::new(
        RecordKind::Event,
        request.scope.clone(),
        Reach::Space,
        Selector::Neighbours(hits.iter().map(|(anchor, ..)| anchor.clone()).collect()),
        turns,
    );
    read.event_kinds = vec![EventKind::Message];
    let found = snapshot.fetch(&read)?;
    let present: HashSet<i64> = candidates.iter().map(|candidate| candidate.sequence).collect();
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
        if !considered.insert(fetched.record.id().to_string()) {
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
    Ok(())
}
