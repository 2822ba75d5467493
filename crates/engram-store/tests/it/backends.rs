//! Runs the whole conformance suite on every backend.

use engram_store::{InMemoryStore, SqliteStore, Store};

/// A store under test, with whatever must live as long as it (a temporary directory).
pub trait Fixture {
    fn store(&self) -> &dyn Store;
}

impl Fixture for InMemoryStore {
    fn store(&self) -> &dyn Store {
        self
    }
}

impl Fixture for SqliteStore {
    fn store(&self) -> &dyn Store {
        self
    }
}

/// A SQLite file store in its own temporary directory, removed when the fixture drops.
pub struct SqliteFile {
    store: SqliteStore,
    _directory: tempfile::TempDir,
}

impl SqliteFile {
    pub fn new() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::new(directory.path().join("engram.db")).unwrap();
        Self { store, _directory: directory }
    }
}

impl Fixture for SqliteFile {
    fn store(&self) -> &dyn Store {
        &self.store
    }
}

/// Fresh databases on the Postgres and MySQL servers of this build (features) that answer,
/// enforcing `limits`.
pub fn server_fixtures(limits: engram_types::Limits) -> Vec<(String, Box<dyn Fixture>)> {
    #[allow(unused_mut, reason = "what is pushed depends on the features")]
    let mut fixtures: Vec<(String, Box<dyn Fixture>)> = Vec::new();
    #[cfg(feature = "postgres")]
    if let Some(database) =
        crate::servers::ServerDatabase::create_with(crate::servers::Server::Postgres, limits.clone())
    {
        fixtures.push(("postgres".into(), Box::new(database)));
    }
    #[cfg(feature = "mysql")]
    if let Some(database) = crate::servers::ServerDatabase::create_with(crate::servers::Server::MySql, limits.clone()) {
        fixtures.push(("mysql".into(), Box::new(database)));
    }
    let _ = limits;
    fixtures
}

macro_rules! define_tests {
    ($make:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let fixture = $make;
                crate::conformance::$module::$case(crate::backends::Fixture::store(&fixture));
            }
        )*
    };
}

/// Like `define_tests`, for fixtures that may be absent (an unreachable server skips).
#[cfg(any(feature = "postgres", feature = "mysql"))]
macro_rules! define_server_tests {
    ($make:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let Some(fixture) = $make else { return };
                crate::conformance::$module::$case(fixture.store());
            }
        )*
    };
}

mod memory {
    crate::conformance::cases!(define_tests, engram_store::InMemoryStore::new());
}

mod sqlite_file {
    crate::conformance::cases!(define_tests, crate::backends::SqliteFile::new());
}

mod sqlite_in_memory {
    crate::conformance::cases!(define_tests, engram_store::SqliteStore::in_memory().unwrap());
}

#[cfg(feature = "postgres")]
mod postgres {
    crate::conformance::cases!(
        define_server_tests,
        crate::servers::ServerDatabase::create(crate::servers::Server::Postgres)
    );
}

#[cfg(feature = "mysql")]
mod mysql {
    crate::conformance::cases!(
        define_server_tests,
        crate::servers::ServerDatabase::create(crate::servers::Server::MySql)
    );
}
