use engram_types::{BuildRequest, Purpose, Section};

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

/// Whether recalled events past `max_recall` may use what every other section leaves: when the
/// policy lets recall fill the budget for this purpose and the request asks something (a query
/// or its vector). `max_recall` 0 turns recall off.
pub(super) fn recall_fills_budget(request: &BuildRequest) -> bool {
    request.policy.recall_fills_budget_for(request.purpose)
        && request.policy.max_recall > 0
        && (request.query.as_deref().is_some_and(|query| !query.trim().is_empty()) || request.query_embedding.is_some())
}
