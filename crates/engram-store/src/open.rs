//! Which store to open, from the arguments `Memory(...)` and the CLI take: a backend name, a
//! SQLite path or in-memory flag, a server DSN and database.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::store::Store;

/// The arguments that choose and open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    /// `"sqlite"` (default), `"postgres"` or `"mysql"`.
    pub backend: String,
    /// The SQLite file (created with its folder if missing).
    pub path: PathBuf,
    /// An in-memory store (SQLite backend only), gone when closed.
    pub in_memory: bool,
    /// The server to connect to (Postgres and MySQL only).
    pub dsn: Option<String>,
    /// The server database, when the DSN names none (default `engram`).
    pub database: Option<String>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            backend: "sqlite".into(),
            path: PathBuf::from("data/engram.db"),
            in_memory: false,
            dsn: None,
            database: None,
        }
    }
}

impl OpenOptions {
    /// How the store reads in logs and `repr()`: never the DSN, which may hold a password.
    pub fn describe(&self) -> String {
        match (self.backend.as_str(), self.in_memory) {
            (_, true) => "in_memory=True".to_string(),
            ("sqlite", false) => format!("path={:?}", self.path.display().to_string()),
            (backend, false) => match &self.database {
                Some(database) => format!("backend={backend:?}, database={database:?}"),
                None => format!("backend={backend:?}"),
            },
        }
    }

    /// Opens the store: blocking (files, migrations, connections).
    pub fn open(&self) -> Result<Arc<dyn Store>> {
        match self.backend.as_str() {
            "sqlite" => {
                if self.dsn.is_some() {
                    return Err(Error::invalid("dsn", "applies to the postgres and mysql backends, not sqlite"));
                }
                if self.database.is_some() {
                    return Err(Error::invalid("database", "applies to the postgres and mysql backends, not sqlite"));
                }
                if self.in_memory {
                    return Ok(Arc::new(crate::InMemoryStore::new()));
                }
                open_sqlite(self)
            }
            "postgres" => open_postgres(self.server_arguments("postgres")?, self),
            "mysql" => open_mysql(self.server_arguments("mysql")?, self),
            other => Err(Error::invalid(
                "backend",
                format!("unknown backend {other:?}; expected \"sqlite\", \"postgres\" or \"mysql\""),
            )),
        }
    }

    fn server_arguments(&self, backend: &'static str) -> Result<&str> {
        if self.in_memory {
            return Err(Error::invalid("in_memory", format!("applies to the sqlite backend, not {backend}")));
        }
        self.dsn.as_deref().ok_or_else(|| Error::invalid("dsn", format!("is required for the {backend} backend")))
    }

    #[cfg(any(feature = "postgres", feature = "mysql"))]
    fn server_options(&self) -> crate::ServerOptions {
        let mut options = crate::ServerOptions::default();
        options.database.clone_from(&self.database);
        options
    }
}

#[cfg(feature = "sqlite")]
fn open_sqlite(options: &OpenOptions) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(crate::SqliteStore::new(&options.path)?))
}

#[cfg(not(feature = "sqlite"))]
fn open_sqlite(_: &OpenOptions) -> Result<Arc<dyn Store>> {
    Err(missing_feature("sqlite"))
}

#[cfg(feature = "postgres")]
fn open_postgres(dsn: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(crate::PostgresStore::with_options(dsn, options.server_options())?))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_: &str, _: &OpenOptions) -> Result<Arc<dyn Store>> {
    Err(missing_feature("postgres"))
}

#[cfg(feature = "mysql")]
fn open_mysql(dsn: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(crate::MySqlStore::with_options(dsn, options.server_options())?))
}

#[cfg(not(feature = "mysql"))]
fn open_mysql(_: &str, _: &OpenOptions) -> Result<Arc<dyn Store>> {
    Err(missing_feature("mysql"))
}

#[cfg(any(not(feature = "sqlite"), not(feature = "postgres"), not(feature = "mysql")))]
fn missing_feature(backend: &'static str) -> Error {
    Error::Unavailable {
        backend,
        detail: format!(
            "this build of engram lacks the `{backend}` feature; rebuild with `maturin develop --features {backend}`"
        ),
    }
}
