//! A session's events between two instants, oldest first: what consolidation and extraction
//! walk through.

use std::collections::HashSet;

use engram_types::{Event, EventKind, EventQuery, Scope, Timestamp};

use super::PAGE;
use crate::StoreExt;
use crate::error::Result;
use crate::store::Store;

/// The session's events (of `kinds`, all when empty) strictly before `before` and after
/// `since`, oldest first (ties by id): read newest first in pages, walking back in time.
pub(super) fn session_events(
    store: &dyn Store,
    scope: &Scope,
    kinds: &[EventKind],
    mut before: Option<Timestamp>,
    since: Option<Timestamp>,
) -> Result<Vec<Event>> {
    let mut found: Vec<Event> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    loop {
        let mut query = EventQuery::new(scope.clone());
        query.session_wide = true;
        query.limit = PAGE;
        query.before = before;
        query.after = since;
        query.kinds = kinds.to_vec();
        let page = store.list_events(&query)?;
        let full = page.len() >= PAGE as usize;
        let Some(oldest) = page.last().map(|event| event.ts) else { break };
        let mut new = 0;
        for event in page {
            if seen.insert(event.event_id.clone()) {
                found.push(event);
                new += 1;
            }
        }
        // The oldest events go first, so the walk goes on to the oldest one after `since`.
        if !full || new == 0 {
            break;
        }
        // The page's oldest millisecond may hold more events: read it again (ids dedupe).
        before = just_after(oldest);
    }
    found.sort_by(|left, right| left.ts.cmp(&right.ts).then_with(|| left.event_id.cmp(&right.event_id)));
    Ok(found)
}

/// Where a walk over a session's events resumes: a time, and the ids of the events of its
/// millisecond already covered. Events of that millisecond not among them (left for later, or
/// written after) are still new; no ids say the whole millisecond was covered (a cursor stored
/// before ids were kept, or set by hand).
pub(super) struct Cursor<'a> {
    pub until: Option<Timestamp>,
    pub ids: &'a [String],
}

impl Cursor<'_> {
    /// The `since` bound of [`session_events`] that reads every new event.
    pub(super) fn since(&self) -> Option<Timestamp> {
        match self.until {
            Some(until) if !self.ids.is_empty() => Some(just_before(until).unwrap_or(until)),
            until => until,
        }
    }

    /// Whether `event` (read from [`Self::since`] on) is past the cursor.
    pub(super) fn is_new(&self, event: &Event) -> bool {
        Some(event.ts) != self.until || !self.ids.contains(&event.event_id)
    }
}

/// A cursor after `events` (oldest first): the newest one's time and the ids of that
/// millisecond's events among them.
pub(super) fn cursor_after(events: &[Event]) -> (Option<Timestamp>, Vec<String>) {
    let until = events.last().map(|event| event.ts);
    let ids = events.iter().filter(|event| Some(event.ts) == until).map(|event| event.event_id.clone()).collect();
    (until, ids)
}

/// The bound one millisecond after `instant`; none (no bound) at chrono's last instant, after
/// which no event can lie.
pub(super) fn just_after(instant: Timestamp) -> Option<Timestamp> {
    instant.checked_add_signed(chrono::Duration::milliseconds(1))
}

/// The bound one millisecond before `instant`; none at chrono's first instant.
pub(super) fn just_before(instant: Timestamp) -> Option<Timestamp> {
    instant.checked_sub_signed(chrono::Duration::milliseconds(1))
}
