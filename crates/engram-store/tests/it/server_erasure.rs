//! Postgres and MySQL: a purge leaves the deleted rows' bytes in the table files (dead tuples,
//! InnoDB's freed records) until the server reuses the space; compacting the purge's receipt
//! rewrites the tables it touched, after which a word only the purged user wrote is in no file
//! of the database's tables and indexes, while the other user's word still is. The files are
//! read through the server (Postgres: `pg_read_binary_file`, which needs a superuser or
//! `pg_read_server_files`) or from the data directory the server reports (MySQL, when this
//! process can read it); where neither is possible the test says why and checks nothing more.

use std::str::FromStr;

use engram_store::{Lifecycle, Store, StoreExt};
use engram_types::{EventInput, EventKind, FactInput, Scope};
use serde_json::json;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

use crate::servers::{Server, ServerDatabase};

/// Written only by the purged user.
const GONE: &str = "Quokkazephyr";
/// Written by the other user, kept.
const KEPT: &str = "Wombatnebula";

fn scope(user: &str) -> Scope {
    crate::support::scope("t1", user, &format!("{user}-session"), &format!("{user}-run"))
}

fn write_user(store: &dyn Store, user: &str, word: &str) {
    let own = scope(user);
    for (index, text) in
        [format!("My cat is called {word}."), "We talked about the garden shed.".to_string()].into_iter().enumerate()
    {
        let mut event = EventInput::new(own.clone(), EventKind::Message, json!({"role": "user", "text": text}));
        event.event_id = Some(format!("{user}-e{index}"));
        store.append_event(event).unwrap();
    }
    store.upsert_fact(FactInput::new(own, "pet.name", json!(word))).unwrap();
}

/// The bytes of every file holding the test database's tables and indexes, read after the
/// server wrote its buffers out; `None` when this test cannot read them (the reason printed).
fn table_files(server: Server, database: &str) -> Option<Vec<(String, Vec<u8>)>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        match server {
            #[cfg(feature = "postgres")]
            Server::Postgres => postgres_files(database).await,
            #[cfg(feature = "mysql")]
            Server::MySql => mysql_files(database).await,
        }
    })
}

#[cfg(feature = "postgres")]
async fn postgres_files(database: &str) -> Option<Vec<(String, Vec<u8>)>> {
    let options = sqlx::postgres::PgConnectOptions::from_str(&Server::Postgres.dsn()).unwrap().database(database);
    let mut connection = options.connect().await.unwrap();
    let readable: bool = sqlx::query_scalar(
        "SELECT rolsuper OR pg_has_role(current_user, 'pg_read_server_files', 'MEMBER') FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    if !readable {
        eprintln!("skipped: the Postgres role can read no server file (needs pg_read_server_files)");
        return None;
    }
    sqlx::query("CHECKPOINT").execute(&mut connection).await.unwrap();
    // The tables and indexes of the schema, with their TOAST tables and TOAST indexes.
    let paths: Vec<String> = sqlx::query_scalar(
        "WITH own AS (SELECT oid, reltoastrelid FROM pg_class WHERE relnamespace = current_schema()::regnamespace)
         SELECT pg_relation_filepath(c.oid) FROM pg_class c
         WHERE pg_relation_filepath(c.oid) IS NOT NULL AND (c.oid IN (SELECT oid FROM own)
            OR c.oid IN (SELECT reltoastrelid FROM own)
            OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT reltoastrelid FROM own)))",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    let mut files = Vec::new();
    for path in paths {
        let bytes: Vec<u8> =
            sqlx::query_scalar("SELECT pg_read_binary_file($1)").bind(&path).fetch_one(&mut connection).await.unwrap();
        files.push((path, bytes));
    }
    connection.close().await.unwrap();
    Some(files)
}

#[cfg(feature = "mysql")]
async fn mysql_files(database: &str) -> Option<Vec<(String, Vec<u8>)>> {
    let options = sqlx::mysql::MySqlConnectOptions::from_str(&Server::MySql.dsn()).unwrap().database(database);
    let mut connection = options.connect().await.unwrap();
    let directory: String = sqlx::query_scalar("SELECT @@datadir").fetch_one(&mut connection).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND engine = 'InnoDB'",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    // Writes every dirty page of the tables to their files (and holds them still while read).
    sqlx::raw_sql(AssertSqlSafe(format!("FLUSH TABLES {} FOR EXPORT", tables.join(", "))))
        .execute(&mut connection)
        .await
        .unwrap();
    let mut files = Vec::new();
    for table in &tables {
        let path = std::path::Path::new(&directory).join(database).join(format!("{table}.ibd"));
        match std::fs::read(&path) {
            Ok(bytes) => files.push((path.display().to_string(), bytes)),
            Err(error) => {
                eprintln!("skipped: cannot read MySQL's table file {} ({error})", path.display());
                sqlx::raw_sql("UNLOCK TABLES").execute(&mut connection).await.unwrap();
                return None;
            }
        }
    }
    sqlx::raw_sql("UNLOCK TABLES").execute(&mut connection).await.unwrap();
    connection.close().await.unwrap();
    Some(files)
}

/// A transaction with a snapshot open on the test database, so the server cannot reclaim rows
/// deleted after it began until it is released.
struct OldestSnapshot {
    runtime: tokio::runtime::Runtime,
    connection: SnapshotConnection,
}

enum SnapshotConnection {
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgConnection),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlConnection),
}

impl OldestSnapshot {
    fn hold(server: Server, database: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let connection = runtime.block_on(async {
            match server {
                #[cfg(feature = "postgres")]
                Server::Postgres => {
                    let options =
                        sqlx::postgres::PgConnectOptions::from_str(&Server::Postgres.dsn()).unwrap().database(database);
                    let mut connection = options.connect().await.unwrap();
                    // A repeatable-read transaction takes its snapshot at its first statement.
                    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")
                        .execute(&mut connection)
                        .await
                        .unwrap();
                    SnapshotConnection::Postgres(connection)
                }
                #[cfg(feature = "mysql")]
                Server::MySql => {
                    let options =
                        sqlx::mysql::MySqlConnectOptions::from_str(&Server::MySql.dsn()).unwrap().database(database);
                    let mut connection = options.connect().await.unwrap();
                    sqlx::raw_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT").execute(&mut connection).await.unwrap();
                    SnapshotConnection::MySql(connection)
                }
            }
        });
        Self { runtime, connection }
    }

    fn release(self) {
        let Self { runtime, connection } = self;
        runtime.block_on(async {
            match connection {
                #[cfg(feature = "postgres")]
                SnapshotConnection::Postgres(mut connection) => {
                    sqlx::raw_sql("COMMIT").execute(&mut connection).await.unwrap();
                    connection.close().await.unwrap();
                }
                #[cfg(feature = "mysql")]
                SnapshotConnection::MySql(mut connection) => {
                    sqlx::raw_sql("COMMIT").execute(&mut connection).await.unwrap();
                    connection.close().await.unwrap();
                }
            }
        });
    }
}

/// Where `word` occurs (as written or lowercased, as the index keeps it): file and count.
fn occurrences(files: &[(String, Vec<u8>)], word: &str) -> Vec<(String, usize)> {
    let needles = [word.as_bytes().to_vec(), word.to_lowercase().into_bytes()];
    files
        .iter()
        .filter_map(|(path, bytes)| {
            let count = needles
                .iter()
                .map(|needle| bytes.windows(needle.len()).filter(|window| window == needle).count())
                .sum::<usize>();
            (count > 0).then(|| (path.clone(), count))
        })
        .collect()
}

fn purge_then_compact_erases_the_user(server: Server) {
    let Some(database) = ServerDatabase::create(server) else { return };
    let store = database.store();
    write_user(store, "u1", GONE);
    write_user(store, "u2", KEPT);
    let Some(written) = table_files(server, &database.name) else { return };
    assert!(!occurrences(&written, GONE).is_empty(), "the files hold what was written: the search can find it");

    // The server reclaims deleted rows in the background (InnoDB's purge, Postgres' pruning)
    // as soon as no snapshot can see them: one held open keeps the purge's leftovers in place
    // to be looked at, however busy the server is.
    let snapshot = OldestSnapshot::hold(server, &database.name);
    let receipt = store.purge_user("t1", "u1").unwrap();
    assert!(receipt.erased.is_empty(), "a purge alone erases nothing on {server:?}: {receipt:?}");
    let purged = table_files(server, &database.name).unwrap();
    snapshot.release();
    let left = occurrences(&purged, GONE);
    assert!(!left.is_empty(), "a purge alone leaves the bytes until the server reuses them");

    let compacted = store.compact(receipt.clone()).unwrap();
    let touched: std::collections::BTreeSet<String> = receipt.rows.keys().cloned().collect();
    assert_eq!(compacted.erased, touched, "every table the purge touched is rewritten");
    assert!(touched.contains("events") && touched.contains("facts") && touched.contains("lexical_terms"));
    let files = table_files(server, &database.name).unwrap();
    assert_eq!(occurrences(&files, GONE), Vec::new(), "after compacting (before: {left:?})");
    assert!(!occurrences(&files, KEPT).is_empty(), "the other user's word stays");
    let facts = store.list_facts(&engram_types::ListQuery::new(scope("u2"))).unwrap();
    assert_eq!(facts.len(), 1);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_compacting_purge_leaves_no_copy_in_the_table_files() {
    purge_then_compact_erases_the_user(Server::Postgres);
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_compacting_purge_leaves_no_copy_in_the_table_files() {
    purge_then_compact_erases_the_user(Server::MySql);
}
