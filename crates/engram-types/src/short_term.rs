use serde::{Deserialize, Serialize};

use crate::validation::{ValidationError, check_id_at, check_text};
use crate::{Limits, Scope, Timestamp};

/// A session's short-term state: a rolling summary and the quotes worth keeping verbatim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShortTermState {
    pub rolling_summary: Option<String>,
    pub key_quotes: Vec<String>,
    pub updated_at: Option<Timestamp>,
    /// The time of the newest event `consolidate_session` has turned into an episode.
    #[serde(default)]
    pub consolidated_until: Option<Timestamp>,
    /// The ids of the events of `consolidated_until`'s millisecond already in an episode: an
    /// event of that same millisecond left for later (or written after) is still consolidated.
    /// Empty with a cursor: the whole millisecond was consolidated (states stored before ids
    /// were kept).
    #[serde(default)]
    pub consolidated_ids: Vec<String>,
    /// The time of the newest message event `extract_facts` has sent to an extractor.
    #[serde(default)]
    pub extracted_until: Option<Timestamp>,
    /// The ids of the message events of `extracted_until`'s millisecond already sent: a message
    /// of that same millisecond written after the extraction is still sent by the next one.
    /// Empty with a cursor: the whole millisecond was sent (states stored before ids were kept).
    #[serde(default)]
    pub extracted_ids: Vec<String>,
}

impl ShortTermState {
    /// Checks a state read from outside the store (an import) as the updates that made it were.
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        if let Some(summary) = &self.rolling_summary {
            check_text("rolling_summary", summary, limits)?;
        }
        for (index, quote) in self.key_quotes.iter().enumerate() {
            check_text(&format!("key_quotes[{index}]"), quote, limits)?;
        }
        check_cursor_ids("consolidated_ids", &self.consolidated_ids, limits)?;
        check_cursor_ids("extracted_ids", &self.extracted_ids, limits)
    }
}

/// Replaces the parts given of a session's short-term state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShortTermUpdate {
    pub scope: Scope,
    #[serde(default)]
    pub rolling_summary: Option<String>,
    #[serde(default)]
    pub key_quotes: Option<Vec<String>>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Written by `consolidate_session`: events up to this time are summarized in an episode.
    #[serde(default)]
    pub consolidated_until: Option<Timestamp>,
    /// Written by `consolidate_session` with `consolidated_until`: the ids of the events of
    /// that millisecond it consolidated.
    #[serde(default)]
    pub consolidated_ids: Option<Vec<String>>,
    /// Written by `extract_facts`: message events up to this time were sent to an extractor.
    #[serde(default)]
    pub extracted_until: Option<Timestamp>,
    /// Written by `extract_facts` with `extracted_until`: the ids of the events of that
    /// millisecond it sent.
    #[serde(default)]
    pub extracted_ids: Option<Vec<String>>,
}

impl ShortTermUpdate {
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            rolling_summary: None,
            key_quotes: None,
            updated_at: None,
            consolidated_until: None,
            consolidated_ids: None,
            extracted_until: None,
            extracted_ids: None,
        }
    }

    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        if let Some(summary) = &self.rolling_summary {
            check_text("rolling_summary", summary, limits)?;
        }
        for (index, quote) in self.key_quotes.iter().flatten().enumerate() {
            check_text(&format!("key_quotes[{index}]"), quote, limits)?;
        }
        check_cursor_ids("consolidated_ids", self.consolidated_ids.iter().flatten(), limits)?;
        check_cursor_ids("extracted_ids", self.extracted_ids.iter().flatten(), limits)
    }

    pub fn apply_to(&self, state: &mut ShortTermState, now: Timestamp) {
        if let Some(summary) = &self.rolling_summary {
            state.rolling_summary = Some(summary.clone());
        }
        if let Some(quotes) = &self.key_quotes {
            state.key_quotes.clone_from(quotes);
        }
        // The consolidation and extraction cursors only move forward: a late writer cannot make events
        // already consolidated look new again.
        if let Some(until) = self.consolidated_until {
            let consolidated = self.consolidated_ids.iter().flatten();
            advance(&mut state.consolidated_until, &mut state.consolidated_ids, until, consolidated);
        }
        if let Some(until) = self.extracted_until {
            advance(&mut state.extracted_until, &mut state.extracted_ids, until, self.extracted_ids.iter().flatten());
        }
        state.updated_at = Some(self.updated_at.unwrap_or(now));
    }
}

/// Moves a cursor (a time, and the ids of that millisecond's events it covers) to `until`
/// and `ids`, unless it is past them already.
fn advance<'a>(
    cursor: &mut Option<Timestamp>,
    cursor_ids: &mut Vec<String>,
    until: Timestamp,
    ids: impl Iterator<Item = &'a String>,
) {
    match *cursor {
        Some(current) if current > until => {}
        // No ids: the whole millisecond is covered already (a cursor stored before ids were kept).
        Some(current) if current == until && cursor_ids.is_empty() => {}
        // Another call that ended in the same millisecond: both sets of events are covered.
        Some(current) if current == until => {
            for id in ids {
                if !cursor_ids.contains(id) {
                    cursor_ids.push(id.clone());
                }
            }
        }
        _ => {
            *cursor = Some(until);
            *cursor_ids = ids.cloned().collect();
        }
    }
}

fn check_cursor_ids<'a>(
    field: &str,
    ids: impl IntoIterator<Item = &'a String>,
    limits: &Limits,
) -> Result<(), ValidationError> {
    for (index, id) in ids.into_iter().enumerate() {
        check_id_at(field, index, id, limits.max_id_bytes)?;
    }
    Ok(())
}
