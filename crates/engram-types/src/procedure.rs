use serde::{Deserialize, Serialize};

use crate::validation::{ValidationError, check_embedding, check_id, check_labels, check_text, check_unit};
use crate::{Limits, Scope, ScopeLevel, Timestamp};

/// A procedure as written: how to do a kind of task. Upserted by `procedure_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcedureInput {
    pub scope: Scope,
    #[serde(default)]
    pub procedure_id: Option<String>,
    pub task_type: String,
    pub title: String,
    #[serde(default)]
    pub steps: Vec<String>,
    #[serde(default)]
    pub content: Option<String>,
    /// 0..1, default 0.5; plays the part of importance in scoring.
    #[serde(default)]
    pub priority: Option<f64>,
    /// When the procedure applies, in words.
    #[serde(default)]
    pub applicability: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub entities: Vec<String>,
    #[serde(default)]
    pub scope_level: ScopeLevel,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// A vector of the record (an embedding of its text, say): 1 to 4096 finite numbers, as
    /// long as every other vector of the tenant. Stored as float32.
    #[serde(default)]
    pub embedding: Option<Vec<f32>>,
}

impl ProcedureInput {
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        if let Some(procedure_id) = &self.procedure_id {
            check_id("procedure_id", procedure_id, limits.max_id_bytes)?;
        }
        check_id("task_type", &self.task_type, limits.max_id_bytes)?;
        check_text("title", &self.title, limits)?;
        if self.title.trim().is_empty() {
            return Err(ValidationError::new("title", "must not be empty"));
        }
        for (index, step) in self.steps.iter().enumerate() {
            check_text(&format!("steps[{index}]"), step, limits)?;
        }
        if let Some(content) = &self.content {
            check_text("content", content, limits)?;
        }
        // Applicability is words, like content (an insight's promotion writes `insight:<id>`).
        if let Some(applicability) = &self.applicability {
            check_text("applicability", applicability, limits)?;
        }
        if let Some(priority) = self.priority {
            check_unit("priority", priority)?;
        }
        check_labels("tags", &self.tags, limits)?;
        check_labels("entities", &self.entities, limits)?;
        if let Some(embedding) = &self.embedding {
            check_embedding("embedding", embedding)?;
        }
        Ok(())
    }

    /// Title, content and numbered steps as one text.
    pub fn rendered_text(&self) -> String {
        let mut text = self.title.clone();
        if let Some(content) = &self.content {
            text.push_str(": ");
            text.push_str(content);
        }
        for (index, step) in self.steps.iter().enumerate() {
            text.push_str(&format!(" {}. {step}", index + 1));
        }
        text
    }
}

/// A stored procedure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Procedure {
    pub procedure_id: String,
    pub scope: Scope,
    pub scope_level: ScopeLevel,
    pub task_type: String,
    pub title: String,
    pub steps: Vec<String>,
    pub content: Option<String>,
    pub text: String,
    pub priority: f64,
    pub applicability: Option<String>,
    pub tags: Vec<String>,
    pub entities: Vec<String>,
    pub use_count: u64,
    pub updated_at: Timestamp,
    pub token_count: u32,
    pub expires_at: Option<Timestamp>,
    /// The record's vector, as stored: float32 values (`0.1` reads back as `0.10000000149011612`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
}

impl Procedure {
    /// Checks a procedure read from outside the store (an import) as the write that made it was
    /// checked; its text must be the one its title, content and steps give.
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        let input = ProcedureInput {
            scope: self.scope.clone(),
            procedure_id: Some(self.procedure_id.clone()),
            task_type: self.task_type.clone(),
            title: self.title.clone(),
            steps: self.steps.clone(),
            content: self.content.clone(),
            priority: Some(self.priority),
            applicability: self.applicability.clone(),
            tags: self.tags.clone(),
            entities: self.entities.clone(),
            scope_level: self.scope_level,
            updated_at: Some(self.updated_at),
            expires_at: self.expires_at,
            embedding: self.embedding.clone(),
        };
        input.validate(limits)?;
        if self.text != input.rendered_text() {
            return Err(ValidationError::new("text", "differs from the text the title, content and steps give"));
        }
        Ok(())
    }
}
