//! The bridge from Rust `log`/`tracing` records to Python `logging` (pyo3-log), installed once.
//!
//! engram-store emits `tracing` events; with no tracing subscriber installed they become `log`
//! records, which pyo3-log hands to the Python logger named after the target
//! (`engram_store.packet.candidates`, ...). pyo3-log caches each logger's level so that a
//! disabled level costs no GIL; the cache is cleared whenever a store is opened, so levels set
//! before `Memory(...)` always apply.

use std::sync::OnceLock;

use pyo3_log::ResetHandle;

static RESET: OnceLock<ResetHandle> = OnceLock::new();

/// Installs the bridge. Called once, from the module's initialisation.
pub(crate) fn install() {
    // A second import in another interpreter of the same process finds the logger installed.
    if let Ok(handle) = pyo3_log::try_init() {
        let _ = RESET.set(handle);
    }
}

/// Forgets the cached Python loggers and levels; the next record reads them afresh.
pub(crate) fn refresh() {
    if let Some(handle) = RESET.get() {
        handle.reset();
    }
}
