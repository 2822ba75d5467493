use serde::{Deserialize, Serialize};

/// The five kinds of searchable record. Each has its own table and its own lexical index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Event,
    Fact,
    Episode,
    Procedure,
    Insight,
}

impl RecordKind {
    pub const ALL: [Self; 5] = [Self::Event, Self::Fact, Self::Episode, Self::Procedure, Self::Insight];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Fact => "fact",
            Self::Episode => "episode",
            Self::Procedure => "procedure",
            Self::Insight => "insight",
        }
    }
}
