//! The one tokio runtime behind `AsyncMemory`, and how a store call becomes an awaitable.
//!
//! Store calls are blocking (the Rust API is sync), so each runs on the runtime's blocking
//! pool (`spawn_blocking`); the runtime's single worker only awaits them. Results are handed
//! to the asyncio loop by pyo3-async-runtimes (`future_into_py`), which attaches to Python
//! on a blocking-pool thread to call `loop.call_soon_threadsafe` (through a
//! [`ClosableLoop`], which drops a result whose loop has been closed meanwhile).
//!
//! That hand-off can still be inside Python when the awaiting coroutine has already resumed
//! and the program is exiting; CPython ends any thread that re-takes the GIL during
//! finalization, which would unwind through Rust frames and crash. So the runtime counts
//! awaitables whose hand-off has not finished, and an `atexit` hook waits (without the GIL,
//! for a bounded time) until there are none.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use engram_store::Store;
use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{ContextExt, Runtime};
use serde::Serialize;

use crate::conversions::Pythonized;
use crate::errors;
use crate::event_loop::ClosableLoop;

/// Most store calls running at once on behalf of `AsyncMemory`; more wait in tokio's queue.
const MAX_BLOCKING_THREADS: usize = 64;

/// How long the exit hook waits for results still being handed to Python.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Configures the runtime. Called once, from the module's initialisation, before any use.
pub(crate) fn configure() {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(1).max_blocking_threads(MAX_BLOCKING_THREADS).thread_name("engram-runtime").enable_all();
    pyo3_async_runtimes::tokio::init(builder);
}

/// Registers the exit hook with Python's `atexit`. Called once, from the module's initialisation.
pub(crate) fn register_exit_hook(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = pyo3::wrap_pyfunction!(wait_for_handoffs, module)?;
    module.py().import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}

/// Runs `work` against `store` off the event loop and returns an asyncio awaitable of its
/// result. An error already found (bad input, closed memory) is raised when awaited, as it
/// would be from a coroutine.
pub(crate) fn spawn<'py, T, W>(py: Python<'py>, prepared: PyResult<(W, Arc<dyn Store>)>) -> PyResult<Bound<'py, PyAny>>
where
    T: Serialize + Send + 'static,
    W: FnOnce(&dyn Store) -> engram_store::Result<T> + Send + 'static,
{
    awaitable(py, async move {
        let (work, store) = prepared?;
        match tokio::task::spawn_blocking(move || work(&*store)).await {
            Ok(Ok(value)) => Ok(Pythonized(value)),
            Ok(Err(error)) => Err(Python::attach(|py| errors::store_error(py, error))),
            Err(join_error) => {
                Err(Python::attach(|py| errors::engram_error(py, format!("engram task failed: {join_error}"))))
            }
        }
    })
}

/// `future_into_py` on engram's runtime, counted until its result has been handed over.
pub(crate) fn awaitable<'py, F, T>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let awaitable = pyo3_async_runtimes::generic::future_into_py::<EngramRuntime, F, T>(py, future)?;
    // Counted after success: a failed call spawns nothing. The hand-off may already have
    // finished (and uncounted itself); the count is only read once the program exits.
    HANDOFFS.pending.fetch_add(1, Ordering::SeqCst);
    Ok(awaitable)
}

/// Waits, without the GIL and at most `EXIT_GRACE`, until every result has been handed to Python.
#[pyfunction]
fn wait_for_handoffs(py: Python<'_>) {
    py.detach(|| HANDOFFS.wait_idle(EXIT_GRACE));
}

/// Awaitables created minus hand-offs finished.
struct Handoffs {
    pending: AtomicIsize,
    lock: Mutex<()>,
    finished: Condvar,
}

static HANDOFFS: Handoffs = Handoffs { pending: AtomicIsize::new(0), lock: Mutex::new(()), finished: Condvar::new() };

impl Handoffs {
    fn finish(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.finished.notify_all();
    }

    fn wait_idle(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        while self.pending.load(Ordering::SeqCst) > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { return };
            guard = self.finished.wait_timeout(guard, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

/// Marks one hand-off finished when dropped, after the hand-off closure has left Python.
struct HandoffDone;

impl Drop for HandoffDone {
    fn drop(&mut self) {
        HANDOFFS.finish();
    }
}

/// pyo3-async-runtimes' tokio runtime, except that the blocking hand-off of each result is
/// counted (pyo3-async-runtimes runs exactly one per awaitable).
struct EngramRuntime;

impl Runtime for EngramRuntime {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F>(future: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        pyo3_async_runtimes::tokio::get_runtime().spawn(future)
    }

    fn spawn_blocking<F>(handoff: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        pyo3_async_runtimes::tokio::get_runtime().spawn_blocking(move || {
            let _done = HandoffDone;
            handoff();
        })
    }
}

impl ContextExt for EngramRuntime {
    /// engram's futures never call back into Python coroutines, so they need no task locals.
    fn scope<F, R>(_locals: TaskLocals, future: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        Box::pin(future)
    }

    /// The running loop behind a [`ClosableLoop`], so a result arriving after the loop closed is
    /// dropped quietly; no context is copied (see `scope`).
    fn get_task_locals() -> Option<TaskLocals> {
        Python::attach(|py| ClosableLoop::running(py).map(|running| TaskLocals::new(running.into_any())))
    }
}
