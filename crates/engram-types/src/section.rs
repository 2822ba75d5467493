use serde::{Deserialize, Serialize};

/// A part of the memory packet. Budgets, caps and the explain are keyed by section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    WorkingState,
    ConversationWindow,
    RollingSummary,
    KeyQuotes,
    Facts,
    Episodes,
    Procedures,
    Recall,
    Insights,
}

impl Section {
    pub const ALL: [Self; 9] = [
        Self::WorkingState,
        Self::ConversationWindow,
        Self::RollingSummary,
        Self::KeyQuotes,
        Self::Facts,
        Self::Episodes,
        Self::Procedures,
        Self::Recall,
        Self::Insights,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::WorkingState => "working_state",
            Self::ConversationWindow => "conversation_window",
            Self::RollingSummary => "rolling_summary",
            Self::KeyQuotes => "key_quotes",
            Self::Facts => "facts",
            Self::Episodes => "episodes",
            Self::Procedures => "procedures",
            Self::Recall => "recall",
            Self::Insights => "insights",
        }
    }

    /// The heading this section gets in the rendered packet.
    pub const fn title(self) -> &'static str {
        match self {
            Self::WorkingState => "Working state",
            Self::ConversationWindow => "Conversation",
            Self::RollingSummary => "Session summary",
            Self::KeyQuotes => "Key quotes",
            Self::Facts => "Facts",
            Self::Episodes => "Episodes",
            Self::Procedures => "Procedures",
            Self::Recall => "Recalled from earlier",
            Self::Insights => "Insights",
        }
    }
}

impl std::fmt::Display for Section {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}
