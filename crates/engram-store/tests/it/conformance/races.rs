//! "One of" rules under concurrent writers: one active fact per key, an insight promoted once,
//! one working-state version per patch, no short-term update lost, a record deleted once. Each race starts its writers together (a barrier) on new
//! keys, runs and insights, so every round races the first write too. Servers are raced through
//! several stores, as several processes would write (see `server_connections.rs`).

use std::sync::Barrier;

use engram_store::{Error, Lifecycle, Store, StoreExt};
use engram_types::{
    FactInput, FactStatus, ListQuery, PromoteInsight, Promotion, Scope, ValidationState, WorkingStatePatch,
};
use serde_json::json;

use crate::conformance::records::insight;
use crate::support::scope;

/// Every store given is one writer thread per race; `rounds` races of each kind.
pub fn race_one_of_rules(stores: &[&dyn Store], rounds: usize) {
    for round in 0..rounds {
        race_fact_upserts(stores, round);
        race_promotions(stores, round);
        race_working_state_patches(stores, round);
        race_short_term_updates(stores, round);
        race_deletions(stores, round);
    }
}

pub fn one_of_rules_hold_under_concurrent_writers(store: &dyn Store) {
    race_one_of_rules(&[store; 4], 3);
}

/// Runs `write(writer, store)` on one thread per store, all released at once; the results in
/// writer order.
fn race<T: Send>(stores: &[&dyn Store], write: impl Fn(usize, &dyn Store) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(stores.len());
    std::thread::scope(|threads| {
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(writer, store)| {
                let (barrier, write) = (&barrier, &write);
                threads.spawn(move || {
                    barrier.wait();
                    write(writer, *store)
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    })
}

/// Writers delete one event, then one fact key, at once: exactly one deletion succeeds, the
/// others are `NotFound` (a caller that pops an item gets each item once).
fn race_deletions(stores: &[&dyn Store], round: usize) {
    let own = scope("t1", "u1", "s1", "r1");
    let event_id = format!("race-event-{round}");
    let mut event =
        engram_types::EventInput::new(own.clone(), engram_types::EventKind::Message, json!({"text": "pop me"}));
    event.event_id = Some(event_id.clone());
    stores[0].append_event(event).unwrap();
    let key = format!("race.delete{round}");
    stores[0].upsert_fact(FactInput::new(own.clone(), key.clone(), json!(1))).unwrap();
    for (what, deletions) in [
        ("delete_event", race(stores, |_, store| store.delete_event(&own, &event_id))),
        ("delete_fact", race(stores, |_, store| store.delete_fact(&own, &key))),
    ] {
        let done = deletions.iter().filter(|deleted| deleted.is_ok()).count();
        assert_eq!(done, 1, "round {round}: {what} succeeds once: {deletions:?}");
        for refused in deletions.iter().filter_map(|deleted| deleted.as_ref().err()) {
            assert!(matches!(refused, Error::NotFound { .. }), "round {round}: {what}: {refused}");
        }
    }
}

/// Ok, or a typed `Conflict`: never `Storage` or another kind.
fn ok_or_conflict<T>(result: engram_store::Result<T>, what: &str) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(Error::Conflict { .. }) => None,
        Err(other) => panic!("{what} failed with something other than Conflict: {other}"),
    }
}

fn active_versions(store: &dyn Store, scope: &Scope, key: &str) -> Vec<String> {
    let history = store.fact_history(scope, key).unwrap();
    history.into_iter().filter(|fact| fact.status == FactStatus::Active).map(|fact| fact.fact_id).collect()
}

/// Writers upsert one new key at once, two values between them (supersede and refresh both
/// race): exactly one active fact is left, and it holds a value some writer wrote.
fn race_fact_upserts(stores: &[&dyn Store], round: usize) {
    let own = scope("t1", "u1", "s1", "r1");
    let key = format!("race.fact{round}");
    let written = race(stores, |writer, store| {
        let input = FactInput::new(own.clone(), key.clone(), json!(format!("value {}", writer % 2)));
        ok_or_conflict(store.upsert_fact(input), "upsert_fact")
    });
    assert!(written.iter().any(Option::is_some), "round {round}: some upsert succeeds");
    let active = active_versions(stores[0], &own, &key);
    assert_eq!(active.len(), 1, "round {round}: one active fact for {key}: {active:?}");
    let facts = stores[0].list_facts(&ListQuery::new(own.clone())).unwrap();
    assert_eq!(facts.iter().filter(|fact| fact.fact_key == key).count(), 1, "round {round}: listed once");
}

/// Writers promote one insight at once, to a fact and to a procedure: one promotion wins, the
/// others are `Conflict`; the insight names the winner's record, and the loser left none.
fn race_promotions(stores: &[&dyn Store], round: usize) {
    let own = scope("t1", "u1", "s1", &format!("promote{round}"));
    for (target, insight_id) in ["fact", "procedure"].into_iter().map(|target| (target, format!("ins-{target}{round}")))
    {
        let mut input = insight(&insight_id, &format!("{target} lesson of round {round}"), ValidationState::Testing);
        input.scope = own.clone();
        stores[0].append_insight(input).unwrap();
        let fact_key = format!("race.promoted{round}");
        let promoted = race(stores, |_, store| {
            let promotion = if target == "fact" {
                Promotion::Fact { fact_key: fact_key.clone(), value: None, scope_level: Default::default() }
            } else {
                Promotion::Procedure {
                    task_type: format!("race{round}"),
                    title: None,
                    steps: vec![],
                    scope_level: Default::default(),
                }
            };
            let request = PromoteInsight { scope: own.clone(), insight_id: insight_id.clone(), promotion };
            ok_or_conflict(store.promote_insight(&request), "promote_insight")
        });
        let winners: Vec<_> = promoted.into_iter().flatten().collect();
        assert_eq!(winners.len(), 1, "round {round}: {insight_id} is promoted once");
        let stored = stores[0].list_insights(&ListQuery::new(own.clone())).unwrap();
        let stored = stored.iter().find(|insight| insight.insight_id == insight_id).unwrap();
        assert_eq!(stored.promoted_to, winners[0].insight.promoted_to, "round {round}: the winner's link");
        assert_eq!(stored.validation, ValidationState::Validated);
        if target == "fact" {
            let active = active_versions(stores[0], &own, &fact_key);
            assert_eq!(active.len(), 1, "round {round}: one active fact for {fact_key}");
            assert_eq!(stored.promoted_to, Some(format!("fact:{}", active[0])));
        } else {
            let link = format!("insight:{insight_id}");
            let procedures = stores[0].list_procedures(&ListQuery::new(own.clone())).unwrap();
            let made: Vec<_> =
                procedures.iter().filter(|procedure| procedure.applicability.as_deref() == Some(&link)).collect();
            assert_eq!(made.len(), 1, "round {round}: one procedure from {insight_id}");
            assert_eq!(stored.promoted_to, Some(format!("procedure:{}", made[0].procedure_id)));
        }
    }
}

/// Writers patch a new run at once: compare-and-set on version 0 applies once; plain patches
/// all apply, each on the version before it (no lost update).
fn race_working_state_patches(stores: &[&dyn Store], round: usize) {
    let checked = scope("t1", "u1", "s1", &format!("cas{round}"));
    let patched = race(stores, |writer, store| {
        let mut patch = WorkingStatePatch::new(checked.clone());
        patch.expected_version = Some(0);
        patch.goal = Some(format!("goal of writer {writer}"));
        ok_or_conflict(store.patch_working_state(patch), "a compare-and-set patch")
    });
    assert_eq!(patched.iter().flatten().count(), 1, "round {round}: version 0 is patched once");
    assert_eq!(stores[0].get_working_state(&checked).unwrap().version, 1);

    let plain = scope("t1", "u1", "s1", &format!("merge{round}"));
    let patched = race(stores, |writer, store| {
        let mut patch = WorkingStatePatch::new(plain.clone());
        patch.slots = Some([(format!("writer{writer}"), json!(writer))].into_iter().collect());
        ok_or_conflict(store.patch_working_state(patch), "a plain patch")
    });
    let applied: Vec<_> = patched.into_iter().flatten().collect();
    let state = stores[0].get_working_state(&plain).unwrap();
    assert_eq!(state.version, applied.len() as u64, "round {round}: one version per applied patch");
    let mut versions: Vec<u64> = applied.iter().map(|state| state.version).collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=applied.len() as u64).collect::<Vec<_>>(), "round {round}: no version twice");
    assert_eq!(state.slots.len(), applied.len(), "round {round}: every applied patch kept: {:?}", state.slots);
}

/// Writers update a new session's short-term state at once, each one field of its own: every
/// update applies on the state before it, so no field a writer set is lost.
fn race_short_term_updates(stores: &[&dyn Store], round: usize) {
    let session = scope("t1", "u1", &format!("short{round}"), "r1");
    race(stores, |writer, store| {
        let mut update = engram_types::ShortTermUpdate::new(session.clone());
        match writer % 3 {
            0 => update.rolling_summary = Some(format!("summary of writer {writer}")),
            1 => update.key_quotes = Some(vec![format!("quote of writer {writer}")]),
            _ => update.consolidated_until = Some(crate::support::base_time()),
        }
        store.update_short_term(update).unwrap()
    });
    let state = stores[0].get_short_term(&session).unwrap();
    let fields = [state.rolling_summary.is_some(), !state.key_quotes.is_empty(), state.consolidated_until.is_some()];
    let set = [true, stores.len() > 1, stores.len() > 2];
    assert_eq!(fields, set, "round {round}: a concurrent first update was lost: {state:?}");
}
