//! `MiniLmEmbedder`: engram-embed's all-MiniLM-L6-v2 as a Python callable.
//!
//! Passed as `Memory(embedder=...)`, it runs as the store's `Embedder` directly, with no Python
//! call per batch (see `embedder.rs`). Called from Python, it owns its texts and releases the
//! GIL for tokenizing and inference.

use std::sync::Arc;

use engram_embed::{DIMENSIONS, MiniLmEmbedder};
use engram_types::ValidationError;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::conversions::{path_argument, type_name};
use crate::errors;

/// all-MiniLM-L6-v2 (int8 ONNX) loaded from `model_path`, offline; 384-dimension unit vectors.
#[pyclass(frozen, name = "MiniLmEmbedder", module = "engram._engram")]
#[derive(Debug)]
pub(crate) struct PyMiniLm {
    embedder: Arc<MiniLmEmbedder>,
}

impl PyMiniLm {
    /// The embedder, shared with a `Memory` that uses it.
    pub(crate) fn shared(&self) -> Arc<MiniLmEmbedder> {
        Arc::clone(&self.embedder)
    }
}

#[pymethods]
impl PyMiniLm {
    #[new]
    #[pyo3(signature = (model_path, batch_size = 32))]
    fn new(py: Python<'_>, model_path: &Bound<'_, PyAny>, batch_size: usize) -> PyResult<Self> {
        let path = path_argument(model_path, "model_path").map_err(|invalid| errors::invalid_input(py, invalid))?;
        if batch_size == 0 {
            return Err(errors::invalid_input(py, ValidationError::new("batch_size", "must be at least 1")));
        }
        let loaded = py.detach(|| MiniLmEmbedder::load(&path));
        let embedder = loaded
            .map_err(|error| errors::invalid_input(py, ValidationError::new("model_path", error.to_string())))?
            .with_batch_size(batch_size);
        Ok(Self { embedder: Arc::new(embedder) })
    }

    /// Length of every vector (384).
    #[getter]
    fn dimensions(&self) -> usize {
        DIMENSIONS
    }

    /// One unit vector per text, in order; the zero vector for a text without word pieces.
    fn __call__(&self, py: Python<'_>, texts: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<f32>>> {
        let texts = owned_texts(texts)?;
        let embedder = Arc::clone(&self.embedder);
        let encoded = py.detach(move || embedder.encode(&texts));
        encoded.map_err(|error| errors::store_error(py, error.into()))
    }

    fn __repr__(&self) -> String {
        format!("MiniLmEmbedder(model='all-MiniLM-L6-v2 int8', dimensions={DIMENSIONS})")
    }
}

/// The texts as owned strings; a non-`str` item is a `TypeError` naming its position.
fn owned_texts(texts: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if texts.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("texts: expected a sequence of str, got a single str"));
    }
    let mut owned = Vec::new();
    for (index, item) in texts.try_iter()?.enumerate() {
        let item = item?;
        let text = item
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("texts[{index}]: expected str, got {}", type_name(&item))))?;
        owned.push(text.to_cow()?.into_owned());
    }
    Ok(owned)
}
