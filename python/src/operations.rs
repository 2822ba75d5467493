//! Every store call the SDK offers, defined once for `Memory` and `AsyncMemory`: the Python
//! arguments are converted into owned engram types here (with the GIL), and what is returned
//! is the work to run against the store (without it).

use engram_store::{Stats, Store, StoreExt};
use engram_types::{
    BuildRequest, Episode, EpisodeInput, Event, EventInput, EventQuery, Fact, FactInput, FactWrite, Insight,
    InsightInput, InsightUpdate, ListQuery, MemoryPacket, Procedure, ProcedureInput, Scope, ShortTermState,
    ShortTermUpdate, WorkingState, WorkingStatePatch,
};
use pyo3::prelude::*;
use serde::de::DeserializeOwned;

use crate::conversions::{from_dict, from_list, string_argument};
use crate::errors;

/// One store call with its input already owned: it can run without the GIL, on any thread.
pub(crate) type Work<T> = Box<dyn FnOnce(&dyn Store) -> engram_store::Result<T> + Send>;

fn input<T: DeserializeOwned>(object: &Bound<'_, PyAny>, argument: &str) -> PyResult<T> {
    from_dict(object, argument).map_err(|invalid| errors::invalid_input(object.py(), invalid))
}

pub(crate) fn append_event(event: &Bound<'_, PyAny>) -> PyResult<Work<Event>> {
    let event: EventInput = input(event, "event")?;
    Ok(Box::new(move |store| store.append_event(event)))
}

pub(crate) fn append_events(events: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Event>>> {
    let events: Vec<EventInput> =
        from_list(events, "events").map_err(|invalid| errors::invalid_input(events.py(), invalid))?;
    Ok(Box::new(move |store| store.append_events(events)))
}

pub(crate) fn list_events(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Event>>> {
    let query: EventQuery = input(query, "query")?;
    Ok(Box::new(move |store| store.list_events(&query)))
}

pub(crate) fn upsert_fact(fact: &Bound<'_, PyAny>) -> PyResult<Work<FactWrite>> {
    let fact: FactInput = input(fact, "fact")?;
    Ok(Box::new(move |store| store.upsert_fact(fact)))
}

pub(crate) fn list_facts(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Fact>>> {
    let query: ListQuery = input(query, "query")?;
    Ok(Box::new(move |store| store.list_facts(&query)))
}

pub(crate) fn fact_history(scope: &Bound<'_, PyAny>, fact_key: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Fact>>> {
    let scope: Scope = input(scope, "scope")?;
    let fact_key =
        string_argument(fact_key, "fact_key").map_err(|invalid| errors::invalid_input(fact_key.py(), invalid))?;
    Ok(Box::new(move |store| store.fact_history(&scope, &fact_key)))
}

pub(crate) fn append_episode(episode: &Bound<'_, PyAny>) -> PyResult<Work<Episode>> {
    let episode: EpisodeInput = input(episode, "episode")?;
    Ok(Box::new(move |store| store.append_episode(episode)))
}

pub(crate) fn list_episodes(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Episode>>> {
    let query: ListQuery = input(query, "query")?;
    Ok(Box::new(move |store| store.list_episodes(&query)))
}

pub(crate) fn upsert_procedure(procedure: &Bound<'_, PyAny>) -> PyResult<Work<Procedure>> {
    let procedure: ProcedureInput = input(procedure, "procedure")?;
    Ok(Box::new(move |store| store.upsert_procedure(procedure)))
}

pub(crate) fn list_procedures(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Procedure>>> {
    let query: ListQuery = input(query, "query")?;
    Ok(Box::new(move |store| store.list_procedures(&query)))
}

pub(crate) fn append_insight(insight: &Bound<'_, PyAny>) -> PyResult<Work<Insight>> {
    let insight: InsightInput = input(insight, "insight")?;
    Ok(Box::new(move |store| store.append_insight(insight)))
}

pub(crate) fn update_insight(update: &Bound<'_, PyAny>) -> PyResult<Work<Insight>> {
    let update: InsightUpdate = input(update, "update")?;
    Ok(Box::new(move |store| store.update_insight(update)))
}

pub(crate) fn list_insights(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Insight>>> {
    let query: ListQuery = input(query, "query")?;
    Ok(Box::new(move |store| store.list_insights(&query)))
}

pub(crate) fn get_working_state(scope: &Bound<'_, PyAny>) -> PyResult<Work<WorkingState>> {
    let scope: Scope = input(scope, "scope")?;
    Ok(Box::new(move |store| store.get_working_state(&scope)))
}

pub(crate) fn patch_working_state(patch: &Bound<'_, PyAny>) -> PyResult<Work<WorkingState>> {
    let patch: WorkingStatePatch = input(patch, "patch")?;
    Ok(Box::new(move |store| store.patch_working_state(patch)))
}

pub(crate) fn get_stm(scope: &Bound<'_, PyAny>) -> PyResult<Work<ShortTermState>> {
    let scope: Scope = input(scope, "scope")?;
    Ok(Box::new(move |store| store.get_short_term(&scope)))
}

pub(crate) fn update_stm(update: &Bound<'_, PyAny>) -> PyResult<Work<ShortTermState>> {
    let update: ShortTermUpdate = input(update, "update")?;
    Ok(Box::new(move |store| store.update_short_term(update)))
}

pub(crate) fn build_memory_packet(request: &Bound<'_, PyAny>) -> PyResult<Work<MemoryPacket>> {
    let request: BuildRequest = input(request, "request")?;
    Ok(Box::new(move |store| engram_store::build_memory_packet(store, request)))
}

pub(crate) fn stats(scope: &Bound<'_, PyAny>) -> PyResult<Work<Stats>> {
    let scope: Scope = input(scope, "scope")?;
    Ok(Box::new(move |store| store.stats(&scope)))
}
