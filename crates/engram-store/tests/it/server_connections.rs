//! What only server stores do: TLS per `sslmode`, calls from inside a tokio runtime, a closed
//! port reported as unavailable within the connect timeout.

use std::time::{Duration, Instant};

use engram_store::{ErrorKind, StoreExt};
use engram_types::{EventInput, EventKind, EventQuery};
use serde_json::json;

use crate::servers::fresh_name;
use crate::support::default_scope;

fn event() -> EventInput {
    EventInput::new(default_scope(), EventKind::Message, json!({"role": "user", "text": "hello"}))
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_honors_sslmode() {
    use crate::servers::{Server, ServerDatabase};
    use engram_store::PostgresStore;

    let Some(database) = ServerDatabase::create(Server::Postgres) else { return };
    let dsn = |mode: &str| format!("{}/{}?sslmode={mode}", Server::Postgres.dsn(), database.name);
    let plain = PostgresStore::new(&dsn("disable")).unwrap();
    assert!(!plain.uses_tls().unwrap(), "sslmode=disable connects in the clear");
    match PostgresStore::new(&dsn("require")) {
        Ok(encrypted) => assert!(encrypted.uses_tls().unwrap(), "sslmode=require encrypts"),
        // A server without TLS refuses `require`: that is honoring it too.
        Err(error) => assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}"),
    }
}

#[test]
fn stores_work_when_called_from_inside_a_tokio_runtime() {
    for (name, fixture) in crate::backends::server_fixtures(engram_types::Limits::default()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let listed = runtime.block_on(async {
            // Blocking inside async code is the caller's choice; it must not panic.
            fixture.store().append_event(event()).unwrap();
            fixture.store().list_events(&EventQuery::new(default_scope())).unwrap()
        });
        assert_eq!(listed.len(), 1, "{name}");
        // Dropping the store inside the runtime must not panic either.
        runtime.block_on(async move { drop(fixture) });
    }
}

#[test]
fn a_closed_port_is_unavailable_within_the_connect_timeout() {
    let name = fresh_name("closed");
    let mut attempts: Vec<(&str, engram_store::Result<()>, Duration)> = Vec::new();
    #[cfg(feature = "postgres")]
    {
        let started = Instant::now();
        let opened = engram_store::PostgresStore::new(&format!("postgres://u@127.0.0.1:9/{name}?connect_timeout=1"));
        attempts.push(("postgres", opened.map(drop), started.elapsed()));
    }
    #[cfg(feature = "mysql")]
    {
        let started = Instant::now();
        let opened = engram_store::MySqlStore::new(&format!("mysql://u@127.0.0.1:9/{name}?connect_timeout=1"));
        attempts.push(("mysql", opened.map(drop), started.elapsed()));
    }
    for (backend, opened, elapsed) in attempts {
        let error = opened.expect_err("nothing listens on port 9");
        assert_eq!(error.kind(), ErrorKind::Unavailable, "{backend}: {error}");
        assert!(elapsed < Duration::from_secs(4), "{backend} took {elapsed:?}");
    }
}

/// Two stores on one database write as two processes would: their writes are not serialized
/// by a store's own writer lock, only by the database.
#[test]
fn first_writes_of_a_key_from_two_processes_index_it_once() {
    for &server in crate::servers::Server::ALL {
        let Some(database) = crate::servers::ServerDatabase::create(server) else { continue };
        let other = server.open(&database.name, engram_types::Limits::default()).unwrap();
        crate::conformance::items::race_first_writes(&[database.store(), &*other, database.store(), &*other]);
    }
}

#[test]
fn deletes_through_a_stale_handle_leave_no_index_rows() {
    for &server in crate::servers::Server::ALL {
        let Some(database) = crate::servers::ServerDatabase::create(server) else { continue };
        let other = server.open(&database.name, engram_types::Limits::default()).unwrap();
        crate::conformance::lifecycle::stale_handles_delete_exactly(database.store(), &*other);
    }
}

/// Two stores on one database race the "one of" rules as two worker processes would, round
/// after round: one active fact per key, an insight promoted once, one working-state version
/// per patch; every call succeeds or is a `Conflict`.
#[test]
fn one_of_rules_hold_across_processes() {
    for &server in crate::servers::Server::ALL {
        let Some(database) = crate::servers::ServerDatabase::create(server) else { continue };
        let other = server.open(&database.name, engram_types::Limits::default()).unwrap();
        crate::conformance::races::race_one_of_rules(&[database.store(), &*other, database.store(), &*other], 25);
    }
}

/// Ids longer than the servers' key columns and index rows hold are refused when the store is
/// opened, naming the limit, rather than failing later as a storage error on a long id.
#[test]
fn servers_cap_max_id_bytes_when_opened() {
    for &server in crate::servers::Server::ALL {
        let backend = match server {
            #[cfg(feature = "postgres")]
            crate::servers::Server::Postgres => "postgres",
            #[cfg(feature = "mysql")]
            crate::servers::Server::MySql => "mysql",
        };
        let database = fresh_name("limits");
        let mut options = engram_store::OpenOptions {
            backend: Some(backend.into()),
            dsn: Some(server.dsn()),
            database: Some(database.clone()),
            ..engram_store::OpenOptions::default()
        };
        options.limits.max_id_bytes = 3000;
        let opened = options.open();
        server.drop_database(&database);
        match opened {
            Err(engram_store::Error::InvalidInput(invalid)) => {
                assert_eq!(invalid.field, "limits.max_id_bytes", "{backend}: {invalid}");
            }
            Err(other) => panic!("{backend}: expected InvalidInput, got {other}"),
            Ok(_) => panic!("{backend}: max_id_bytes = 3000 was accepted"),
        }
    }
}
