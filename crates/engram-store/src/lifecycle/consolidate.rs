//! Consolidation: a session's events beyond the conversation window become one episode that
//! links them, and the session's rolling summary and key quotes are refreshed.

use std::collections::HashSet;

use engram_types::{CompressionLevel, ConsolidateRequest, Consolidation, EpisodeInput, ShortTermUpdate};

use super::session_events::{Cursor, cursor_after, just_after, session_events};
use super::{Summarizer, summarize};
use crate::StoreExt;
use crate::error::{ErrorKind, Result};
use crate::maintenance::ScanRequest;
use crate::prepare;
use crate::record::{Record, RecordKind};
use crate::store::Store;

/// The rolling summary keeps the newest this many bytes of consolidated summaries.
const ROLLING_SUMMARY_BYTES: usize = 4000;
/// Key quotes kept in the short-term state.
const KEY_QUOTES: usize = 10;

pub(super) fn consolidate(
    store: &dyn Store,
    request: &ConsolidateRequest,
    summarizer: Option<Summarizer<'_>>,
) -> Result<Consolidation> {
    let limits = store.limits();
    request.validate(limits)?;
    let scope = &request.scope;
    let short_term = store.get_short_term(scope)?;
    let window = store.conversation_window(scope, request.window)?;
    // Beyond the window: everything older than its oldest turn (every event when the session
    // has no message yet).
    let boundary = window.first().map(|event| event.ts);
    let window_ids: HashSet<&str> = window.iter().map(|event| event.event_id.as_str()).collect();
    // Events sharing the boundary's millisecond but outside the window belong beyond it too,
    // hence `before` one millisecond later and the window filtered out by id afterwards.
    let before = boundary.and_then(just_after);
    let cursor = Cursor { until: short_term.consolidated_until, ids: &short_term.consolidated_ids };
    let mut events = session_events(store, scope, &[], before, cursor.since())?;
    events.retain(|event| cursor.is_new(event) && !window_ids.contains(event.event_id.as_str()));
    if events.len() < request.min_events.max(1) as usize {
        return Ok(Consolidation { short_term, ..Consolidation::default() });
    }
    events.truncate(request.max_events as usize);
    let summary = match summarizer {
        Some(summarize_with) => summarize_with(&events)?,
        None => summarize(&events, limits),
    };
    summary.validate(limits)?;
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Ok(Consolidation { short_term, ..Consolidation::default() });
    };
    let importance = events.iter().map(|event| event.importance).fold(0.0, f64::max);
    let episode_id = episode_id(scope, &first.event_id);
    let written = store.append_episode(EpisodeInput {
        scope: scope.clone(),
        episode_id: Some(episode_id.clone()),
        start_ts: first.ts,
        end_ts: last.ts,
        summary: summary.summary.clone(),
        highlights: summary.highlights.clone(),
        tags: summary.tags.clone(),
        entities: summary.entities.clone(),
        sources: events.iter().map(|event| event.event_id.clone()).collect(),
        compression_level: CompressionLevel::Raw,
        importance: Some(importance),
        scope_level: engram_types::ScopeLevel::User,
        expires_at: None,
        embedding: None,
    });
    let episode = match written {
        Ok(episode) => episode,
        Err(error) if error.kind() == ErrorKind::Conflict => return lost_race(store, scope, &episode_id),
        Err(error) => return Err(error),
    };
    let mut update = ShortTermUpdate::new(scope.clone());
    update.rolling_summary = Some(rolled(short_term.rolling_summary.as_deref(), &summary.summary));
    let mut quotes = short_term.key_quotes.clone();
    quotes.extend(summary.key_quotes.iter().cloned());
    let mut seen = HashSet::new();
    quotes.retain(|quote| seen.insert(quote.clone()));
    let skip = quotes.len().saturating_sub(KEY_QUOTES);
    update.key_quotes = Some(quotes.into_iter().skip(skip).collect());
    let (until, ids) = cursor_after(&events);
    update.consolidated_until = until;
    update.consolidated_ids = Some(ids);
    update.updated_at = request.now.map(prepare::normalize_time);
    let short_term = store.update_short_term(update)?;
    Ok(Consolidation { consumed: u32::try_from(events.len()).unwrap_or(u32::MAX), episode: Some(episode), short_term })
}

/// The episode of the consolidation that starts at `first_event_id`: every consolidation that
/// read the same cursor names the same episode, so of racing calls (threads, processes, hosts)
/// one writes it and the others meet a `Conflict`. Hashed because the parts may exceed the id
/// limit; stable across versions and platforms (FNV-1a, 64 bits: ids only need to differ
/// among one tenant's consolidations).
fn episode_id(scope: &engram_types::Scope, first_event_id: &str) -> String {
    let parts = [&scope.user_id, &scope.agent_id, &scope.session_id, first_event_id];
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("consolidation-{hash:016x}")
}

/// Another call consolidated these events first: nothing is consumed twice. The session's
/// cursor is moved to the end of that call's episode, so a call that died between writing
/// its episode and its short-term state does not hold consolidation back (the cursor only
/// moves forward, so this cannot undo a later consolidation).
fn lost_race(store: &dyn Store, scope: &engram_types::Scope, episode_id: &str) -> Result<Consolidation> {
    let mut scan = ScanRequest::new(RecordKind::Episode, 1);
    scan.tenant_id = Some(scope.tenant_id.clone());
    scan.ids = vec![episode_id.to_string()];
    let mut update = ShortTermUpdate::new(scope.clone());
    let episode = store.scan(&scan)?.into_iter().find_map(|fetched| match &*fetched.record {
        Record::Episode(episode) => Some(episode.clone()),
        _ => None,
    });
    if let Some(episode) = episode {
        // The cursor names the episode's events of its last millisecond (read back: the winner
        // may have read events this call did not).
        let count = u32::try_from(episode.sources.len()).unwrap_or(u32::MAX).max(1);
        let mut sources = ScanRequest::new(RecordKind::Event, count);
        sources.tenant_id = Some(scope.tenant_id.clone());
        sources.ids.clone_from(&episode.sources);
        let events = store.scan(&sources)?.into_iter().filter_map(|fetched| match &*fetched.record {
            Record::Event(event) if event.ts == episode.end_ts => Some(event.event_id.clone()),
            _ => None,
        });
        update.consolidated_until = Some(episode.end_ts);
        update.consolidated_ids = Some(events.collect());
    }
    let short_term = match update.consolidated_until {
        Some(_) => store.update_short_term(update)?,
        None => store.get_short_term(scope)?,
    };
    Ok(Consolidation { short_term, ..Consolidation::default() })
}

/// The previous rolling summary followed by the new one, keeping the newest bytes.
fn rolled(previous: Option<&str>, summary: &str) -> String {
    let joined = match previous {
        Some(previous) if !previous.is_empty() => format!("{previous}\n{summary}"),
        _ => summary.to_string(),
    };
    if joined.len() <= ROLLING_SUMMARY_BYTES {
        return joined;
    }
    let mut start = joined.len() - ROLLING_SUMMARY_BYTES;
    while !joined.is_char_boundary(start) {
        start += 1;
    }
    joined[start..].to_string()
}
