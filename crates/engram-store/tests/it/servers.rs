//! Postgres and MySQL stores for the tests: each fixture is a fresh database on the local (or
//! `ENGRAM_TEST_POSTGRES_DSN` / `ENGRAM_TEST_MYSQL_DSN`) server, dropped when the fixture drops.
//! An unreachable server skips the test, or fails it with `ENGRAM_REQUIRE_SERVERS=1`.

use std::sync::atomic::{AtomicUsize, Ordering};

use engram_store::{ErrorKind, ServerOptions, Store};
use engram_types::Limits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    #[cfg(feature = "postgres")]
    Postgres,
    #[cfg(feature = "mysql")]
    MySql,
}

impl Server {
    /// Every server the enabled features know.
    pub const ALL: &[Self] = &[
        #[cfg(feature = "postgres")]
        Self::Postgres,
        #[cfg(feature = "mysql")]
        Self::MySql,
    ];

    pub fn dsn(self) -> String {
        let (variable, default) = match self {
            #[cfg(feature = "postgres")]
            Self::Postgres => ("ENGRAM_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432"),
            #[cfg(feature = "mysql")]
            Self::MySql => ("ENGRAM_TEST_MYSQL_DSN", "mysql://root@127.0.0.1:3306"),
        };
        std::env::var(variable).unwrap_or_else(|_| default.to_string())
    }

    /// Opens a store on `database` of this server, enforcing `limits`.
    pub fn open(self, database: &str, limits: Limits) -> engram_store::Result<Box<dyn Store>> {
        let (dsn, options) = (self.dsn(), ServerOptions::default().with_database(database));
        Ok(match self {
            #[cfg(feature = "postgres")]
            Self::Postgres => Box::new(engram_store::PostgresStore::with_options(&dsn, options)?.with_limits(limits)),
            #[cfg(feature = "mysql")]
            Self::MySql => Box::new(engram_store::MySqlStore::with_options(&dsn, options)?.with_limits(limits)),
        })
    }

    pub fn drop_database(self, database: &str) {
        let (dsn, options) = (self.dsn(), ServerOptions::default().with_database(database));
        let dropped = match self {
            #[cfg(feature = "postgres")]
            Self::Postgres => engram_store::PostgresStore::drop_database(&dsn, options),
            #[cfg(feature = "mysql")]
            Self::MySql => engram_store::MySqlStore::drop_database(&dsn, options),
        };
        if let Err(error) = dropped {
            eprintln!("could not drop test database {database}: {error}");
        }
    }
}

/// A database name no other test (or test run) uses.
pub fn fresh_name(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("engram_{prefix}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A store on a fresh database, dropped with the fixture.
pub struct ServerDatabase {
    store: Option<Box<dyn Store>>,
    server: Server,
    pub name: String,
}

impl ServerDatabase {
    /// `None` (the test is skipped) when the server cannot be reached, unless
    /// `ENGRAM_REQUIRE_SERVERS=1`, where that fails the test.
    pub fn create(server: Server) -> Option<Self> {
        Self::create_with(server, Limits::default())
    }

    pub fn create_with(server: Server, limits: Limits) -> Option<Self> {
        let name = fresh_name("test");
        match server.open(&name, limits) {
            Ok(store) => Some(Self { store: Some(store), server, name }),
            Err(error) if error.kind() == ErrorKind::Unavailable && !servers_required() => {
                eprintln!("skipped: {server:?} unreachable at {} ({error})", server.dsn());
                None
            }
            Err(error) => panic!("cannot open a {server:?} test database: {error}"),
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_deref().unwrap()
    }
}

impl crate::backends::Fixture for ServerDatabase {
    fn store(&self) -> &dyn Store {
        self.store()
    }
}

impl Drop for ServerDatabase {
    fn drop(&mut self) {
        self.store.take();
        self.server.drop_database(&self.name);
    }
}

pub fn servers_required() -> bool {
    std::env::var("ENGRAM_REQUIRE_SERVERS").is_ok_and(|value| value == "1")
}
