//! A Python callable as the embedder of `Memory(embedder=...)`.
//!
//! engram calls it from the thread doing the store work (as it does a summarizer), with the
//! GIL taken back for just that call: `embedder(texts: list[str]) -> list[list[float]]`, one
//! vector per text. Anything with `tolist()` (a numpy array) is read through it. An exception
//! it raises fails the call with that same exception; nothing is written.

use engram_types::ValidationError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::conversions::{from_value, type_name};
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
        let Some(object) = object.filter(|object| !object.is_none()) else { return Ok(None) };
        if !object.is_callable() {
            let problem = format!("expected a callable or None, got {}", type_name(object));
            return Err(errors::invalid_input(object.py(), ValidationError::new(ARGUMENT, problem)));
        }
        Ok(Some(Self { callable: object.clone().unbind() }))
    }
}

impl engram_store::Embedder for PyEmbedder {
    fn embed(&self, texts: &[String]) -> engram_store::Result<Vec<Vec<f32>>> {
        Python::attach(|py| {
            let texts = PyList::new(py, texts).map_err(errors::from_callback)?;
            let mut returned = self.callable.bind(py).call1((texts,)).map_err(errors::from_callback)?;
            if returned.hasattr("__await__").unwrap_or(false) {
                let _ = returned.call_method0("close");
                return Err(engram_store::Error::invalid(
                    ARGUMENT,
                    "returned an awaitable; the embedder must be a plain function (it runs on engram's threads)",
                ));
            }
            if returned.hasattr("tolist").unwrap_or(false) {
                returned = returned.call_method0("tolist").map_err(errors::from_callback)?;
            }
            Ok(from_value::<Vec<Vec<f32>>>(&returned, ARGUMENT)?)
        })
    }
}
