//! The seed README's Rust quick start, unchanged.
use engram_store::{BuildRequest, SqliteStore, build_memory_packet};
use engram_types::{Purpose, Scope};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = SqliteStore::new("data/engram.db")?;
    let scope = Scope {
        tenant_id: "default".to_string(),
        user_id: "u1".to_string(),
        agent_id: "a1".to_string(),
        session_id: "s1".to_string(),
        run_id: "r1".to_string(),
    };

    let request = BuildRequest::new(scope, Purpose::Planner);
    let packet = build_memory_packet(&store, request)?;
    println!("packet schema: {}", packet.meta.schema_version);
    Ok(())
}
