//! engram's data model.
//!
//! Records (events, facts, episodes, procedures, insights, working state, short-term state),
//! the [`BuildRequest`] with its [`Policy`] and [`Budget`], and the [`MemoryPacket`] a build
//! returns. Everything here is plain data with serde and JSON Schema; no I/O.

mod api_schema;
mod defaults;
mod episode;
mod event;
mod extraction;
mod fact;
mod insight;
mod item;
mod item_index;
mod item_search;
mod lifecycle;
mod limits;
mod packet;
mod policy;
mod procedure;
mod record_kind;
mod request;
mod scope;
mod section;
mod short_term;
mod strict;
mod unique_keys;
mod validation;
mod working_state;

pub use api_schema::api_schema;
pub use defaults::{
    DEFAULT_FACT_CONFIDENCE, DEFAULT_IMPORTANCE, DEFAULT_INSIGHT_CONFIDENCE, DEFAULT_PRIORITY, Defaults,
    LifecycleDefaults, ListDefaults, RecordDefaults,
};
pub use episode::{CompressionLevel, Episode, EpisodeInput};
pub use event::{Event, EventInput, EventKind, EventQuery};
pub use extraction::{ExtractRequest, ExtractedFact, Extraction, MAX_EXTRACTED_FACTS, MAX_EXTRACTION_EVENTS};
pub use fact::{Fact, FactInput, FactStatus, FactWrite, FactWriteOutcome};
pub use insight::{Insight, InsightInput, InsightKind, InsightUpdate, ValidationState};
pub use item::{
    Item, ItemQuery, ItemWrite, MAX_NAMESPACE_BYTES, MAX_NAMESPACE_DEPTH, MAX_TTL_SECONDS, NAMESPACE_SEPARATOR,
    OnConflict, join_namespace, split_namespace, ttl_millis,
};
pub use item_index::{IndexPath, MAX_INDEX_PATHS};
pub use item_search::{FoundItem, ItemSearch, NamespaceQuery, WILDCARD_LABEL};
pub use lifecycle::{
    ConsolidateRequest, Consolidation, ForgetRequest, PromoteInsight, Promoted, Promotion, Receipt, RetentionPolicy,
    RunEnd, Summary, SweepRequest,
};
pub use limits::Limits;
pub use packet::{
    BudgetReport, Citation, Degradation, Explain, ExplainCounts, ItemForm, LongTermMemory, MemoryPacket,
    OmissionReason, OmittedItem, PacketItem, PacketMeta, ReplacedVersion, SCHEMA_VERSION, SelectedItem,
    ShortTermMemory, Signals, StageTimings,
};
pub use policy::{
    Budget, Fusion, FusionMethod, HalfLives, MAX_CHANGED_FACTS, MAX_REPLACED_WITHIN_DAYS, MAX_VECTOR_CANDIDATES,
    Policy, SectionCaps, Tokenizer, Weights,
};
pub use procedure::{Procedure, ProcedureInput};
pub use record_kind::RecordKind;
pub use request::{BuildRequest, Cues, OutputFormat, Purpose, TimeRange};
pub use scope::{ListQuery, Scope, ScopeLevel};
pub use section::Section;
pub use short_term::{ShortTermState, ShortTermUpdate};
pub use validation::{
    MAX_EMBEDDING_DIMENSIONS, MAX_JSON_DEPTH, ValidationError, check_embedding, check_id, from_deserializer,
    from_json_value, parse_json, parse_json_value,
};
pub use working_state::{MAX_STATE_VERSION, WorkingState, WorkingStatePatch};

/// Timestamps are UTC instants, serialized as RFC 3339 strings.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// The JSON Schema of [`MemoryPacket`], generated from the types (the committed
/// `schema/memory_packet.schema.json` is this, pretty-printed).
pub fn packet_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(MemoryPacket)).unwrap_or(serde_json::Value::Null)
}
