//! The asyncio loop as engram's awaitables see it. pyo3-async-runtimes hands each result to
//! the loop with `call_soon_threadsafe`; when the loop was closed with the call still in
//! flight, nobody can receive the result, and the loop's `RuntimeError` would be printed as a
//! traceback on stderr. This proxy drops such a result instead; every other error goes on.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// The running loop, with a `call_soon_threadsafe` that is quiet once the loop is closed.
#[pyclass(frozen, module = "engram")]
#[derive(Debug)]
pub(crate) struct ClosableLoop {
    inner: Py<PyAny>,
}

impl ClosableLoop {
    /// The running loop of the calling thread, wrapped; `None` outside a running loop.
    pub(crate) fn running(py: Python<'_>) -> Option<Bound<'_, Self>> {
        let running = pyo3_async_runtimes::get_running_loop(py).ok()?;
        Bound::new(py, Self { inner: running.unbind() }).ok()
    }
}

#[pymethods]
impl ClosableLoop {
    fn create_future<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.inner.bind(py).call_method0(pyo3::intern!(py, "create_future"))
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn call_soon_threadsafe(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let inner = self.inner.bind(py);
        match inner.call_method(pyo3::intern!(py, "call_soon_threadsafe"), args, kwargs) {
            Ok(_) => Ok(()),
            Err(_) if inner.call_method0(pyo3::intern!(py, "is_closed"))?.is_truthy()? => Ok(()),
            Err(error) => Err(error),
        }
    }
}
