use engram_types::{Purpose, Section};

/// The order sections claim the budget in, per purpose. Working state always comes first.
pub(super) const fn section_order(purpose: Purpose) -> [Section; 9] {
    use Section::*;
    match purpose {
        Purpose::Planner => {
            [WorkingState, ConversationWindow, RollingSummary, Facts, Procedures, Insights, KeyQuotes, Episodes, Recall]
        }
        Purpose::Tool => {
            [WorkingState, Procedures, Facts, ConversationWindow, Insights, RollingSummary, Recall, KeyQuotes, Episodes]
        }
        Purpose::Responder => {
            [WorkingState, ConversationWindow, RollingSummary, Facts, Recall, Episodes, KeyQuotes, Procedures, Insights]
        }
    }
}

/// Whether a purpose may see an insight in this validation state: the responder speaks to
/// the user, so it only gets insights that were validated.
pub(super) fn admits_insight(purpose: Purpose, validation: engram_types::ValidationState) -> bool {
    use engram_types::ValidationState::*;
    match purpose {
        Purpose::Responder => validation == Validated,
        Purpose::Planner | Purpose::Tool => validation != Rejected,
    }
}
