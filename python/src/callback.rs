//! What the Python callbacks engram calls from its own threads (a summarizer, an embedder)
//! share: the argument check, and refusing an `async def`'s coroutine.

use engram_types::ValidationError;
use pyo3::prelude::*;

use crate::conversions::type_name;
use crate::errors;

/// `None` stays `None`; anything else must be callable (`InvalidInputError` on `argument`).
pub(crate) fn callable_argument(object: Option<&Bound<'_, PyAny>>, argument: &str) -> PyResult<Option<Py<PyAny>>> {
    let Some(object) = object.filter(|object| !object.is_none()) else { return Ok(None) };
    if !object.is_callable() {
        let problem = format!("expected a callable or None, got {}", type_name(object));
        return Err(errors::invalid_input(object.py(), ValidationError::new(argument, problem)));
    }
    Ok(Some(object.clone().unbind()))
}

/// A coroutine returned by an `async def` callback is an error: the callback runs on engram's
/// threads, where nothing awaits it. It is closed unawaited, so Python does not warn that it
/// never ran.
pub(crate) fn refuse_awaitable(returned: &Bound<'_, PyAny>, argument: &str) -> engram_store::Result<()> {
    if returned.hasattr("__await__").unwrap_or(false) {
        let _ = returned.call_method0("close");
        return Err(engram_store::Error::invalid(
            argument,
            format!("returned an awaitable; the {argument} must be a plain function (it runs on engram's threads)"),
        ));
    }
    Ok(())
}
