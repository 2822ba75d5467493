//! SQLite deletions leave no readable copy of what they removed: after each deleting operation
//! a word only the deleted user or record wrote is in neither the database file nor its WAL (a
//! byte search, the stored index tokens included), the other user's word still is, and no FTS5
//! vocabulary holds the deleted terms.

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use engram_store::lexical::analyze;
use engram_store::{Items, Lifecycle, SqliteStore, StoreExt};
use engram_types::{
    EventInput, EventKind, FactInput, ForgetRequest, ItemQuery, ItemWrite, OnConflict, Receipt, Scope, SweepRequest,
};
use serde_json::json;

/// Written only by what is deleted.
const GONE: &str = "Quokkazephyr";
/// Written by the other user, kept.
const KEPT: &str = "Wombatnebula";

const POSTINGS: [&str; 5] =
    ["event_postings", "fact_postings", "episode_postings", "procedure_postings", "insight_postings"];

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn scope(user: &str) -> Scope {
    Scope {
        tenant_id: "t1".into(),
        user_id: user.into(),
        agent_id: "agent".into(),
        session_id: format!("{user}-session"),
        run_id: format!("{user}-run"),
    }
}

fn message(scope: &Scope, id: &str, text: &str) -> EventInput {
    let mut event = EventInput::new(scope.clone(), EventKind::Message, json!({"role": "user", "text": text}));
    event.event_id = Some(id.into());
    event.ts = Some(now() - Duration::hours(1));
    event
}

/// u1's event holding the word that must go.
fn secret(scope: &Scope) -> EventInput {
    message(scope, "u1-secret", &format!("My cat is called {GONE}."))
}

struct Fixture {
    directory: tempfile::TempDir,
    store: SqliteStore,
}

impl Fixture {
    /// A store where u1 and u2 each said a few ordinary things; `write` adds what gets deleted.
    fn new() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::new(directory.path().join("engram.db")).unwrap();
        for user in ["u1", "u2"] {
            let talk: Vec<_> = (0..30)
                .map(|index| {
                    message(
                        &scope(user),
                        &format!("{user}-{index}"),
                        &format!("An ordinary remark {index} about the weather and lunch."),
                    )
                })
                .collect();
            store.append_events(talk).unwrap();
        }
        store.append_events(vec![message(&scope("u2"), "u2-kept", &format!("My cat is called {KEPT}."))]).unwrap();
        Self { directory, store }
    }

    fn path(&self, suffix: &str) -> PathBuf {
        self.directory.path().join(format!("engram.db{suffix}"))
    }

    /// The database file and its WAL, as anyone holding them could read them.
    fn bytes(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(self.path("")).unwrap();
        bytes.extend(std::fs::read(self.path("-wal")).unwrap_or_default());
        bytes
    }

    /// The forms of `word` the file or its WAL hold: as written, lowercased, as an index token.
    fn forms_of(&self, word: &str) -> Vec<String> {
        let bytes = self.bytes();
        [word.to_string(), word.to_lowercase(), hex_tokens(word)]
            .into_iter()
            .filter(|needle| {
                !needle.is_empty() && bytes.windows(needle.len()).any(|window| window == needle.as_bytes())
            })
            .collect()
    }

    fn holds(&self, word: &str) -> bool {
        !self.forms_of(word).is_empty()
    }

    /// Every term of every FTS5 postings table's vocabulary.
    fn vocabulary(&self) -> Vec<String> {
        let raw = rusqlite::Connection::open(self.path("")).unwrap();
        let mut terms = Vec::new();
        for table in POSTINGS {
            // The rewritten index is whole.
            raw.execute(&format!("INSERT INTO {table} ({table}) VALUES ('integrity-check')"), []).unwrap();
            raw.execute_batch(&format!(
                "CREATE VIRTUAL TABLE temp.vocab_{table} USING fts5vocab(main, '{table}', 'row')"
            ))
            .unwrap();
            let mut statement = raw.prepare(&format!("SELECT term FROM temp.vocab_{table}")).unwrap();
            terms.extend(statement.query_map([], |row| row.get::<_, String>(0)).unwrap().map(Result::unwrap));
        }
        terms
    }

    /// Asserts the receipt says where the deleted content was erased, the deleted word is gone
    /// from the bytes and the vocabularies, and the kept one is not.
    fn assert_erased(&self, operation: &str, receipt: &Receipt, erased: &[&str]) {
        let said: Vec<&str> = receipt.erased.iter().map(String::as_str).collect();
        assert_eq!(said, erased, "{operation}: what the receipt says was erased");
        let left = self.forms_of(GONE);
        assert!(left.is_empty(), "{operation}: the file or its WAL still holds {left:?}");
        assert!(self.holds(KEPT), "{operation}: the other user's {KEPT} is gone too");
        let gone = hex_tokens(GONE);
        let vocabulary = self.vocabulary();
        assert!(!vocabulary.iter().any(|term| term.ends_with(&gone)), "{operation}: an FTS5 vocabulary holds {GONE}");
        assert!(vocabulary.iter().any(|term| term.ends_with(&hex_tokens(KEPT))), "{operation}: {KEPT} left the index");
    }
}

/// How the postings store the word's index term: its bytes in hex, after the space id.
fn hex_tokens(word: &str) -> String {
    analyze(word).first().map(|term| term.bytes().map(|byte| format!("{byte:02x}")).collect()).unwrap_or_default()
}

#[test]
fn purge_user_erases_the_user() {
    let fixture = Fixture::new();
    let u1 = scope("u1");
    fixture.store.append_events(vec![secret(&u1)]).unwrap();
    let mut fact = FactInput::new(u1.clone(), "pet.name", json!(GONE));
    fact.text = Some(format!("The cat is {GONE}."));
    fixture.store.upsert_fact(fact).unwrap();
    assert!(fixture.holds(GONE), "the word is written first");
    let receipt = fixture.store.purge_user("t1", "u1").unwrap();
    fixture.assert_erased("purge_user", &receipt, &["event_postings", "fact_postings", "pages", "wal"]);
}

#[test]
fn delete_event_erases_the_event() {
    let fixture = Fixture::new();
    let u1 = scope("u1");
    fixture.store.append_events(vec![secret(&u1)]).unwrap();
    let receipt = fixture.store.delete_event(&u1, "u1-secret").unwrap();
    fixture.assert_erased("delete_event", &receipt, &["event_postings", "pages", "wal"]);
}

#[test]
fn delete_fact_erases_every_version() {
    let fixture = Fixture::new();
    let u1 = scope("u1");
    for value in [format!("{GONE} the first"), format!("{GONE} the second")] {
        let mut fact = FactInput::new(u1.clone(), "pet.name", json!(value));
        fact.text = Some(format!("The cat is {value}."));
        fixture.store.upsert_fact(fact).unwrap();
    }
    let receipt = fixture.store.delete_fact(&u1, "pet.name").unwrap();
    fixture.assert_erased("delete_fact", &receipt, &["fact_postings", "pages", "wal"]);
}

#[test]
fn forget_erases_what_it_selects() {
    let fixture = Fixture::new();
    let u1 = scope("u1");
    let mut secret = secret(&u1);
    secret.tags = vec!["private".into()];
    fixture.store.append_events(vec![secret]).unwrap();
    let request = ForgetRequest { tags: vec!["private".into()], ..ForgetRequest::new(u1) };
    let receipt = fixture.store.forget(&request).unwrap();
    fixture.assert_erased("forget", &receipt, &["event_postings", "pages", "wal"]);
}

#[test]
fn the_sweep_erases_expired_records() {
    let fixture = Fixture::new();
    let u1 = scope("u1");
    let mut secret = secret(&u1);
    secret.expires_at = Some(now() - Duration::minutes(1));
    fixture.store.append_events(vec![secret]).unwrap();
    let receipt = fixture.store.sweep_expired(&SweepRequest { now: Some(now()), ..SweepRequest::default() }).unwrap();
    fixture.assert_erased("sweep_expired", &receipt, &["event_postings", "pages", "wal"]);
}

#[test]
fn item_deletes_erase_the_items() {
    let fixture = Fixture::new();
    let item = ItemWrite {
        tenant_id: "t1".into(),
        namespace: vec!["u1".into(), "notes".into()],
        key: "deleted".into(),
        value: json!({"text": format!("The cat is {GONE}.")}),
        blob: None,
        expires_at: None,
        ttl_seconds: None,
        index: Some(vec!["text".into()]),
    };
    fixture.store.put_items(vec![item], OnConflict::Replace).unwrap();
    let mut everything = ItemQuery::new("t1", vec!["u1".into()], 100);
    everything.prefix = true;
    let receipt = fixture.store.delete_items(&everything).unwrap();
    fixture.assert_erased("delete_items", &receipt, &["pages", "wal"]);
}
