//! The Python callables `consolidate_session` and `extract_facts` call on a session's events.
//!
//! The store calls them from the thread its work runs on (without the GIL, for `Memory`; on
//! engram's blocking pool, for `AsyncMemory`): the callable is called with the GIL taken back
//! for just that call. It receives the events as a list of dicts (the shape `list_events`
//! returns, oldest first). A summarizer returns a `Summary` dict or a plain `str` (the summary
//! text); an extractor returns a list of fact dicts (`fact_key`, `value`, optional `text`,
//! `confidence`, `tags`, `sources`). An exception it raises fails the operation with that same
//! exception (see `errors::from_callback`); nothing is written.

use engram_types::{Event, ExtractedFact, Limits, Summary};
use pyo3::prelude::*;

use crate::callback::{callable_argument, refuse_awaitable};
use crate::conversions::{from_list, summary_from, to_python};
use crate::errors;

/// A Python callable on events, checked to be one, named after its argument; callable from
/// any thread.
#[derive(Debug)]
pub(crate) struct PyEventsCallback {
    callable: Py<PyAny>,
    argument: &'static str,
}

impl PyEventsCallback {
    /// `None` stays `None`; anything else must be callable.
    pub(crate) fn from_argument(object: Option<&Bound<'_, PyAny>>, argument: &'static str) -> PyResult<Option<Self>> {
        Ok(callable_argument(object, argument)?.map(|callable| Self { callable, argument }))
    }

    /// Lets go of the callable with the GIL held, so it is freed now rather than whenever a
    /// thread next takes the GIL (dropped without it, pyo3 only queues the reference).
    pub(crate) fn release(self) {
        Python::attach(move |_| drop(self));
    }

    /// Calls the callable on the events, with the GIL, and reads what it returned with `read`
    /// (a coroutine, from an `async def`, is an error).
    fn call<T>(
        &self,
        events: &[Event],
        read: impl FnOnce(&Bound<'_, PyAny>) -> engram_store::Result<T>,
    ) -> engram_store::Result<T> {
        Python::attach(|py| {
            let events = to_python(py, events).map_err(errors::from_callback)?;
            let returned = self.callable.bind(py).call1((events,)).map_err(errors::from_callback)?;
            refuse_awaitable(&returned, self.argument)?;
            read(&returned)
        })
    }

    /// As a summarizer: the summary of the events.
    pub(crate) fn summarize(&self, events: &[Event], limits: &Limits) -> engram_store::Result<Summary> {
        self.call(events, |returned| {
            let summary = summary_from(returned, self.argument)?;
            summary.validate(limits).map_err(|invalid| invalid.within(self.argument))?;
            Ok(summary)
        })
    }

    /// As an extractor: the facts the events state (checked by the store before any is written).
    pub(crate) fn extract(&self, events: &[Event]) -> engram_store::Result<Vec<ExtractedFact>> {
        self.call(events, |returned| Ok(from_list(returned, self.argument)?))
    }
}
