//! Postgres DSNs of several hosts and read-only servers, on the local server: a dead first host
//! is passed over, a write on a read-only server is `Unavailable` (reads still work), and a DSN
//! asking for a read-write session refuses a read-only server. The failover between a primary
//! and its standby is `python/tests/test_failover_postgres.py`, which starts both.

use engram_store::{ErrorKind, PostgresStore, StoreExt};
use engram_types::{EventInput, EventKind, EventQuery};
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, Executor};

use crate::servers::{Server, ServerDatabase};
use crate::support::default_scope;

fn event(id: &str) -> EventInput {
    let mut event = EventInput::new(default_scope(), EventKind::Message, json!({"role": "user", "text": "hello"}));
    event.event_id = Some(id.into());
    event
}

/// The test server's DSN naming `database`, with `hosts` listed before its own host.
fn dsn(hosts: &[&str], database: &str, parameters: &str) -> String {
    let dsn = Server::Postgres.dsn();
    let (scheme, rest) = dsn.split_once("://").unwrap();
    let (user, host) = rest.rsplit_once('@').map_or((String::new(), rest), |(user, host)| (format!("{user}@"), host));
    let host = host.split(['/', '?']).next().unwrap();
    let hosts = [hosts, &[host]].concat().join(",");
    format!("{scheme}://{user}{hosts}/{database}?{parameters}")
}

/// Runs `statements` on the test server's `postgres` database.
fn on_server(statements: &[String]) {
    let url = format!("{}/postgres", Server::Postgres.dsn().split('?').next().unwrap().trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
        for statement in statements {
            connection.execute(AssertSqlSafe(statement.clone())).await.unwrap();
        }
        connection.close().await.unwrap();
    });
}

#[test]
fn a_dead_first_host_is_passed_over_for_the_next() {
    let Some(database) = ServerDatabase::create(Server::Postgres) else { return };
    // Port 9 (discard) has no Postgres behind it.
    let dsn = dsn(&["127.0.0.1:9"], &database.name, "connect_timeout=1");
    let store = PostgresStore::new(&dsn).unwrap();
    store.append_event(event("through-the-second-host")).unwrap();
    let listed = database.store().list_events(&EventQuery::new(default_scope())).unwrap();
    assert_eq!(listed.iter().map(|event| event.event_id.as_str()).collect::<Vec<_>>(), ["through-the-second-host"]);
}

#[test]
fn a_write_on_a_read_only_server_is_unavailable_and_reads_go_on() {
    let Some(database) = ServerDatabase::create(Server::Postgres) else { return };
    database.store().append_event(event("before")).unwrap();
    // New sessions of the database are read-only, as on a standby; the store's are ended, so its
    // pool opens new ones.
    on_server(&[
        format!("ALTER DATABASE \"{}\" SET default_transaction_read_only = on", database.name),
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
            database.name
        ),
    ]);
    let refused = database.store().append_event(event("refused")).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unavailable, "{refused}");
    let listed = database.store().list_events(&EventQuery::new(default_scope())).unwrap();
    assert_eq!(listed.len(), 1, "reads work on a read-only server");

    let error = PostgresStore::new(&dsn(&[], &database.name, "target_session_attrs=read-write")).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    assert!(error.to_string().contains("read-only"), "{error}");
    on_server(&[format!("ALTER DATABASE \"{}\" RESET default_transaction_read_only", database.name)]);
}
