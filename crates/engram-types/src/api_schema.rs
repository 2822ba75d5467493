//! The JSON Schemas of what the Python API takes and returns, in one document: the source
//! `python/scripts/generate_types.py` writes `engram.types` from (committed as
//! `schema/api.schema.json`, checked against these types by the test below).
//!
//! Inputs are described as serde reads them (defaulted fields are optional), results as serde
//! writes them (every field present unless skipped when empty), so a type in both may differ.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::{
    BuildRequest, ConsolidateRequest, Consolidation, Defaults, Episode, EpisodeInput, Event, EventInput, EventQuery,
    ExtractRequest, ExtractedFact, Extraction, Fact, FactInput, FactWrite, ForgetRequest, FoundItem, Insight,
    InsightInput, InsightUpdate, Item, ItemQuery, ItemSearch, ItemWrite, Limits, ListQuery, MemoryPacket,
    NamespaceQuery, OnConflict, Procedure, ProcedureInput, PromoteInsight, Promoted, Receipt, RecordKind, RunEnd,
    Scope, ShortTermState, ShortTermUpdate, Summary, SweepRequest, WorkingState, WorkingStatePatch,
};

/// `{"inputs": {"roots", "$defs"}, "results": {"roots", "$defs"}}`: each root a `$ref` into its
/// section's `$defs`, in the order the Python module lists them.
pub fn api_schema() -> Value {
    let mut inputs = Section::new(SchemaSettings::draft2020_12().for_deserialize());
    inputs.add::<Scope>();
    inputs.add::<EventInput>();
    inputs.add::<EventQuery>();
    inputs.add::<ListQuery>();
    inputs.add::<FactInput>();
    inputs.add::<EpisodeInput>();
    inputs.add::<ProcedureInput>();
    inputs.add::<InsightInput>();
    inputs.add::<InsightUpdate>();
    inputs.add::<WorkingStatePatch>();
    inputs.add::<ShortTermUpdate>();
    inputs.add::<BuildRequest>();
    inputs.add::<ItemWrite>();
    inputs.add::<ItemQuery>();
    inputs.add::<ItemSearch>();
    inputs.add::<NamespaceQuery>();
    inputs.add::<OnConflict>();
    inputs.add::<Limits>();
    inputs.add::<RecordKind>();
    inputs.add::<Receipt>();
    inputs.add::<ForgetRequest>();
    inputs.add::<SweepRequest>();
    inputs.add::<PromoteInsight>();
    inputs.add::<ConsolidateRequest>();
    inputs.add::<Summary>();
    inputs.add::<ExtractRequest>();
    inputs.add::<ExtractedFact>();

    let mut results = Section::new(SchemaSettings::draft2020_12().for_serialize());
    results.add::<Item>();
    results.add::<FoundItem>();
    results.add::<Event>();
    results.add::<Fact>();
    results.add::<FactWrite>();
    results.add::<Episode>();
    results.add::<Procedure>();
    results.add::<Insight>();
    results.add::<WorkingState>();
    results.add::<ShortTermState>();
    results.add::<MemoryPacket>();
    results.add::<Receipt>();
    results.add::<Promoted>();
    results.add::<RunEnd>();
    results.add::<Consolidation>();
    results.add::<Extraction>();
    results.add::<Defaults>();

    json!({"inputs": inputs.finish(), "results": results.finish()})
}

/// The schemas of one direction: the types asked for, and every type they use.
struct Section {
    generator: SchemaGenerator,
    roots: Vec<Value>,
}

impl Section {
    fn new(settings: SchemaSettings) -> Self {
        Self { generator: settings.into_generator(), roots: Vec::new() }
    }

    fn add<T: JsonSchema>(&mut self) {
        let root = self.generator.subschema_for::<T>();
        self.roots.push(root.to_value());
    }

    fn finish(mut self) -> Value {
        let definitions: Map<String, Value> = self.generator.take_definitions(true);
        json!({"roots": self.roots, "$defs": definitions})
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

    /// The committed schema is what the types say; `ENGRAM_UPDATE_SCHEMA=1` rewrites it.
    #[test]
    fn committed_api_schema_matches_the_types() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/api.schema.json");
        let generated = serde_json::to_string_pretty(&super::api_schema()).unwrap() + "\n";
        if std::env::var_os("ENGRAM_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "schema/api.schema.json is stale: run `ENGRAM_UPDATE_SCHEMA=1 cargo test -p engram-types --lib api_schema`, \
             then `ENGRAM_UPDATE_TYPES=1 make test-python` (or python/scripts/generate_types.py)"
        );
    }
}
