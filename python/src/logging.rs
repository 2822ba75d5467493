//! The bridge from Rust `log`/`tracing` records to Python `logging` (pyo3-log), installed once.
//!
//! engram-store emits `tracing` events; with no tracing subscriber installed they become `log`
//! records, which pyo3-log hands to the Python logger named after the target
//! (`engram_store.packet.candidates`, ...). pyo3-log caches each logger's level so that a
//! disabled level costs no GIL. The cache is cleared when a store is opened, and whenever
//! Python's levels changed since the last store call (see [`watch_levels`]), so a level set at
//! any time applies to the next call.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};
use pyo3_log::ResetHandle;

static RESET: OnceLock<ResetHandle> = OnceLock::new();
/// Times Python's logging cleared its level caches, and the count the cache was last reset at.
static LEVEL_CHANGES: AtomicU64 = AtomicU64::new(0);
static LEVEL_CHANGES_SEEN: AtomicU64 = AtomicU64::new(0);

/// Installs the bridge. Called once, from the module's initialisation.
pub(crate) fn install(py: Python<'_>) -> PyResult<()> {
    // A second import in another interpreter of the same process finds the logger installed.
    if let Ok(handle) = pyo3_log::try_init() {
        let _ = RESET.set(handle);
    }
    watch_levels(py)
}

/// Python's logging clears its own level caches (`Manager._clear_cache`) on every `setLevel`,
/// `logging.disable` and configuration; the logger manager's one is wrapped to count those, so
/// a store call notices a change with one atomic read, and no GIL is taken per record.
fn watch_levels(py: Python<'_>) -> PyResult<()> {
    let manager = py.import("logging")?.getattr("Logger")?.getattr("manager")?;
    let clear_cache = manager.getattr("_clear_cache")?.unbind();
    let counting = PyCFunction::new_closure(
        py,
        Some(c"_clear_cache"),
        None,
        move |arguments: &Bound<'_, PyTuple>, _: Option<&Bound<'_, PyDict>>| -> PyResult<Py<PyAny>> {
            let cleared = clear_cache.call0(arguments.py());
            LEVEL_CHANGES.fetch_add(1, Ordering::Relaxed);
            cleared
        },
    )?;
    manager.setattr("_clear_cache", counting)
}

/// Forgets the cached Python loggers and levels; the next record reads them afresh.
pub(crate) fn refresh() {
    if let Some(handle) = RESET.get() {
        handle.reset();
    }
}

/// [`refresh`] when Python's levels changed since the last time; called before each store call.
pub(crate) fn follow_level_changes() {
    let changes = LEVEL_CHANGES.load(Ordering::Relaxed);
    if LEVEL_CHANGES_SEEN.swap(changes, Ordering::Relaxed) != changes {
        refresh();
    }
}
