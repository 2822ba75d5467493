//! `engram._engram`: the compiled core of the `engram` Python package.
//!
//! A thin layer over engram-store: conversions, errors, the async runtime and the logging
//! bridge each live in their own module; `Memory` and `AsyncMemory` share one core. The
//! public API is `engram/__init__.py`; this module is private.

mod allocator;
mod callback;
mod conversions;
mod defaults;
mod embedder;
mod errors;
mod event_loop;
mod events_callback;
mod logging;
mod memory;
mod minilm;
mod operations;
mod runtime;

#[pyo3::pymodule]
mod _engram {
    #[pymodule_export]
    use crate::defaults::defaults;
    #[pymodule_export]
    use crate::memory::{AsyncMemory, Memory};
    #[pymodule_export]
    use crate::minilm::PyMiniLm;

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        crate::logging::install(module.py())?;
        crate::runtime::configure();
        crate::runtime::register_exit_hook(module)?;
        crate::errors::register(module)?;
        module.add("__version__", env!("CARGO_PKG_VERSION"))?;
        Ok(())
    }
}
