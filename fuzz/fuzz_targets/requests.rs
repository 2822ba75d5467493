//! Requests and records read with the strict parser, then validated as a write would be: any
//! input is a value or a `ValidationError`, never a panic. The first byte picks the type; the
//! rest is the JSON text, read both from text and through a `serde_json::Value` (as an import
//! reads a line); the two must agree.

#![no_main]

use engram_types::{
    BuildRequest, ConsolidateRequest, Episode, EpisodeInput, Event, EventInput, Fact, FactInput, ForgetRequest,
    Insight, InsightInput, InsightUpdate, ItemQuery, ItemSearch, ItemWrite, Limits, NamespaceQuery, Procedure,
    ProcedureInput, PromoteInsight, Receipt, ShortTermState, ShortTermUpdate, Summary, SweepRequest, ValidationError,
    WorkingState, WorkingStatePatch, from_json_value, parse_json, parse_json_value,
};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

/// Reads `T` from `text` both ways; the two must agree on whether it is valid, and a valid one
/// is validated.
fn check<T: DeserializeOwned + std::fmt::Debug>(text: &str, validate: impl Fn(&T) -> Result<(), ValidationError>) {
    let parsed = parse_json::<T>(text);
    // An import reads a line as a `Value` first, then the type from it.
    let from_value = parse_json_value(text).and_then(from_json_value::<T>);
    assert_eq!(parsed.is_ok(), from_value.is_ok(), "text {parsed:?} and value {from_value:?} disagree");
    if let Ok(value) = parsed {
        drop(validate(&value));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let limits = Limits::default();
    match selector % 24 {
        0 => check::<BuildRequest>(text, |request| request.validate(&limits)),
        1 => check::<EventInput>(text, |event| event.validate(&limits)),
        2 => check::<FactInput>(text, |fact| fact.validate(&limits)),
        3 => check::<EpisodeInput>(text, |episode| episode.validate(&limits)),
        4 => check::<ProcedureInput>(text, |procedure| procedure.validate(&limits)),
        5 => check::<InsightInput>(text, |insight| insight.validate(&limits)),
        6 => check::<InsightUpdate>(text, |update| update.validate(&limits)),
        7 => check::<WorkingStatePatch>(text, |patch| patch.validate(&limits)),
        8 => check::<ShortTermUpdate>(text, |update| update.validate(&limits)),
        9 => check::<ForgetRequest>(text, |request| request.validate(&limits)),
        10 => check::<SweepRequest>(text, |request| request.validate()),
        11 => check::<PromoteInsight>(text, |request| request.validate(&limits)),
        12 => check::<ConsolidateRequest>(text, |request| request.validate(&limits)),
        13 => check::<Summary>(text, |summary| summary.validate(&limits)),
        14 => check::<ItemQuery>(text, |query| query.validate(&limits)),
        15 => check::<ItemWrite>(text, |write| write.validate(&limits)),
        16 => check::<ItemSearch>(text, |search| search.validate(&limits)),
        17 => check::<NamespaceQuery>(text, |query| query.validate(&limits)),
        18 => check::<Receipt>(text, |_| Ok(())),
        // Stored records, as an import reads them.
        19 => check::<Event>(text, |event| event.validate(&limits)),
        20 => check::<Fact>(text, |fact| fact.validate(&limits)),
        21 => check::<Episode>(text, |episode| episode.validate(&limits)),
        22 => check::<Procedure>(text, |procedure| procedure.validate(&limits)),
        _ => {
            check::<Insight>(text, |insight| insight.validate(&limits));
            check::<WorkingState>(text, |state| state.validate(&limits));
            check::<ShortTermState>(text, |state| state.validate(&limits));
        }
    }
});
