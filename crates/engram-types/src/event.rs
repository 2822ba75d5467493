use serde::{Deserialize, Serialize};

use crate::validation::{
    ValidationError, check_embedding, check_id, check_json, check_labels, check_no_nul, check_unit,
};
use crate::{Limits, Scope, Timestamp};

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Message,
    ToolCall,
    ToolResult,
    StatePatch,
    Observation,
    System,
}

impl EventKind {
    pub const ALL: [Self; 6] =
        [Self::Message, Self::ToolCall, Self::ToolResult, Self::StatePatch, Self::Observation, Self::System];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::ToolCall => "tool_call",
            Self::ToolResult => "tool_result",
            Self::StatePatch => "state_patch",
            Self::Observation => "observation",
            Self::System => "system",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// An event as the agent writes it. Absent `event_id` and `ts` are filled in by the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub scope: Scope,
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub ts: Option<Timestamp>,
    pub kind: EventKind,
    /// Free JSON. `text` (or `content`) and `role` inside it become the event's text and role.
    #[serde(default)]
    pub payload: serde_json::Value,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub entities: Vec<String>,
    /// 0..1, default 0.5.
    #[serde(default)]
    pub importance: Option<f64>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// A vector of the record (an embedding of its text, say): 1 to 4096 finite numbers, as
    /// long as every other vector of the tenant. Stored as float32.
    #[serde(default)]
    pub embedding: Option<Vec<f32>>,
}

impl EventInput {
    pub fn new(scope: Scope, kind: EventKind, payload: serde_json::Value) -> Self {
        Self {
            scope,
            event_id: None,
            ts: None,
            kind,
            payload,
            tags: Vec::new(),
            entities: Vec::new(),
            importance: None,
            expires_at: None,
            embedding: None,
        }
    }

    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        if let Some(event_id) = &self.event_id {
            check_id("event_id", event_id, limits.max_id_bytes)?;
        }
        check_json("payload", &self.payload, limits)?;
        check_labels("tags", &self.tags, limits)?;
        check_labels("entities", &self.entities, limits)?;
        if let Some(importance) = self.importance {
            check_unit("importance", importance)?;
        }
        if let Some(embedding) = &self.embedding {
            check_embedding("embedding", embedding)?;
        }
        // The role and text derived from the payload are stored as text, not JSON.
        if let Some(role) = self.payload.get("role").and_then(serde_json::Value::as_str) {
            check_no_nul("payload.role", role)?;
        }
        let (text, source) = self.derived_text_and_source();
        check_no_nul(source, &text)
    }

    /// The role of the speaker: `payload.role`, else one implied by the kind.
    pub fn derived_role(&self) -> String {
        if let Some(role) = self.payload.get("role").and_then(serde_json::Value::as_str) {
            return role.to_string();
        }
        match self.kind {
            EventKind::Message => "user",
            EventKind::ToolCall | EventKind::ToolResult => "tool",
            EventKind::System | EventKind::StatePatch => "system",
            EventKind::Observation => "observation",
        }
        .to_string()
    }

    /// The searchable, renderable text: `payload.text`, `payload.content` or `payload.message`;
    /// for tool calls the tool name and arguments; otherwise the payload as compact JSON.
    pub fn derived_text(&self) -> String {
        self.derived_text_and_source().0
    }

    /// [`EventInput::derived_text`] and the field its raw words come from (`payload.text`, ...).
    fn derived_text_and_source(&self) -> (String, &'static str) {
        for (key, field) in [("text", "payload.text"), ("content", "payload.content"), ("message", "payload.message")] {
            if let Some(text) = self.payload.get(key).and_then(serde_json::Value::as_str) {
                return (text.to_string(), field);
            }
        }
        let (tool, field) = match self.payload.get("tool") {
            Some(tool) => (Some(tool), "payload.tool"),
            None => (self.payload.get("name"), "payload.name"),
        };
        if let Some(name) = tool.and_then(serde_json::Value::as_str) {
            let arguments = self
                .payload
                .get("arguments")
                .or_else(|| self.payload.get("args"))
                .or_else(|| self.payload.get("result"));
            // Arguments are written as JSON, which escapes what a text column cannot hold.
            let text = match arguments {
                Some(arguments) => format!("{name} {arguments}"),
                None => name.to_string(),
            };
            return (text, field);
        }
        let text = match &self.payload {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        (text, "payload")
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    pub event_id: String,
    pub scope: Scope,
    pub ts: Timestamp,
    pub kind: EventKind,
    pub payload: serde_json::Value,
    pub role: String,
    pub text: String,
    pub tags: Vec<String>,
    pub entities: Vec<String>,
    pub importance: f64,
    /// Tokens of `text` with the store's tokenizer, computed at write.
    pub token_count: u32,
    pub expires_at: Option<Timestamp>,
    /// The record's vector, as stored: float32 values (`0.1` reads back as `0.10000000149011612`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
    /// The event's sequence number in its store, when the listing asked for it
    /// ([`EventQuery::with_sequences`]). Unique in the store and never reused, and events never
    /// change, so it names this event's content: a reader can keep what it built from an event
    /// under it. Never read from input (an import gets new numbers).
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
}

impl Event {
    /// Checks an event read from outside the store (an import) as the write that made it was
    /// checked; its role and text must be the ones its payload gives.
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        let input = EventInput {
            scope: self.scope.clone(),
            event_id: Some(self.event_id.clone()),
            ts: Some(self.ts),
            kind: self.kind,
            payload: self.payload.clone(),
            tags: self.tags.clone(),
            entities: self.entities.clone(),
            importance: Some(self.importance),
            expires_at: self.expires_at,
            embedding: self.embedding.clone(),
        };
        input.validate(limits)?;
        if self.role != input.derived_role() {
            return Err(ValidationError::new("role", "differs from the role the payload and kind give"));
        }
        if self.text != input.derived_text() {
            return Err(ValidationError::new("text", "differs from the text the payload gives"));
        }
        Ok(())
    }
}

/// Newest-first listing of a run's events (or a session's, with `session_wide`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    pub scope: Scope,
    #[serde(default = "crate::scope::default_list_limit")]
    pub limit: u32,
    /// Only events strictly before this instant.
    #[serde(default)]
    pub before: Option<Timestamp>,
    /// Only events strictly after this instant.
    #[serde(default)]
    pub after: Option<Timestamp>,
    /// Only these kinds (all when empty).
    #[serde(default)]
    pub kinds: Vec<EventKind>,
    /// List the whole session's events instead of the run's.
    #[serde(default)]
    pub session_wide: bool,
    /// Give each event its `sequence`.
    #[serde(default)]
    pub with_sequences: bool,
}

impl EventQuery {
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            limit: crate::scope::default_list_limit(),
            before: None,
            after: None,
            kinds: Vec::new(),
            session_wide: false,
            with_sequences: false,
        }
    }
}
