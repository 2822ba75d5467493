//! A Python callable as the summarizer of `consolidate_session`.
//!
//! The store calls the summarizer from the thread its work runs on (without the GIL, for
//! `Memory`; on engram's blocking pool, for `AsyncMemory`): the callable is called with the
//! GIL taken back for just that call. It receives the consumed events as a list of dicts (the
//! shape `list_events` returns, oldest first) and returns a `Summary` dict or a plain `str`
//! (the summary text). An exception it raises fails the consolidation with that same
//! exception (see `errors::from_callback`); nothing is written.

use engram_types::{Event, Limits, Summary};
use pyo3::prelude::*;

use crate::callback::{callable_argument, refuse_awaitable};
use crate::conversions::{summary_from, to_python};
use crate::errors;

/// The argument name errors give (`summarizer: ...`).
const ARGUMENT: &str = "summarizer";

/// A Python callable, checked to be one; callable from any thread.
#[derive(Debug)]
pub(crate) struct PySummarizer {
    callable: Py<PyAny>,
}

impl PySummarizer {
    /// `None` stays `None` (the store's extractive summarizer); anything else must be callable.
    pub(crate) fn from_argument(object: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Self>> {
        Ok(callable_argument(object, ARGUMENT)?.map(|callable| Self { callable }))
    }

    /// Lets go of the callable with the GIL held, so it is freed now rather than whenever a
    /// thread next takes the GIL (dropped without it, pyo3 only queues the reference).
    pub(crate) fn release(self) {
        Python::attach(move |_| drop(self));
    }

    /// Calls the Python callable on the events, with the GIL, and reads what it returned.
    pub(crate) fn summarize(&self, events: &[Event], limits: &Limits) -> engram_store::Result<Summary> {
        Python::attach(|py| {
            let events = to_python(py, events).map_err(errors::from_callback)?;
            let returned = self.callable.bind(py).call1((events,)).map_err(errors::from_callback)?;
            let summary = summary_of(&returned)?;
            summary.validate(limits).map_err(|invalid| invalid.within(ARGUMENT))?;
            Ok(summary)
        })
    }
}

/// What the summarizer returned, as a `Summary` (a coroutine, from an `async def`, is an error).
fn summary_of(returned: &Bound<'_, PyAny>) -> engram_store::Result<Summary> {
    refuse_awaitable(returned, ARGUMENT)?;
    Ok(summary_from(returned, ARGUMENT)?)
}
