//! The default summarizer: extractive and deterministic (no model). The events' most central
//! messages — those whose terms recur most across the consolidated events — become the
//! highlights, in the order they were said; the user's among them are the key quotes.

use std::collections::HashMap;

use engram_types::{Event, EventKind, Limits, Summary};

use crate::lexical::analyze;

const HIGHLIGHTS: usize = 5;
const KEY_QUOTES: usize = 3;
const LABELS: usize = 10;
/// A highlight keeps at most this many bytes of its message.
const HIGHLIGHT_BYTES: usize = 240;

/// Summarizes `events` (oldest first). Same events, same summary.
pub fn summarize(events: &[Event], limits: &Limits) -> Summary {
    let messages: Vec<&Event> =
        events.iter().filter(|event| event.kind == EventKind::Message && !event.text.trim().is_empty()).collect();
    let analyzed: Vec<Vec<String>> = messages.iter().map(|event| analyze(&event.text)).collect();
    let mut frequency: HashMap<&str, u32> = HashMap::new();
    for terms in &analyzed {
        let mut distinct: Vec<&str> = terms.iter().map(String::as_str).collect();
        distinct.sort_unstable();
        distinct.dedup();
        for term in distinct {
            *frequency.entry(term).or_insert(0) += 1;
        }
    }
    // Centrality: the summed frequency of a message's distinct terms, over the root of its
    // length so long messages do not win by size alone.
    let mut ranked: Vec<(f64, usize)> = analyzed
        .iter()
        .enumerate()
        .map(|(index, terms)| {
            let mut distinct: Vec<&str> = terms.iter().map(String::as_str).collect();
            distinct.sort_unstable();
            distinct.dedup();
            let weight: u32 = distinct.iter().map(|term| frequency.get(term).copied().unwrap_or(0)).sum();
            (f64::from(weight) / (terms.len().max(1) as f64).sqrt(), index)
        })
        .collect();
    ranked.sort_by(|left, right| right.0.total_cmp(&left.0).then(left.1.cmp(&right.1)));
    let mut chosen: Vec<usize> = ranked.iter().take(HIGHLIGHTS).map(|(_, index)| *index).collect();
    chosen.sort_unstable();
    let highlights: Vec<String> = chosen
        .iter()
        .map(|index| format!("{}: {}", messages[*index].role, clip(&messages[*index].text, HIGHLIGHT_BYTES)))
        .collect();
    let key_quotes: Vec<String> = chosen
        .iter()
        .map(|index| messages[*index])
        .filter(|event| event.role == "user")
        .take(KEY_QUOTES)
        .map(|event| clip(&event.text, HIGHLIGHT_BYTES))
        .collect();

    let (first, last) = (events.first(), events.last());
    let mut summary = match (first, last) {
        (Some(first), Some(last)) => format!(
            "{} events ({} messages) from {} to {}.",
            events.len(),
            messages.len(),
            first.ts.format("%Y-%m-%d %H:%M"),
            last.ts.format("%Y-%m-%d %H:%M")
        ),
        _ => "No events.".to_string(),
    };
    for highlight in highlights.iter().take(3) {
        summary.push(' ');
        summary.push_str(highlight);
    }
    Summary {
        summary: clip(&summary, limits.max_text_bytes),
        highlights,
        key_quotes,
        tags: most_frequent(events.iter().flat_map(|event| event.tags.iter()), limits.max_labels.min(LABELS)),
        entities: most_frequent(events.iter().flat_map(|event| event.entities.iter()), limits.max_labels.min(LABELS)),
    }
}

/// The labels seen most often, ties by first appearance.
fn most_frequent<'a>(labels: impl Iterator<Item = &'a String>, keep: usize) -> Vec<String> {
    let mut counts: Vec<(&String, usize, usize)> = Vec::new();
    for (position, label) in labels.enumerate() {
        match counts.iter_mut().find(|(known, _, _)| *known == label) {
            Some(entry) => entry.1 += 1,
            None => counts.push((label, 1, position)),
        }
    }
    counts.sort_by(|left, right| right.1.cmp(&left.1).then(left.2.cmp(&right.2)));
    counts.into_iter().take(keep).map(|(label, _, _)| label.clone()).collect()
}

/// At most `bytes` bytes of `text`, cut at a character boundary, with an ellipsis when cut.
fn clip(text: &str, bytes: usize) -> String {
    let text = text.trim();
    if text.len() <= bytes {
        return text.to_string();
    }
    let mut end = bytes.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}
