//! A Python callable as the embedder of `Memory(embedder=...)`.
//!
//! A `MiniLmEmbedder`, or an object whose `_engram_native_embedder()` returns one (as
//! `engram.embeddings.LocalEmbedder` does), is used as the store's embedder directly: no GIL
//! and no Python call per batch.
//!
//! engram calls it from the thread doing the store work (as it does a summarizer), with the
//! GIL taken back for just that call: `embedder(texts: list[str]) -> list[list[float]]`, one
//! vector per text. Anything with `tolist()` (a numpy array) is read through it. An exception
//! it raises fails the call with that same exception; nothing is written.

use std::sync::Arc;

use engram_store::Embedder;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::callback::{callable_argument, refuse_awaitable};
use crate::conversions::from_value;
use crate::errors;
use crate::minilm::PyMiniLm;

/// The argument name errors give (`embedder: ...`).
const ARGUMENT: &str = "embedder";
/// The method an embedder object offers when it wraps a native `MiniLmEmbedder`.
const NATIVE_HOOK: &str = "_engram_native_embedder";

/// A Python callable, checked to be one; callable from any thread.
#[derive(Debug)]
pub(crate) struct PyEmbedder {
    callable: Py<PyAny>,
}

impl PyEmbedder {
    /// `None` stays `None` (no embedder: lexical retrieval only); a native embedder (or an
    /// object handing one out) runs as itself; anything else must be callable.
    pub(crate) fn from_argument(object: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Arc<dyn Embedder>>> {
        if let Some(object) = object.filter(|object| !object.is_none())
            && let Some(native) = native_embedder(object)?
        {
            return Ok(Some(native));
        }
        Ok(callable_argument(object, ARGUMENT)?.map(|callable| Arc::new(Self { callable }) as Arc<dyn Embedder>))
    }
}

/// The `MiniLmEmbedder` itself, or the one `_engram_native_embedder()` returns; `None` for
/// other objects.
fn native_embedder(object: &Bound<'_, PyAny>) -> PyResult<Option<Arc<dyn Embedder>>> {
    let hook = object.getattr_opt(NATIVE_HOOK)?;
    let native = match hook {
        Some(hook) => hook.call0()?,
        None => object.clone(),
    };
    Ok(native.cast::<PyMiniLm>().ok().map(|native| native.get().shared() as Arc<dyn Embedder>))
}

impl Embedder for PyEmbedder {
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
