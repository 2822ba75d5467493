//! JSONL import on arbitrary files (half of them behind a valid header, so the fuzzer spends
//! its time on the lines): never a panic; a refused file is `InvalidInput` (a bad line) or
//! `Conflict` (an id twice) and writes nothing; an accepted one exports again and that export
//! imports into a fresh store with the same counts.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use engram_store::{ErrorKind, InMemoryStore, Lifecycle, RecordKind, ScanRequest, Store, StoreExt};
use engram_types::Scope;
use libfuzzer_sys::fuzz_target;

const HEADER: &str =
    "{\"type\":\"engram_export\",\"version\":1,\"tenant_id\":\"t\",\"user_id\":\"u\",\"agent_id\":\"a\"}\n";

fn directory() -> &'static tempfile::TempDir {
    static DIRECTORY: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIRECTORY.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
}

fn path(name: &str) -> PathBuf {
    directory().path().join(name)
}

/// Records of every tenant in the store (a scan needs a bound: every record's time is before
/// the end of time).
fn stored(store: &InMemoryStore) -> usize {
    RecordKind::ALL
        .into_iter()
        .map(|kind| {
            let mut scan = ScanRequest::new(kind, 1000);
            scan.before = Some(chrono::DateTime::<chrono::Utc>::MAX_UTC);
            store.scan(&scan).expect("a bounded scan").len()
        })
        .sum()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let mut file = Vec::with_capacity(HEADER.len() + rest.len());
    if selector % 2 == 1 {
        file.extend_from_slice(HEADER.as_bytes());
    }
    file.extend_from_slice(rest);
    let input = path("input.jsonl");
    std::fs::write(&input, &file).expect("the input file is written");

    let store = InMemoryStore::new();
    let receipt = match store.import_scope(&input) {
        Ok(receipt) => receipt,
        Err(error) => {
            assert!(matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict), "{error}");
            assert_eq!(stored(&store), 0, "a refused import wrote something: {error}");
            return;
        }
    };
    let scope = Scope {
        tenant_id: "t".into(),
        user_id: "u".into(),
        agent_id: "a".into(),
        session_id: "s".into(),
        run_id: "r".into(),
    };
    if selector % 2 == 0 && !file.starts_with(HEADER.as_bytes()) {
        return; // another owner's export: the round trip below is written for t/u/a
    }
    let again = path("again.jsonl");
    let exported = store.export_scope(&scope, &again).expect("an imported store exports");
    // The import also counts the index rows it wrote; records and states count the same.
    for (table, count) in &exported.rows {
        assert_eq!(receipt.count(table), *count, "{table}: exported {exported:?}, imported {receipt:?}");
    }
    assert_eq!(
        exported.total(),
        stored(&store) as u64 + receipt.count("working_states") + receipt.count("short_terms")
    );
    let reimported = InMemoryStore::new().import_scope(&again).expect("an export imports");
    assert_eq!(reimported, receipt);
});
