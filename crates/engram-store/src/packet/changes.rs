//! Facts that changed lately: the version each replaced (a packet line says "was ..."), and
//! recalled turns that still state the replaced value (marked outdated, demoted). A model that
//! reads "I live in Lisbon" six times next to one "lives in Berlin" needs to be told which holds.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use engram_types::{BuildRequest, Fact, MAX_CHANGED_FACTS, Timestamp};

use super::candidates::{Candidate, sort_best_first};
use super::render;
use crate::error::Result;
use crate::lexical::analyze;
use crate::maintenance::ScanRequest;
use crate::reads::{Answers, ReadBatch, Ticket};
use crate::record::{Fetched, Record, RecordKind};

/// What an outdated turn's score is multiplied by: it stays a candidate (it may say more than
/// the old value) but falls behind turns of equal relevance that are still true.
pub(super) const OUTDATED_FACTOR: f64 = 0.5;

/// A value stated in more words than this is not matched in turns: long values are rarely
/// repeated word for word, and a partial match says little.
const MAX_VALUE_TERMS: usize = 8;

/// The read of the versions the most recently changed fact candidates replaced
/// ([`plan_replaced`]), and which candidate each belongs to.
pub(super) struct ReplacedRead {
    ticket: Ticket<Vec<Fetched>>,
    /// (candidate index, the id of the version it replaced)
    changed: Vec<(usize, String)>,
    /// When the latest of these changes took effect: only turns from before it can be outdated.
    pub latest_change: Timestamp,
}

/// Adds to `batch`, for the most recently changed fact candidates (`policy.replaced_within_days`,
/// at most [`MAX_CHANGED_FACTS`]), the read of the version each replaced: one read by id (the
/// tenant's unique index) for all of them; facts that replaced nothing cost none.
pub(super) fn plan_replaced(
    batch: &mut ReadBatch,
    request: &BuildRequest,
    facts: &[Candidate],
    now: Timestamp,
) -> Option<ReplacedRead> {
    let days = request.policy.replaced_within_days;
    if days == 0 {
        return None;
    }
    let since = now - chrono::Duration::days(i64::from(days));
    let mut changed: Vec<(Timestamp, usize, String)> = facts
        .iter()
        .enumerate()
        .filter_map(|(index, candidate)| match &*candidate.record {
            Record::Fact(fact) if changed_at(fact) >= since => {
                fact.supersedes.clone().map(|previous| (changed_at(fact), index, previous))
            }
            _ => None,
        })
        .collect();
    if changed.is_empty() {
        return None;
    }
    changed.sort_by(|left, right| right.0.cmp(&left.0).then_with(|| facts[left.1].id().cmp(facts[right.1].id())));
    changed.truncate(MAX_CHANGED_FACTS);
    let latest_change = changed.first().map(|(at, ..)| *at)?;
    let mut scan = ScanRequest::new(RecordKind::Fact, u32::try_from(changed.len()).unwrap_or(u32::MAX));
    scan.tenant_id = Some(request.scope.tenant_id.clone());
    scan.ids = changed.iter().map(|(_, _, previous)| previous.clone()).collect();
    let ticket = batch.scan(scan);
    Some(ReplacedRead {
        ticket,
        changed: changed.into_iter().map(|(_, index, previous)| (index, previous)).collect(),
        latest_change,
    })
}

/// Keeps on each changed fact candidate the version it replaced, from the read's answer.
pub(super) fn set_replaced(facts: &mut [Candidate], read: ReplacedRead, answers: &mut Answers) -> Result<()> {
    let mut found: HashMap<String, Fact> = HashMap::new();
    for fetched in answers.take(read.ticket)? {
        if let Record::Fact(previous) = Arc::unwrap_or_clone(fetched.record) {
            found.insert(previous.fact_id.clone(), previous);
        }
    }
    for (index, previous_id) in read.changed {
        // A replaced version deleted since (forget, retention, purge) is not shown; the version
        // replaced shares the new one's key and space, so it is as visible as the new one.
        let Some(candidate) = facts.get_mut(index) else { continue };
        let Record::Fact(fact) = &*candidate.record else { continue };
        let previous = found.remove(&previous_id).filter(|previous| previous.fact_key == fact.fact_key);
        candidate.replaced = previous.map(Box::new);
    }
    Ok(())
}

/// Whether a turn was written before a change took effect, so that it may be outdated by it.
/// Times are kept to the millisecond: a turn of the change's own millisecond counts as before
/// it (a bulk append and the upsert that follows it often share one).
pub(super) fn written_before(event: &engram_types::Event, changed_at: Timestamp) -> bool {
    event.ts <= changed_at
}

/// An outdated turn's score (see [`OUTDATED_FACTOR`]).
pub(super) fn outdated_score(score: f64) -> f64 {
    super::score::round(score * OUTDATED_FACTOR)
}

/// When a fact's change took effect for the agent: it was written, or it holds from later.
fn changed_at(fact: &Fact) -> Timestamp {
    fact.recorded_at.max(fact.valid_from)
}

/// The replaced value as a packet line names it: the string itself, or the JSON of another
/// value, on one line and shortened.
pub(super) fn value_words(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::String(text) => render::one_line(text),
        other => other.to_string(),
    };
    render::shorten(&text).unwrap_or(text)
}

/// A change recalled turns are checked against: the terms of the old value and of the new.
struct Change<'fact> {
    fact_id: &'fact str,
    changed_at: Timestamp,
    old_terms: BTreeSet<String>,
    new_terms: BTreeSet<String>,
}

/// Marks and demotes every recalled event from before a change that states the replaced value
/// (all its words) without the new one, then re-sorts the section best first.
pub(super) fn mark_outdated(recall: &mut Vec<Candidate>, facts: &[Candidate]) {
    let changes: Vec<Change<'_>> = facts
        .iter()
        .filter_map(|candidate| {
            let (Record::Fact(fact), Some(replaced)) = (&*candidate.record, &candidate.replaced) else { return None };
            let old_terms = value_terms(&replaced.value)?;
            let new_terms = value_terms(&fact.value).unwrap_or_default();
            Some(Change { fact_id: &fact.fact_id, changed_at: changed_at(fact), old_terms, new_terms })
        })
        .collect();
    if changes.is_empty() {
        return;
    }
    // Every term a change looks for, read from a turn's stored terms in one pass.
    let wanted: Vec<&str> = changes
        .iter()
        .flat_map(|change| change.old_terms.iter().chain(&change.new_terms))
        .map(String::as_str)
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .collect();
    for candidate in recall.iter_mut() {
        let Record::Event(event) = &*candidate.record else { continue };
        // The wanted terms the turn holds, read once it was written before a change.
        let mut said: Option<BTreeSet<&str>> = None;
        let mut holds = |terms: &BTreeSet<String>| {
            let said = said.get_or_insert_with(|| {
                let mut counts = vec![0; wanted.len()];
                let stored =
                    candidate.terms.as_ref().and_then(|terms| terms.count_into(wanted.iter().copied(), &mut counts));
                match stored {
                    Some(()) => {
                        wanted.iter().zip(counts).filter(|(_, count)| *count > 0).map(|(term, _)| *term).collect()
                    }
                    None => {
                        let analyzed: BTreeSet<String> = analyze(&event.text).into_iter().collect();
                        wanted.iter().copied().filter(|term| analyzed.contains(*term)).collect()
                    }
                }
            });
            terms.iter().all(|term| said.contains(term.as_str()))
        };
        let outdated = changes.iter().find(|change| {
            written_before(event, change.changed_at)
                && holds(&change.old_terms)
                && (change.new_terms.is_empty() || !holds(&change.new_terms))
        });
        if let Some(change) = outdated {
            candidate.outdated_by = Some(change.fact_id.to_string());
            candidate.score = outdated_score(candidate.score);
        }
    }
    sort_best_first(recall);
}

/// The index terms of a value, when there are some and few enough to look for.
fn value_terms(value: &serde_json::Value) -> Option<BTreeSet<String>> {
    let terms: BTreeSet<String> = analyze(&value_words(value)).into_iter().collect();
    (!terms.is_empty() && terms.len() <= MAX_VALUE_TERMS).then_some(terms)
}
