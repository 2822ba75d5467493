use serde::{Deserialize, Serialize};

use crate::validation::{ValidationError, check_json, check_text};
use crate::{Limits, Scope, Timestamp};

/// The highest working-state version a store accepts from outside (an import): the largest
/// integer every JSON reader holds exactly, far below where a patch's bump could overflow.
pub const MAX_STATE_VERSION: u64 = (1 << 53) - 1;

/// The live state of one run. `version` grows by one with every applied patch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WorkingState {
    pub goal: Option<String>,
    pub plan: Vec<String>,
    pub slots: serde_json::Map<String, serde_json::Value>,
    pub constraints: Vec<String>,
    pub decisions: Vec<String>,
    pub risks: Vec<String>,
    pub open_loops: Vec<String>,
    pub tool_evidence: Vec<String>,
    pub version: u64,
    pub updated_at: Option<Timestamp>,
    /// Set by `end_run`: the run is over, its state stays readable as history until swept and
    /// no longer enters packets.
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
}

impl WorkingState {
    /// Checks a state read from outside the store (an import) as the patches that made it were.
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        if self.version > MAX_STATE_VERSION {
            return Err(ValidationError::new(
                "version",
                format!("is {}, the limit is {MAX_STATE_VERSION}", self.version),
            ));
        }
        check_contents(
            self.goal.as_ref(),
            Some(&self.slots),
            [
                ("plan", Some(&self.plan)),
                ("constraints", Some(&self.constraints)),
                ("decisions", Some(&self.decisions)),
                ("risks", Some(&self.risks)),
                ("open_loops", Some(&self.open_loops)),
                ("tool_evidence", Some(&self.tool_evidence)),
            ],
            limits,
        )
    }
}

/// The checks of a working state's goal, slots and lists, written or stored.
fn check_contents(
    goal: Option<&String>,
    slots: Option<&serde_json::Map<String, serde_json::Value>>,
    lists: [(&str, Option<&Vec<String>>); 6],
    limits: &Limits,
) -> Result<(), ValidationError> {
    if let Some(goal) = goal {
        check_text("goal", goal, limits)?;
    }
    if let Some(slots) = slots {
        check_json("slots", &serde_json::Value::Object(slots.clone()), limits)?;
    }
    for (field, list) in lists {
        for (index, item) in list.into_iter().flatten().enumerate() {
            check_text(&format!("{field}[{index}]"), item, limits)?;
        }
    }
    Ok(())
}

/// A partial update of a run's working state. Fields left out are kept; lists given replace
/// the stored list; `slots` are merged key by key (a `null` value removes the key).
/// With `expected_version`, a patch applies only if the stored version equals it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingStatePatch {
    pub scope: Scope,
    #[serde(default)]
    pub expected_version: Option<u64>,
    #[serde(default)]
    pub goal: Option<String>,
    #[serde(default)]
    pub plan: Option<Vec<String>>,
    #[serde(default)]
    pub slots: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub constraints: Option<Vec<String>>,
    #[serde(default)]
    pub decisions: Option<Vec<String>>,
    #[serde(default)]
    pub risks: Option<Vec<String>>,
    #[serde(default)]
    pub open_loops: Option<Vec<String>>,
    #[serde(default)]
    pub tool_evidence: Option<Vec<String>>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Marks the run ended (what `end_run` writes).
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
}

impl WorkingStatePatch {
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            expected_version: None,
            goal: None,
            plan: None,
            slots: None,
            constraints: None,
            decisions: None,
            risks: None,
            open_loops: None,
            tool_evidence: None,
            updated_at: None,
            ended_at: None,
        }
    }

    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.scope.validate(limits.max_id_bytes)?;
        check_contents(
            self.goal.as_ref(),
            self.slots.as_ref(),
            [
                ("plan", self.plan.as_ref()),
                ("constraints", self.constraints.as_ref()),
                ("decisions", self.decisions.as_ref()),
                ("risks", self.risks.as_ref()),
                ("open_loops", self.open_loops.as_ref()),
                ("tool_evidence", self.tool_evidence.as_ref()),
            ],
            limits,
        )
    }

    /// Applies this patch to `state`, bumping its version.
    pub fn apply_to(&self, state: &mut WorkingState, now: Timestamp) {
        if let Some(goal) = &self.goal {
            state.goal = Some(goal.clone());
        }
        for (target, list) in [
            (&mut state.plan, &self.plan),
            (&mut state.constraints, &self.constraints),
            (&mut state.decisions, &self.decisions),
            (&mut state.risks, &self.risks),
            (&mut state.open_loops, &self.open_loops),
            (&mut state.tool_evidence, &self.tool_evidence),
        ] {
            if let Some(list) = list {
                target.clone_from(list);
            }
        }
        if let Some(slots) = &self.slots {
            for (key, value) in slots {
                if value.is_null() {
                    state.slots.remove(key);
                } else {
                    state.slots.insert(key.clone(), value.clone());
                }
            }
        }
        if let Some(ended_at) = self.ended_at {
            state.ended_at = Some(ended_at);
        }
        state.version = state.version.saturating_add(1);
        state.updated_at = Some(self.updated_at.unwrap_or(now));
    }
}
