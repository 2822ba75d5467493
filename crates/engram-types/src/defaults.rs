//! Every default engram applies, named once: the record defaults written here, the rest read from
//! the types that own them, so [`Defaults::current`] is what a call without the field gets.

use serde::Serialize;

use crate::{Budget, ConsolidateRequest, EventQuery, ExtractRequest, Limits, ListQuery, Policy, Scope};

/// Importance of an event, fact or episode written without one.
pub const DEFAULT_IMPORTANCE: f64 = 0.5;
/// Confidence of a fact written without one.
pub const DEFAULT_FACT_CONFIDENCE: f64 = 0.8;
/// Confidence of an insight written without one.
pub const DEFAULT_INSIGHT_CONFIDENCE: f64 = 0.5;
/// Priority of a procedure written without one.
pub const DEFAULT_PRIORITY: f64 = 0.5;

/// The defaults of every request and record field that has one (`engram.defaults()` in Python).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Defaults {
    pub policy: Policy,
    pub budget: Budget,
    pub limits: Limits,
    pub records: RecordDefaults,
    pub lists: ListDefaults,
    pub consolidate: LifecycleDefaults,
    pub extract: LifecycleDefaults,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RecordDefaults {
    /// Of an event, fact or episode written without one.
    pub importance: f64,
    /// Of a fact written without one.
    pub fact_confidence: f64,
    /// Of an insight written without one.
    pub insight_confidence: f64,
    /// Of a procedure written without one.
    pub procedure_priority: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ListDefaults {
    /// `list_events`, `list_facts` and the other record lists.
    pub limit: u32,
    /// `list_events` in particular.
    pub events_limit: u32,
}

/// A lifecycle request's bounds (fields a request kind lacks are absent).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LifecycleDefaults {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    pub max_events: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_events: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_facts: Option<u32>,
}

impl Defaults {
    pub fn current() -> Self {
        let scope = Scope {
            tenant_id: String::new(),
            user_id: String::new(),
            agent_id: String::new(),
            session_id: String::new(),
            run_id: String::new(),
        };
        let consolidate = ConsolidateRequest::new(scope.clone());
        let extract = ExtractRequest::new(scope.clone());
        Self {
            policy: Policy::default(),
            budget: Budget::default(),
            limits: Limits::default(),
            records: RecordDefaults {
                importance: DEFAULT_IMPORTANCE,
                fact_confidence: DEFAULT_FACT_CONFIDENCE,
                insight_confidence: DEFAULT_INSIGHT_CONFIDENCE,
                procedure_priority: DEFAULT_PRIORITY,
            },
            lists: ListDefaults {
                limit: ListQuery::new(scope.clone()).limit,
                events_limit: EventQuery::new(scope).limit,
            },
            consolidate: LifecycleDefaults {
                window: Some(consolidate.window),
                max_events: consolidate.max_events,
                min_events: Some(consolidate.min_events),
                max_facts: None,
            },
            extract: LifecycleDefaults {
                window: None,
                max_events: extract.max_events,
                min_events: None,
                max_facts: Some(extract.max_facts),
            },
        }
    }
}
