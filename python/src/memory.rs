//! `Memory` and `AsyncMemory`: twins over one core that holds the store.
//!
//! Every method converts its arguments first (with the GIL), then runs the store call without
//! it: `Memory` inside `py.detach`, `AsyncMemory` on the runtime's blocking pool. The operations
//! are listed once, in the table at the end; `twin_methods!` writes both `#[pymethods]` blocks
//! from it, so the twins cannot drift apart in names, arguments or docs.

use std::sync::{Arc, Mutex, PoisonError};

use engram_store::Store;
use pyo3::prelude::*;
use pyo3::types::PyType;
use serde::Serialize;

use crate::conversions::{OpenArguments, Pythonized};
use crate::embedder::PyEmbedder;
use crate::operations::{self, SharedEmbedder, Work};
use crate::{errors, logging, runtime};
use engram_store::OpenOptions as Options;

/// The state both twins share: the open store, or nothing once closed.
#[derive(Debug)]
struct Core {
    store: Mutex<Option<Arc<dyn Store>>>,
    options: Options,
    embedder: SharedEmbedder,
}

impl Core {
    fn open(py: Python<'_>, options: Options, embedder: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let embedder = PyEmbedder::from_argument(embedder)?;
        logging::refresh();
        let opened = py.detach(|| options.open());
        let store = opened.map_err(|error| errors::store_error(py, error))?;
        Ok(Self { store: Mutex::new(Some(store)), options, embedder })
    }

    fn embedder(&self) -> SharedEmbedder {
        self.embedder.clone()
    }

    /// The open store; `EngramError` after `close()`.
    fn store(&self, py: Python<'_>) -> PyResult<Arc<dyn Store>> {
        let slot = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        slot.clone().ok_or_else(|| errors::engram_error(py, "this memory is closed"))
    }

    /// Takes the store out; calls already running keep their handle and finish.
    fn take(&self) -> Option<Arc<dyn Store>> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn is_closed(&self) -> bool {
        self.store.lock().unwrap_or_else(PoisonError::into_inner).is_none()
    }

    /// Runs the work now, without the GIL, and returns its result as Python objects.
    fn call<'py, T: Serialize + Send>(&self, py: Python<'py>, work: PyResult<Work<T>>) -> PyResult<Bound<'py, PyAny>> {
        let work = work?;
        let store = self.store(py)?;
        logging::follow_level_changes();
        let result = py.detach(move || work(&*store));
        match result {
            Ok(value) => Pythonized(value).into_pyobject(py),
            Err(error) => Err(errors::store_error(py, error)),
        }
    }

    /// Starts the work off the event loop and returns an awaitable of its result.
    fn spawn<'py, T: Serialize + Send + 'static>(
        &self,
        py: Python<'py>,
        work: PyResult<Work<T>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let prepared = work.and_then(|work| Ok((work, self.store(py)?)));
        logging::follow_level_changes();
        runtime::spawn(py, prepared)
    }

    /// `engram.scoped`'s `handle` class over `memory`, bound to the scope the arguments name.
    #[expect(clippy::too_many_arguments, reason = "the scope's parts, as Python passes them")]
    fn scoped<'py>(
        &self,
        memory: &Bound<'py, PyAny>,
        handle: &str,
        user_id: &Bound<'py, PyAny>,
        session_id: Option<&Bound<'py, PyAny>>,
        agent_id: Option<&Bound<'py, PyAny>>,
        tenant_id: Option<&Bound<'py, PyAny>>,
        run_id: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = memory.py();
        let max_id_bytes = self.store(py)?.limits().max_id_bytes;
        let scope = operations::scope_of(user_id, session_id, agent_id, tenant_id, run_id, max_id_bytes)?;
        let class = py.import("engram.scoped")?.getattr(handle)?;
        class.call1((memory, Pythonized(scope).into_pyobject(py)?))
    }

    fn repr(&self, class: &str) -> String {
        let closed = if self.is_closed() { ", closed" } else { "" };
        format!("{class}({}{closed})", self.options.describe())
    }
}

impl Drop for Core {
    /// A memory garbage-collected without `close()`: the store may close files or join
    /// threads that log, so let go of the GIL while it drops.
    fn drop(&mut self) {
        if let Some(store) = self.take() {
            Python::attach(|py| py.detach(move || drop(store)));
        }
    }
}

/// One `#[pymethods]` block: the constructor, `closed`, `__repr__` and `scope` both twins share,
/// the class's own items (`close` and the context manager), and one method per operation row.
///
/// A row is `fn name(required, ...; optional, ...) [with embedder];`: the method takes the
/// required arguments, then the optional ones (default `None`), and hands them, in that order,
/// to `operations::name` (with the memory's embedder last when the row says so); `run` is
/// `Core::call` (sync) or `Core::spawn` (an awaitable).
macro_rules! class_methods {
    ($class:ident, $run:ident, $scoped:literal, { $($own:tt)* }, {$(
        $(#[$doc:meta])*
        fn $name:ident($($required:ident),* $(; $($optional:ident),+)?) $(with $embedder:ident)?;
    )*}) => {
        #[pymethods]
        impl $class {
            #[new]
            #[pyo3(
                signature = (path = None, in_memory = None, backend = None, dsn = None, database = None, limits = None, synchronous = None, embedder = None),
                text_signature = "(path='data/engram.db', in_memory=False, backend=None, dsn=None, database=None, limits=None, synchronous='normal', embedder=None)"
            )]
            #[expect(clippy::too_many_arguments, reason = "the constructor's keyword arguments, as Python sees them")]
            fn new(
                py: Python<'_>,
                path: Option<&Bound<'_, PyAny>>,
                in_memory: Option<&Bound<'_, PyAny>>,
                backend: Option<&Bound<'_, PyAny>>,
                dsn: Option<&Bound<'_, PyAny>>,
                database: Option<&Bound<'_, PyAny>>,
                limits: Option<&Bound<'_, PyAny>>,
                synchronous: Option<&Bound<'_, PyAny>>,
                embedder: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<Self> {
                let arguments = OpenArguments { path, in_memory, backend, dsn, database, limits, synchronous };
                let options = arguments.into_options().map_err(|invalid| errors::invalid_input(py, invalid))?;
                Ok(Self { core: Core::open(py, options, embedder)? })
            }

            /// True once `close()` has been called.
            #[getter]
            fn closed(&self) -> bool {
                self.core.is_closed()
            }

            fn __repr__(&self) -> String {
                self.core.repr(stringify!($class))
            }

            /// This memory bound to one scope: every call that takes a scope, without it, plus
            /// `add_message(role, text)`. Tenant, agent and session default to `"default"`, the run to
            /// the session.
            #[pyo3(signature = (user_id, session_id = None, agent_id = None, tenant_id = None, run_id = None))]
            fn scope<'py>(
                slf: &Bound<'py, Self>,
                user_id: &Bound<'py, PyAny>,
                session_id: Option<&Bound<'py, PyAny>>,
                agent_id: Option<&Bound<'py, PyAny>>,
                tenant_id: Option<&Bound<'py, PyAny>>,
                run_id: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                slf.get().core.scoped(slf.as_any(), $scoped, user_id, session_id, agent_id, tenant_id, run_id)
            }

            $($own)*

            $(
                $(#[$doc])*
                #[pyo3(signature = ($($required,)* $($($optional = None,)+)?))]
                fn $name<'py>(
                    &self,
                    py: Python<'py>,
                    $($required: &Bound<'py, PyAny>,)*
                    $($($optional: Option<&Bound<'py, PyAny>>,)+)?
                ) -> PyResult<Bound<'py, PyAny>> {
                    let work = operations::$name($($required,)* $($($optional,)+)? $(self.core.$embedder(),)?);
                    self.core.$run(py, work)
                }
            )*
        }
    };
}

/// Both twins' methods: the operation table once, then each class's run and own items.
macro_rules! twin_methods {
    (operations $operations:tt $($class:ident($run:ident, $scoped:literal) { $($own:tt)* })+) => {
        $( class_methods!($class, $run, $scoped, { $($own)* }, $operations); )+
    };
}

/// Agent memory: events, facts, episodes, procedures, insights, working and short-term state,
/// and the memory packets built from them. Every call releases the GIL while it works.
///
/// `Memory(in_memory=True)` keeps everything in process memory; `Memory(path=...)` uses an
/// embedded SQLite file (created with its folder if missing); a `dsn` selects a server, the
/// backend read from its scheme (`postgres://`, `mysql://`) unless `backend=` says it. A Postgres
/// DSN may name several hosts (`postgres://user@primary:5432,standby:5432/engram`): the first
/// that takes writes is used, and after a failover the same object carries on on the promoted
/// standby (calls during the switch raise `BackendUnavailableError`). `limits` lowers or raises the size limits checked
/// before every write; `synchronous="full"` fsyncs every SQLite commit (power-loss safe).
/// `embedder(texts) -> vectors` fills the vectors of records written without one and the
/// query vector of a packet request (see `engram.embeddings.LocalEmbedder`).
/// Use as a context manager, or call `close()`.
#[pyclass(frozen, weakref, module = "engram")]
#[derive(Debug)]
pub struct Memory {
    core: Core,
}

/// `Memory` for asyncio: the same constructor and methods, each returning an awaitable. Store
/// work runs on engram's own threads, so the event loop never blocks and many calls overlap.
/// Use with `async with`, or `await close()`.
#[pyclass(frozen, weakref, module = "engram")]
#[derive(Debug)]
pub struct AsyncMemory {
    core: Core,
}

twin_methods! {
    operations {
        /// Appends one event and returns it as stored (with its id, ts, role, text, token count).
        fn append_event(event) with embedder;
        /// Appends events in one transaction: all are stored, or none.
        fn append_events(events) with embedder;
        /// A run's events (or the session's, with `session_wide`), newest first.
        fn list_events(query);
        /// The sequences of the events `list_events` returns for the query, in its order, read from
        /// the index alone: whether a listing changed since the events were last read.
        fn list_event_sequences(query);
        /// Writes a fact: created, superseding the active one of its key, or refreshing it.
        fn upsert_fact(fact) with embedder;
        /// Active facts visible from the scope, newest first.
        fn list_facts(query);
        /// Every version of a fact key visible from the scope, oldest first.
        fn fact_history(scope, fact_key);
        /// Appends an episode: a summary of what happened over a time range.
        fn append_episode(episode) with embedder;
        /// Episodes visible from the scope, newest first.
        fn list_episodes(query);
        /// Creates a procedure, or replaces the one with the same `procedure_id`.
        fn upsert_procedure(procedure) with embedder;
        /// Procedures visible from the scope, newest first.
        fn list_procedures(query);
        /// Appends a run-scoped insight (hypothesis, strategy or pattern).
        fn append_insight(insight);
        /// Changes an insight's validation state or confidence; `NotFoundError` outside its run.
        fn update_insight(update);
        /// The run's insights, newest first.
        fn list_insights(query);
        /// The run's working state (empty, version 0, when nothing was written).
        fn get_working_state(scope);
        /// Applies a patch atomically; a stale `expected_version` raises `ConflictError`.
        fn patch_working_state(patch);
        /// The session's short-term state: rolling summary and key quotes.
        fn get_stm(scope);
        /// Replaces the given parts of the session's short-term state.
        fn update_stm(update);
        /// Builds the memory packet for a request: the best context within the budget, explained.
        fn build_memory_packet(request) with embedder;
        /// Counts of the scope's records.
        fn stats(scope);
        /// What the database's own consistency checks find wrong (empty: nothing). SQLite runs
        /// `PRAGMA integrity_check` and FTS5's check of each postings index; memory and the servers
        /// report nothing (the servers keep their own checks).
        fn check_integrity();
        /// Deletes one event of the scope's user and agent (any session), with its index rows.
        /// `NotFoundError` when that user and agent have no such event. Returns the receipt.
        fn delete_event(scope, event_id);
        /// Deletes every version of a fact key the scope's user and agent wrote (history too).
        /// `NotFoundError` when there is none. Returns the receipt.
        fn delete_fact(scope, fact_key);
        /// Deletes the scope's user and agent's records matching every filter given (`before`, `tags`,
        /// `kinds`); at least one filter is needed. Returns the receipt.
        fn forget(request);
        /// Writes items (namespaced documents with a JSON `value` and optional `blob` bytes) in one
        /// transaction; a taken key is replaced, or kept with `on_conflict="keep"`.
        fn put_items(items; on_conflict);
        /// The items a query selects (namespace or prefix, keys, key range, value filter), in
        /// (namespace, key) order; expired items are never returned.
        fn list_items(query);
        /// Deletes every item a query selects (its `offset` and `limit` aside). Returns the receipt.
        fn delete_items(query);
        /// Items under a namespace prefix: ranked by BM25 over their indexed text when the search has
        /// a `query` (each with its `score`), else in (namespace, key) order; value filters apply.
        fn search_items(search);
        /// The namespaces holding items, by prefix and suffix (`*` matches one label), cut to
        /// `max_depth`, each once, in label order.
        fn list_namespaces(query);
        /// Deletes everything of a user in a tenant: records of every kind, agent and session, working
        /// and short-term states, index rows and lexical spaces. Returns the receipt. With
        /// `compact=True` the receipt is compacted too (see `compact`).
        fn purge_user(tenant_id, user_id; compact);
        /// Makes a deletion's receipt physical: on Postgres and MySQL the tables it counts rows of
        /// are rewritten without the deleted rows (`VACUUM (FULL)`, `ALTER TABLE ... FORCE`) and named
        /// in `erased`; SQLite erased them already, in memory nothing is on disk. Returns the receipt.
        fn compact(receipt);
        /// Deletes expired records of every tenant, ended runs' working states and, with a retention
        /// policy, old events. `None` sweeps at the wall clock without retention. Returns the receipt.
        fn sweep_expired(; request);
        /// Promotes a run's insight to a fact or a procedure (`to`); the insight becomes validated with
        /// `promoted_to` set. `ConflictError` when already promoted, `NotFoundError` outside its run.
        fn promote_insight(request);
        /// Ends a run: its unpromoted insights expire at `now` (the wall clock when `None`), its working
        /// state is marked ended (readable until swept, no longer in packets).
        fn end_run(scope; now);
        /// Turns the session's events beyond the conversation window into an episode and refreshes the
        /// short-term state. `summarizer(events) -> dict | str` replaces the extractive summary; an
        /// exception it raises propagates unchanged, and nothing is written.
        ///
        /// The summarizer is called with the GIL from the thread doing the work (one of engram's,
        /// for `AsyncMemory`) and must be a plain function, not `async`; a result that is neither a
        /// `Summary` dict nor a `str` raises `InvalidInputError` with
        /// `field` `summarizer` (or `summarizer.<key>` for a bad key of the dict).
        fn consolidate_session(request; summarizer);
        /// Sends the session's message events not sent yet (oldest first, `max_events` at a time,
        /// default 50) to `extractor(events: list[Event]) -> list[dict]` and writes each fact it
        /// returns (`fact_key`, `value`, optional `text`, `confidence`, `tags`, and `sources`: the
        /// ids of the events that state it, all of them by default) with `upsert_fact`, so a changed
        /// value supersedes the old one with history. Returns `events` (the ids sent), `facts` (each
        /// write) and the session's `short_term` (its `extracted_until` cursor moved past them).
        ///
        /// Bad output (not a list of such dicts, a wrong type, more than `max_facts` facts, a source
        /// that was not sent) raises `InvalidInputError` with `field` `extractor...` and writes
        /// nothing; those events are sent again next time. The extractor is called with the GIL from
        /// the thread doing the work and must be a plain function, not `async`.
        fn extract_facts(request, extractor);
        /// Writes every record and state of the scope's user and agent to `path` as JSON Lines.
        fn export_scope(scope, path);
        /// Restores an export. Every line is checked first, as the write that made it was (against this
        /// store's limits, unknown keys refused) and must belong to the header's tenant, user and agent:
        /// a bad line is an `InvalidInputError` naming it (`line 3.tags`) and nothing is written. Ids
        /// must be new in their tenant (`ConflictError` otherwise).
        fn import_scope(path);
    }

    Memory(call, "ScopedMemory") {
        /// Closes the store. Later calls raise `EngramError`; closing twice is harmless.
        fn close(&self, py: Python<'_>) {
            let store = self.core.take();
            // Dropping the last handle may close files or connections: do it without the GIL.
            py.detach(move || drop(store));
        }

        fn __enter__(slf: Py<Self>) -> Py<Self> {
            slf
        }

        #[pyo3(signature = (exc_type = None, exc_value = None, traceback = None))]
        fn __exit__(
            &self,
            py: Python<'_>,
            exc_type: Option<&Bound<'_, PyType>>,
            exc_value: Option<&Bound<'_, PyAny>>,
            traceback: Option<&Bound<'_, PyAny>>,
        ) -> bool {
            let _ = (exc_type, exc_value, traceback);
            self.close(py);
            false
        }
    }

    AsyncMemory(spawn, "AsyncScopedMemory") {
        /// Closes the store (awaitable). Later calls raise `EngramError`; closing twice is harmless.
        fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            let store = self.core.take();
            runtime::awaitable(py, async move {
                // Dropping the last handle may close files or connections: not on the event loop.
                let _ = tokio::task::spawn_blocking(move || drop(store)).await;
                // `None` in Python, as a coroutine that returns nothing gives (`()` is a tuple).
                Ok(None::<()>)
            })
        }

        fn __aenter__<'py>(slf: Py<Self>, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            runtime::awaitable(py, async move { Ok(slf) })
        }

        #[pyo3(signature = (exc_type = None, exc_value = None, traceback = None))]
        fn __aexit__<'py>(
            &self,
            py: Python<'py>,
            exc_type: Option<&Bound<'py, PyType>>,
            exc_value: Option<&Bound<'py, PyAny>>,
            traceback: Option<&Bound<'py, PyAny>>,
        ) -> PyResult<Bound<'py, PyAny>> {
            let _ = (exc_type, exc_value, traceback);
            let store = self.core.take();
            runtime::awaitable(py, async move {
                let _ = tokio::task::spawn_blocking(move || drop(store)).await;
                Ok(false)
            })
        }
    }
}
