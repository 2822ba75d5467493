//! Reads: each validates its request and runs on one snapshot.

use std::sync::Arc;

use engram_types::{Episode, Event, EventKind, EventQuery, Fact, Insight, Item, ListQuery, Procedure, Scope};

use super::run::read;
use crate::error::Result;
use crate::items::ItemScan;
use crate::items::{ItemPostings, ItemPostingsRequest};
use crate::maintenance::{ScanRequest, StateScan, StoredState};
use crate::record::{
    FetchRequest, Fetched, Postings, PostingsRequest, Reach, Record, RecordKind, Selector, Stats, VectorRequest,
    Vectors,
};
use crate::store::{Snapshot, Store};

pub(crate) fn fetch<S: Store + ?Sized>(store: &S, request: &FetchRequest) -> Result<Vec<Fetched>> {
    request.scope.validate(store.limits().max_id_bytes)?;
    request.validate()?;
    read(store, |snapshot| snapshot.fetch(request))
}

pub(crate) fn fetch_sequences<S: Store + ?Sized>(store: &S, request: &FetchRequest) -> Result<Vec<i64>> {
    request.scope.validate(store.limits().max_id_bytes)?;
    request.validate()?;
    read(store, |snapshot| snapshot.fetch_sequences(request))
}

pub(crate) fn postings<S: Store + ?Sized>(store: &S, request: &PostingsRequest) -> Result<Postings> {
    read(store, |snapshot| snapshot.postings(request))
}

pub(crate) fn vectors<S: Store + ?Sized>(store: &S, request: &VectorRequest) -> Result<Vectors> {
    request.validate(store.limits())?;
    read(store, |snapshot| snapshot.vectors(request))
}

pub(crate) fn stats<S: Store + ?Sized>(store: &S, scope: &Scope) -> Result<Stats> {
    scope.validate(store.limits().max_id_bytes)?;
    read(store, |snapshot| snapshot.stats(scope))
}

pub(crate) fn scan<S: Store + ?Sized>(store: &S, request: &ScanRequest) -> Result<Vec<Fetched>> {
    request.validate()?;
    read(store, |snapshot| snapshot.scan(request))
}

pub(crate) fn scan_states<S: Store + ?Sized>(store: &S, request: &StateScan) -> Result<Vec<StoredState>> {
    request.validate()?;
    read(store, |snapshot| snapshot.scan_states(request))
}

pub(crate) fn item_postings<S: Store + ?Sized>(store: &S, request: &ItemPostingsRequest) -> Result<ItemPostings> {
    read(store, |snapshot| snapshot.item_postings(request))
}

pub(crate) fn scan_items<S: Store + ?Sized>(store: &S, scan: &ItemScan) -> Result<Vec<Item>> {
    read(store, |snapshot| snapshot.scan_items(scan))
}

/// A run's (or, with `session_wide`, a session's) events, newest first.
pub(crate) fn list_events<S: Store + ?Sized>(store: &S, query: &EventQuery) -> Result<Vec<Event>> {
    Ok(fetch(store, &events_request(query))?
        .into_iter()
        .filter_map(|fetched| {
            let Record::Event(mut event) = Arc::unwrap_or_clone(fetched.record) else { return None };
            if query.with_sequences {
                event.sequence = Some(fetched.sequence);
            }
            Some(event)
        })
        .collect())
}

/// The sequences of the events `list_events` returns for the query, in its order.
pub(crate) fn list_event_sequences<S: Store + ?Sized>(store: &S, query: &EventQuery) -> Result<Vec<i64>> {
    fetch_sequences(store, &events_request(query))
}

pub(crate) fn list_facts<S: Store + ?Sized>(store: &S, query: &ListQuery) -> Result<Vec<Fact>> {
    Ok(list_space(store, RecordKind::Fact, query)?
        .into_iter()
        .filter_map(|record| if let Record::Fact(fact) = record { Some(fact) } else { None })
        .collect())
}

pub(crate) fn list_episodes<S: Store + ?Sized>(store: &S, query: &ListQuery) -> Result<Vec<Episode>> {
    Ok(list_space(store, RecordKind::Episode, query)?
        .into_iter()
        .filter_map(|record| if let Record::Episode(episode) = record { Some(episode) } else { None })
        .collect())
}

pub(crate) fn list_procedures<S: Store + ?Sized>(store: &S, query: &ListQuery) -> Result<Vec<Procedure>> {
    Ok(list_space(store, RecordKind::Procedure, query)?
        .into_iter()
        .filter_map(|record| if let Record::Procedure(procedure) = record { Some(procedure) } else { None })
        .collect())
}

/// The run's insights, newest first (rejected ones only with `include_inactive`).
pub(crate) fn list_insights<S: Store + ?Sized>(store: &S, query: &ListQuery) -> Result<Vec<Insight>> {
    let mut request =
        FetchRequest::new(RecordKind::Insight, query.scope.clone(), Reach::Run, Selector::Newest, query.limit);
    request.active_only = !query.include_inactive;
    Ok(fetch(store, &request)?
        .into_iter()
        .filter_map(|fetched| {
            if let Record::Insight(insight) = Arc::unwrap_or_clone(fetched.record) { Some(insight) } else { None }
        })
        .collect())
}

/// The latest `limit` message events of the session, oldest first.
pub(crate) fn conversation_window<S: Store + ?Sized>(store: &S, scope: &Scope, limit: u32) -> Result<Vec<Event>> {
    scope.validate(store.limits().max_id_bytes)?;
    read(store, |snapshot| window(snapshot, scope, limit))
}

/// [`conversation_window`] in a snapshot the caller holds (the packet builder's).
pub(crate) fn window(snapshot: &mut dyn Snapshot, scope: &Scope, limit: u32) -> Result<Vec<Event>> {
    Ok(window_events(snapshot.fetch(&window_request(scope, limit))?))
}

/// The fetch of a conversation window: the session's newest `limit` messages.
pub(crate) fn window_request(scope: &Scope, limit: u32) -> FetchRequest {
    let mut query = EventQuery::new(scope.clone());
    query.limit = limit;
    query.kinds = vec![EventKind::Message];
    query.session_wide = true;
    events_request(&query)
}

/// The window's events, oldest first, from its fetch.
pub(crate) fn window_events(fetched: Vec<Fetched>) -> Vec<Event> {
    let mut events: Vec<Event> = fetched
        .into_iter()
        .filter_map(
            |fetched| if let Record::Event(event) = Arc::unwrap_or_clone(fetched.record) { Some(event) } else { None },
        )
        .collect();
    events.reverse();
    events
}

fn events_request(query: &EventQuery) -> FetchRequest {
    let reach = if query.session_wide { Reach::Session } else { Reach::Run };
    let mut request = FetchRequest::new(RecordKind::Event, query.scope.clone(), reach, Selector::Newest, query.limit);
    request.event_kinds.clone_from(&query.kinds);
    request.before = query.before;
    request.after = query.after;
    request
}

fn list_space<S: Store + ?Sized>(store: &S, kind: RecordKind, query: &ListQuery) -> Result<Vec<Record>> {
    let mut request = FetchRequest::new(kind, query.scope.clone(), Reach::Space, Selector::Newest, query.limit);
    request.active_only = !query.include_inactive;
    Ok(fetch(store, &request)?.into_iter().map(|fetched| Arc::unwrap_or_clone(fetched.record)).collect())
}
