//! A Python callable as the embedder of `Memory(embedder=...)`.
//!
//! engram calls it from the thread doing the store work (as it does a summarizer), with the
//! GIL taken back for just that call: `embedder(texts: list[str]) -> list[list[float]]`, one
//! vector per text. Anything with `tolist()` (a numpy array) is read through it. An exception
//! it raises fails the call with that same exception; nothing is written.

use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::callback::{callable_argument, refuse_awaitable};
use crate::conversions::from_value;
use crate::errors;

/// The argument name errors give (`embedder: ...`).
const ARGUMENT: &str = "embedder";

/// A Python callable, checked to be one; callable from any thread.
#[derive(Debug)]
pub(crate) struct PyEmbedder {
    callable: Py<PyAny>,
}

impl PyEmbedder {
    /// `None` stays `None` (no embedder: lexical retrieval only); anything else must be callable.
    pub(crate) fn from_argument(object: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Self>> {
        Ok(callable_argument(object, ARGUMENT)?.map(|callable| Self { callable }))
    }
}

impl engram_store::Embedder for PyEmbedder {
    fn embed(&self, texts: &[String]) -> engram_store::Result<Vec<Vec<f32>>> {
        Python::attach(|py| {
            let texts = PyList::new(py, texts).map_err(errors::from_callback)?;
            let mut returned = self.callable.bind(py).call1((texts,)).map_err(errors::from_callback)?;
            refuse_awaitable(&returned, ARGUMENT)?;
            if returned.hasattr("tolist").unwrap_or(false) {
                returned = returned.call_method0("tolist").map_err(errors::from_callback)?;
            }
            Ok(from_value::<Vec<Vec<f32>>>(&returned, ARGUMENT)?)
        })
    }
}
