//! Fact extraction: the session's message events not sent yet go to the extractor, oldest
//! first and a bounded batch at a time; the facts it returns are checked all together, then
//! written as upserts (a changed value supersedes the old one, with history) sourced from
//! those events; the session's cursor then moves past them, so they are not sent again.

use engram_types::{EventKind, ExtractRequest, Extraction, ShortTermUpdate};

use super::Extractor;
use super::session_events::{Cursor, cursor_after, session_events};
use crate::StoreExt;
use crate::error::{Error, Result};
use crate::prepare;
use crate::store::Store;

/// The argument errors about what the extractor returned are named after.
const EXTRACTOR: &str = "extractor";

pub(super) fn extract(store: &dyn Store, request: &ExtractRequest, extractor: Extractor<'_>) -> Result<Extraction> {
    let limits = store.limits();
    request.validate(limits)?;
    let scope = &request.scope;
    let short_term = store.get_short_term(scope)?;
    let cursor = Cursor { until: short_term.extracted_until, ids: &short_term.extracted_ids };
    let mut events = session_events(store, scope, &[EventKind::Message], None, cursor.since())?;
    events.retain(|event| cursor.is_new(event));
    if events.is_empty() {
        return Ok(Extraction { short_term, ..Extraction::default() });
    }
    let most = request.max_events as usize;
    if events.len() > most {
        // A batch ends between two milliseconds, so the ids the cursor keeps are all of its
        // last millisecond's sent so far.
        let cut = events[most].ts;
        let keep = events.iter().take(most).filter(|event| event.ts < cut).count();
        events.truncate(if keep == 0 { events.iter().filter(|event| event.ts == cut).count() } else { keep });
    }
    let sent: Vec<String> = events.iter().map(|event| event.event_id.clone()).collect();
    let found = extractor(&events)?;
    if found.len() > request.max_facts as usize {
        return Err(Error::invalid(
            EXTRACTOR,
            format!(
                "returned {} facts for {} events, at most {} (max_facts)",
                found.len(),
                sent.len(),
                request.max_facts
            ),
        ));
    }
    let now = request.now.map_or_else(prepare::now, prepare::normalize_time);
    // Every fact is checked before the first is written: bad output writes nothing.
    let mut inputs = Vec::with_capacity(found.len());
    for (index, fact) in found.into_iter().enumerate() {
        let input =
            fact.into_input(scope, &sent, now).map_err(|invalid| invalid.within(&format!("{EXTRACTOR}[{index}]")))?;
        input.validate(limits).map_err(|invalid| invalid.within(&format!("{EXTRACTOR}[{index}]")))?;
        inputs.push(input);
    }
    let mut facts = Vec::with_capacity(inputs.len());
    for input in inputs {
        facts.push(store.upsert_fact(input)?);
    }
    let mut update = ShortTermUpdate::new(scope.clone());
    let (until, ids) = cursor_after(&events);
    update.extracted_until = until;
    update.extracted_ids = Some(ids);
    update.updated_at = request.now.map(prepare::normalize_time);
    let short_term = store.update_short_term(update)?;
    Ok(Extraction { events: sent, facts, short_term })
}
