//! Which store a `Memory(...)` opens, from its constructor arguments.

use std::path::PathBuf;
use std::sync::Arc;

use engram_store::{Error, InMemoryStore, SqliteStore, Store};

/// The constructor arguments of `Memory` and `AsyncMemory`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub path: PathBuf,
    pub in_memory: bool,
    pub backend: String,
    pub dsn: Option<String>,
    pub database: Option<String>,
}

impl Options {
    /// How the store reads in `repr()`: never the DSN, which may hold a password.
    pub(crate) fn describe(&self) -> String {
        match (self.backend.as_str(), self.in_memory) {
            (_, true) => "in_memory=True".to_string(),
            ("sqlite", false) => format!("path={:?}", self.path.display().to_string()),
            (backend, false) => format!("backend={backend:?}"),
        }
    }

    /// Opens the store. Blocking (files, migrations, connections): call without the GIL.
    pub(crate) fn open(&self) -> Result<Arc<dyn Store>, Error> {
        match self.backend.as_str() {
            "sqlite" => {
                refuse_server_arguments(self)?;
                if self.in_memory {
                    return Ok(Arc::new(InMemoryStore::new()));
                }
                Ok(Arc::new(SqliteStore::new(&self.path)?))
            }
            "postgres" => self.open_server("postgres"),
            "mysql" => self.open_server("mysql"),
            other => Err(Error::invalid(
                "backend",
                format!("unknown backend {other:?}; expected \"sqlite\", \"postgres\" or \"mysql\""),
            )),
        }
    }

    fn open_server(&self, backend: &'static str) -> Result<Arc<dyn Store>, Error> {
        if self.in_memory {
            return Err(Error::invalid("in_memory", format!("applies to the sqlite backend, not {backend}")));
        }
        if self.dsn.is_none() {
            return Err(Error::invalid("dsn", format!("is required for the {backend} backend")));
        }
        Err(server_unavailable(backend))
    }
}

fn refuse_server_arguments(options: &Options) -> Result<(), Error> {
    if options.dsn.is_some() {
        return Err(Error::invalid("dsn", "applies to the postgres and mysql backends, not sqlite"));
    }
    if options.database.is_some() {
        return Err(Error::invalid("database", "applies to the postgres and mysql backends, not sqlite"));
    }
    Ok(())
}

/// Postgres and MySQL are not in engram-store yet (issue 4); say which cargo feature a build needs.
fn server_unavailable(backend: &'static str) -> Error {
    let built_in = match backend {
        "postgres" => cfg!(feature = "postgres"),
        _ => cfg!(feature = "mysql"),
    };
    let detail = if built_in {
        format!("this build has the `{backend}` feature, but engram-store has no {backend} backend yet")
    } else {
        format!(
            "this build of engram lacks the `{backend}` feature; rebuild with `maturin develop --features {backend}`"
        )
    };
    Error::Unavailable { backend, detail }
}
