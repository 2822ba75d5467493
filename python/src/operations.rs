//! Every store call the SDK offers, defined once for `Memory` and `AsyncMemory`: the Python
//! arguments are converted into owned engram types here (with the GIL), and what is returned
//! is the work to run against the store (without it).

use std::sync::Arc;

use engram_store::{
    Embedder, Items, Lifecycle, Stats, Store, StoreExt, append_episode_embedded, append_event_embedded,
    append_events_embedded, build_memory_packet_embedded, upsert_fact_embedded, upsert_procedure_embedded,
};
use engram_types::{
    BuildRequest, ConsolidateRequest, Consolidation, Episode, EpisodeInput, Event, EventInput, EventQuery,
    ExtractRequest, Extraction, Fact, FactInput, FactWrite, ForgetRequest, FoundItem, Insight, InsightInput,
    InsightUpdate, Item, ItemQuery, ItemSearch, ListQuery, MemoryPacket, NamespaceQuery, OnConflict, Procedure,
    ProcedureInput, PromoteInsight, Promoted, Receipt, RunEnd, Scope, ShortTermState, ShortTermUpdate, SweepRequest,
    Timestamp, WorkingState, WorkingStatePatch,
};
use pyo3::prelude::*;
use serde::de::DeserializeOwned;

use crate::conversions::{
    from_dict, from_list, from_scoped_dict, from_value, item_writes_from, path_argument, scope_from, string_argument,
};
use crate::errors;
use crate::events_callback::PyEventsCallback;

/// One store call with its input already owned: it can run without the GIL, on any thread.
pub(crate) type Work<T> = Box<dyn FnOnce(&dyn Store) -> engram_store::Result<T> + Send>;

/// The memory's embedder, if it has one: writes and packet builds fill missing vectors with
/// it inside their work (it takes the GIL back for its call).
pub(crate) type SharedEmbedder = Option<Arc<dyn Embedder>>;

fn input<T: DeserializeOwned>(object: &Bound<'_, PyAny>, argument: &str) -> PyResult<T> {
    from_dict(object, argument).map_err(|invalid| errors::invalid_input(object.py(), invalid))
}

/// The scope of `Memory.scope(...)`: each part checked as an id and named by its keyword;
/// tenant, agent and session default to `default`, the run to the session.
pub(crate) fn scope_of(
    user_id: &Bound<'_, PyAny>,
    session_id: Option<&Bound<'_, PyAny>>,
    agent_id: Option<&Bound<'_, PyAny>>,
    tenant_id: Option<&Bound<'_, PyAny>>,
    run_id: Option<&Bound<'_, PyAny>>,
    max_id_bytes: usize,
) -> PyResult<Scope> {
    let py = user_id.py();
    let part = |name: &str, given: Option<&Bound<'_, PyAny>>, default: &str| -> PyResult<String> {
        let value = match given.filter(|given| !given.is_none()) {
            Some(given) => text(given, name)?,
            None => default.to_string(),
        };
        engram_types::check_id(name, &value, max_id_bytes).map_err(|invalid| errors::invalid_input(py, invalid))?;
        Ok(value)
    };
    let session_id = part("session_id", session_id, "default")?;
    Ok(Scope {
        tenant_id: part("tenant_id", tenant_id, "default")?,
        user_id: part("user_id", Some(user_id), "")?,
        agent_id: part("agent_id", agent_id, "default")?,
        run_id: part("run_id", run_id, &session_id)?,
        session_id,
    })
}

/// A request holding a scope, or the scope alone (see `conversions::scoped`).
fn scoped_input<T: DeserializeOwned>(object: &Bound<'_, PyAny>, argument: &str) -> PyResult<T> {
    from_scoped_dict(object, argument).map_err(|invalid| errors::invalid_input(object.py(), invalid))
}

/// A scope passed as its own argument, or `{"scope": scope}`: its fields are named
/// `scope.user_id`, as inside a record.
fn scope_input(object: &Bound<'_, PyAny>) -> PyResult<Scope> {
    scope_from(object).map_err(|invalid| errors::invalid_input(object.py(), invalid))
}

fn text(object: &Bound<'_, PyAny>, argument: &str) -> PyResult<String> {
    string_argument(object, argument).map_err(|invalid| errors::invalid_input(object.py(), invalid))
}

pub(crate) fn append_event(event: &Bound<'_, PyAny>, embedder: SharedEmbedder) -> PyResult<Work<Event>> {
    let event: EventInput = scoped_input(event, "event")?;
    Ok(Box::new(move |store| append_event_embedded(store, embedder.as_deref(), event)))
}

pub(crate) fn append_events(events: &Bound<'_, PyAny>, embedder: SharedEmbedder) -> PyResult<Work<Vec<Event>>> {
    let events: Vec<EventInput> =
        from_list(events, "events").map_err(|invalid| errors::invalid_input(events.py(), invalid))?;
    Ok(Box::new(move |store| append_events_embedded(store, embedder.as_deref(), events)))
}

pub(crate) fn list_events(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Event>>> {
    let query: EventQuery = scoped_input(query, "query")?;
    Ok(Box::new(move |store| store.list_events(&query)))
}

pub(crate) fn list_event_sequences(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<i64>>> {
    let query: EventQuery = scoped_input(query, "query")?;
    Ok(Box::new(move |store| store.list_event_sequences(&query)))
}

pub(crate) fn upsert_fact(fact: &Bound<'_, PyAny>, embedder: SharedEmbedder) -> PyResult<Work<FactWrite>> {
    let fact: FactInput = scoped_input(fact, "fact")?;
    Ok(Box::new(move |store| upsert_fact_embedded(store, embedder.as_deref(), fact)))
}

pub(crate) fn list_facts(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Fact>>> {
    let query: ListQuery = scoped_input(query, "query")?;
    Ok(Box::new(move |store| store.list_facts(&query)))
}

pub(crate) fn fact_history(scope: &Bound<'_, PyAny>, fact_key: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Fact>>> {
    let scope = scope_input(scope)?;
    let fact_key = text(fact_key, "fact_key")?;
    Ok(Box::new(move |store| store.fact_history(&scope, &fact_key)))
}

pub(crate) fn append_episode(episode: &Bound<'_, PyAny>, embedder: SharedEmbedder) -> PyResult<Work<Episode>> {
    let episode: EpisodeInput = scoped_input(episode, "episode")?;
    Ok(Box::new(move |store| append_episode_embedded(store, embedder.as_deref(), episode)))
}

pub(crate) fn list_episodes(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Episode>>> {
    let query: ListQuery = scoped_input(query, "query")?;
    Ok(Box::new(move |store| store.list_episodes(&query)))
}

pub(crate) fn upsert_procedure(procedure: &Bound<'_, PyAny>, embedder: SharedEmbedder) -> PyResult<Work<Procedure>> {
    let procedure: ProcedureInput = scoped_input(procedure, "procedure")?;
    Ok(Box::new(move |store| upsert_procedure_embedded(store, embedder.as_deref(), procedure)))
}

pub(crate) fn list_procedures(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Procedure>>> {
    let query: ListQuery = scoped_input(query, "query")?;
    Ok(Box::new(move |store| store.list_procedures(&query)))
}

pub(crate) fn append_insight(insight: &Bound<'_, PyAny>) -> PyResult<Work<Insight>> {
    let insight: InsightInput = scoped_input(insight, "insight")?;
    Ok(Box::new(move |store| store.append_insight(insight)))
}

pub(crate) fn update_insight(update: &Bound<'_, PyAny>) -> PyResult<Work<Insight>> {
    let update: InsightUpdate = scoped_input(update, "update")?;
    Ok(Box::new(move |store| store.update_insight(update)))
}

pub(crate) fn list_insights(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Insight>>> {
    let query: ListQuery = scoped_input(query, "query")?;
    Ok(Box::new(move |store| store.list_insights(&query)))
}

pub(crate) fn get_working_state(scope: &Bound<'_, PyAny>) -> PyResult<Work<WorkingState>> {
    let scope = scope_input(scope)?;
    Ok(Box::new(move |store| store.get_working_state(&scope)))
}

pub(crate) fn patch_working_state(patch: &Bound<'_, PyAny>) -> PyResult<Work<WorkingState>> {
    let patch: WorkingStatePatch = scoped_input(patch, "patch")?;
    Ok(Box::new(move |store| store.patch_working_state(patch)))
}

pub(crate) fn get_stm(scope: &Bound<'_, PyAny>) -> PyResult<Work<ShortTermState>> {
    let scope = scope_input(scope)?;
    Ok(Box::new(move |store| store.get_short_term(&scope)))
}

pub(crate) fn update_stm(update: &Bound<'_, PyAny>) -> PyResult<Work<ShortTermState>> {
    let update: ShortTermUpdate = scoped_input(update, "update")?;
    Ok(Box::new(move |store| store.update_short_term(update)))
}

pub(crate) fn build_memory_packet(
    request: &Bound<'_, PyAny>,
    embedder: SharedEmbedder,
) -> PyResult<Work<MemoryPacket>> {
    let request: BuildRequest = scoped_input(request, "request")?;
    Ok(Box::new(move |store| build_memory_packet_embedded(store, embedder.as_deref(), request)))
}

pub(crate) fn stats(scope: &Bound<'_, PyAny>) -> PyResult<Work<Stats>> {
    let scope = scope_input(scope)?;
    Ok(Box::new(move |store| store.stats(&scope)))
}

pub(crate) fn check_integrity() -> PyResult<Work<Vec<String>>> {
    Ok(Box::new(|store| store.check_integrity()))
}

// --- items --------------------------------------------------------------------------------

/// `None` replaces a taken key.
pub(crate) fn put_items(items: &Bound<'_, PyAny>, on_conflict: Option<&Bound<'_, PyAny>>) -> PyResult<Work<()>> {
    let writes = item_writes_from(items, "items").map_err(|invalid| errors::invalid_input(items.py(), invalid))?;
    let on_conflict: OnConflict = match on_conflict.filter(|on_conflict| !on_conflict.is_none()) {
        Some(on_conflict) => from_value(on_conflict, "on_conflict")
            .map_err(|invalid| errors::invalid_input(on_conflict.py(), invalid))?,
        None => OnConflict::Replace,
    };
    Ok(Box::new(move |store| store.put_items(writes, on_conflict)))
}

pub(crate) fn list_items(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Item>>> {
    let query: ItemQuery = input(query, "query")?;
    Ok(Box::new(move |store| store.list_items(&query)))
}

pub(crate) fn delete_items(query: &Bound<'_, PyAny>) -> PyResult<Work<Receipt>> {
    let query: ItemQuery = input(query, "query")?;
    Ok(Box::new(move |store| store.delete_items(&query)))
}

pub(crate) fn search_items(search: &Bound<'_, PyAny>) -> PyResult<Work<Vec<FoundItem>>> {
    let search: ItemSearch = input(search, "search")?;
    Ok(Box::new(move |store| store.search_items(&search)))
}

pub(crate) fn list_namespaces(query: &Bound<'_, PyAny>) -> PyResult<Work<Vec<Vec<String>>>> {
    let query: NamespaceQuery = input(query, "query")?;
    Ok(Box::new(move |store| store.list_namespaces(&query)))
}

// --- the lifecycle ----------------------------------------------------------------------

pub(crate) fn delete_event(scope: &Bound<'_, PyAny>, event_id: &Bound<'_, PyAny>) -> PyResult<Work<Receipt>> {
    let scope = scope_input(scope)?;
    let event_id = text(event_id, "event_id")?;
    Ok(Box::new(move |store| store.delete_event(&scope, &event_id)))
}

pub(crate) fn delete_fact(scope: &Bound<'_, PyAny>, fact_key: &Bound<'_, PyAny>) -> PyResult<Work<Receipt>> {
    let scope = scope_input(scope)?;
    let fact_key = text(fact_key, "fact_key")?;
    Ok(Box::new(move |store| store.delete_fact(&scope, &fact_key)))
}

pub(crate) fn forget(request: &Bound<'_, PyAny>) -> PyResult<Work<Receipt>> {
    let request: ForgetRequest = scoped_input(request, "request")?;
    Ok(Box::new(move |store| store.forget(&request)))
}

/// With `compact` true, the purge's receipt is compacted in the same call.
pub(crate) fn purge_user(
    tenant_id: &Bound<'_, PyAny>,
    user_id: &Bound<'_, PyAny>,
    compact: Option<&Bound<'_, PyAny>>,
) -> PyResult<Work<Receipt>> {
    let tenant_id = text(tenant_id, "tenant_id")?;
    let user_id = text(user_id, "user_id")?;
    let compact: bool = match compact.filter(|compact| !compact.is_none()) {
        Some(compact) => {
            from_value(compact, "compact").map_err(|invalid| errors::invalid_input(compact.py(), invalid))?
        }
        None => false,
    };
    Ok(Box::new(move |store| {
        let receipt = store.purge_user(&tenant_id, &user_id)?;
        if compact { store.compact(receipt) } else { Ok(receipt) }
    }))
}

pub(crate) fn compact(receipt: &Bound<'_, PyAny>) -> PyResult<Work<Receipt>> {
    let receipt: Receipt = input(receipt, "receipt")?;
    Ok(Box::new(move |store| store.compact(receipt)))
}

/// `None` sweeps with the wall clock and no retention policy.
pub(crate) fn sweep_expired(request: Option<&Bound<'_, PyAny>>) -> PyResult<Work<Receipt>> {
    let request: SweepRequest = match request.filter(|request| !request.is_none()) {
        Some(request) => input(request, "request")?,
        None => SweepRequest::default(),
    };
    Ok(Box::new(move |store| store.sweep_expired(&request)))
}

pub(crate) fn promote_insight(request: &Bound<'_, PyAny>) -> PyResult<Work<Promoted>> {
    let request: PromoteInsight = scoped_input(request, "request")?;
    Ok(Box::new(move |store| store.promote_insight(&request)))
}

pub(crate) fn end_run(scope: &Bound<'_, PyAny>, now: Option<&Bound<'_, PyAny>>) -> PyResult<Work<RunEnd>> {
    let scope = scope_input(scope)?;
    let now: Option<Timestamp> = match now.filter(|now| !now.is_none()) {
        Some(now) => Some(from_value(now, "now").map_err(|invalid| errors::invalid_input(now.py(), invalid))?),
        None => None,
    };
    Ok(Box::new(move |store| store.end_run(&scope, now)))
}

/// With a Python `summarizer`, the store calls it (taking the GIL back) on the consumed events.
pub(crate) fn consolidate_session(
    request: &Bound<'_, PyAny>,
    summarizer: Option<&Bound<'_, PyAny>>,
) -> PyResult<Work<Consolidation>> {
    let request: ConsolidateRequest = scoped_input(request, "request")?;
    let summarizer = PyEventsCallback::from_argument(summarizer, "summarizer")?;
    Ok(Box::new(move |store| match summarizer {
        Some(summarizer) => {
            let limits = store.limits();
            let summarize = |events: &[Event]| summarizer.summarize(events, limits);
            let consolidated = store.consolidate_session(&request, Some(&summarize));
            summarizer.release();
            consolidated
        }
        None => store.consolidate_session(&request, None),
    }))
}

/// The store calls the Python `extractor` (taking the GIL back) on the session's new message
/// events; a missing extractor is an `InvalidInputError` naming it.
pub(crate) fn extract_facts(request: &Bound<'_, PyAny>, extractor: &Bound<'_, PyAny>) -> PyResult<Work<Extraction>> {
    let py = request.py();
    let request: ExtractRequest = scoped_input(request, "request")?;
    let Some(extractor) = PyEventsCallback::from_argument(Some(extractor), "extractor")? else {
        let missing = engram_types::ValidationError::new("extractor", "expected a callable, got None");
        return Err(errors::invalid_input(py, missing));
    };
    Ok(Box::new(move |store| {
        let extract = |events: &[Event]| extractor.extract(events);
        let extracted = store.extract_facts(&request, &extract);
        extractor.release();
        extracted
    }))
}

pub(crate) fn export_scope(scope: &Bound<'_, PyAny>, path: &Bound<'_, PyAny>) -> PyResult<Work<Receipt>> {
    let scope = scope_input(scope)?;
    let path = path_argument(path, "path").map_err(|invalid| errors::invalid_input(path.py(), invalid))?;
    Ok(Box::new(move |store| store.export_scope(&scope, &path)))
}

pub(crate) fn import_scope(path: &Bound<'_, PyAny>) -> PyResult<Work<Receipt>> {
    let path = path_argument(path, "path").map_err(|invalid| errors::invalid_input(path.py(), invalid))?;
    Ok(Box::new(move |store| store.import_scope(&path)))
}
