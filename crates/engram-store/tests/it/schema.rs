//! The packet's JSON Schema is generated from the types and committed; it must not go stale.

#[test]
fn committed_packet_schema_matches_the_types() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/memory_packet.schema.json");
    let generated = serde_json::to_string_pretty(&engram_types::packet_schema()).unwrap() + "\n";
    if std::env::var_os("ENGRAM_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/memory_packet.schema.json is stale: run `ENGRAM_UPDATE_SCHEMA=1 cargo test -p engram-store --test it schema`"
    );
}
