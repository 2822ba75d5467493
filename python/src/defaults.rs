//! `engram.defaults()`: what a call without a field gets, read from the Rust types.

use pyo3::prelude::*;

use crate::conversions::to_python;

/// Every default engram applies (policy, budget, limits, record fields, list sizes, lifecycle
/// bounds), as plain dicts.
#[pyfunction]
pub(crate) fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    to_python(py, &engram_types::Defaults::current())
}
