//! Which store to open, from the arguments `Memory(...)` and the CLI take: a backend name, a
//! SQLite path or in-memory flag, a server DSN and database, the write limits and SQLite's
//! durability.

use std::path::PathBuf;
use std::sync::Arc;

use engram_types::Limits;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::store::Store;

/// Longest id the servers store: MySQL's key columns are `VARCHAR(128)`, and a Postgres B-tree
/// index row (which holds up to four ids, e.g. a run's lexical space) must stay under ~2.7 kB.
const SERVER_MAX_ID_BYTES: usize = 128;

/// When a SQLite commit reaches the disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// `synchronous = NORMAL` in WAL mode: an acknowledged write survives any crash of the
    /// process; the last commits before a power loss or OS crash may be lost (never corrupted).
    #[default]
    Normal,
    /// `synchronous = FULL`: every commit is fsynced before it is acknowledged, so it also
    /// survives power loss, at the cost of one fsync per transaction.
    Full,
}

/// The arguments that choose and open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    /// `"sqlite"`, `"postgres"` or `"mysql"`; `None` reads it from the DSN's scheme when a DSN
    /// is given (`postgres://`, `postgresql://`, `mysql://`, `mariadb://`), else SQLite.
    pub backend: Option<String>,
    /// The SQLite file (created with its folder if missing).
    pub path: PathBuf,
    /// An in-memory store (SQLite backend only), gone when closed.
    pub in_memory: bool,
    /// The server to connect to (Postgres and MySQL only).
    pub dsn: Option<String>,
    /// The server database, when the DSN names none (default `engram`).
    pub database: Option<String>,
    /// The size limits every write is checked against before anything is stored.
    pub limits: Limits,
    /// When SQLite commits reach the disk (SQLite file only).
    pub synchronous: Synchronous,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            backend: None,
            path: PathBuf::from("data/engram.db"),
            in_memory: false,
            dsn: None,
            database: None,
            limits: Limits::default(),
            synchronous: Synchronous::Normal,
        }
    }
}

impl OpenOptions {
    /// How the store reads in logs and `repr()`: never the DSN, which may hold a password.
    pub fn describe(&self) -> String {
        match (self.chosen_backend().unwrap_or("?"), self.in_memory) {
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
        self.limits.validate().map_err(|invalid| Error::from(invalid.within("limits")))?;
        let backend = self.chosen_backend()?;
        if self.synchronous == Synchronous::Full && (self.in_memory || backend != "sqlite") {
            return Err(Error::invalid(
                "synchronous",
                "applies to a sqlite file; servers and in-memory stores decide their own durability",
            ));
        }
        match backend {
            "sqlite" => {
                if self.dsn.is_some() {
                    return Err(Error::invalid("dsn", "applies to the postgres and mysql backends, not sqlite"));
                }
                if self.database.is_some() {
                    return Err(Error::invalid("database", "applies to the postgres and mysql backends, not sqlite"));
                }
                if self.in_memory {
                    return Ok(Arc::new(crate::InMemoryStore::with_limits(self.limits.clone())));
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

    /// The backend to open: as given, else the one the DSN's scheme names, else SQLite. A DSN
    /// whose scheme names the other server than `backend` is refused.
    fn chosen_backend(&self) -> Result<&str> {
        let from_dsn = self.dsn.as_deref().and_then(backend_of_dsn);
        match (self.backend.as_deref(), from_dsn, self.dsn.as_deref()) {
            (Some(given), Some(named), _) if given != named && given != "sqlite" => Err(Error::invalid(
                "dsn",
                format!("is a {named} URL, but backend is {given:?} (leave backend out to follow the URL)"),
            )),
            (Some(given), _, _) => Ok(given),
            (None, Some(named), _) => Ok(named),
            (None, None, Some(_)) => Err(Error::invalid(
                "dsn",
                "names no backend engram knows: start it with postgres:// or mysql:// (or give backend=)",
            )),
            (None, None, None) => Ok("sqlite"),
        }
    }

    /// The DSN of a server backend, once the arguments fit one.
    fn server_arguments(&self, backend: &'static str) -> Result<&str> {
        if self.in_memory {
            return Err(Error::invalid("in_memory", format!("applies to the sqlite backend, not {backend}")));
        }
        if self.limits.max_id_bytes > SERVER_MAX_ID_BYTES {
            return Err(Error::invalid(
                "limits.max_id_bytes",
                format!("is at most {SERVER_MAX_ID_BYTES} on {backend} (the size of its key columns and index rows)"),
            ));
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

/// The backend a DSN's URL scheme names (the schemes sqlx accepts for each server).
fn backend_of_dsn(dsn: &str) -> Option<&'static str> {
    let (scheme, _) = dsn.split_once("://")?;
    match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => Some("postgres"),
        "mysql" | "mariadb" => Some("mysql"),
        _ => None,
    }
}

#[cfg(feature = "sqlite")]
fn open_sqlite(options: &OpenOptions) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(sqlite_store(options)?))
}

#[cfg(feature = "sqlite")]
fn sqlite_store(options: &OpenOptions) -> Result<crate::SqliteStore> {
    let store = crate::SqliteStore::new(&options.path)?.with_limits(options.limits.clone());
    match options.synchronous {
        Synchronous::Normal => Ok(store),
        Synchronous::Full => store.with_synchronous_full(),
    }
}

#[cfg(not(feature = "sqlite"))]
fn open_sqlite(_: &OpenOptions) -> Result<Arc<dyn Store>> {
    Err(missing_feature("sqlite"))
}

#[cfg(feature = "postgres")]
fn open_postgres(dsn: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(crate::PostgresStore::with_options(dsn, options.server_options())?.with_limits(options.limits.clone())))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_: &str, _: &OpenOptions) -> Result<Arc<dyn Store>> {
    Err(missing_feature("postgres"))
}

#[cfg(feature = "mysql")]
fn open_mysql(dsn: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(crate::MySqlStore::with_options(dsn, options.server_options())?.with_limits(options.limits.clone())))
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

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    #![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

    use super::*;

    #[test]
    fn synchronous_option_reaches_the_sqlite_writer() {
        let folder = tempfile::tempdir().unwrap();
        for (name, synchronous) in [("normal.db", Synchronous::Normal), ("full.db", Synchronous::Full)] {
            let options = OpenOptions { path: folder.path().join(name), synchronous, ..OpenOptions::default() };
            assert_eq!(sqlite_store(&options).unwrap().synchronous().unwrap(), synchronous);
        }
    }

    fn invalid_field(options: &OpenOptions) -> Option<String> {
        match options.open() {
            Err(Error::InvalidInput(invalid)) => Some(invalid.field),
            _ => None,
        }
    }

    #[test]
    fn a_path_holding_nul_is_invalid_input() {
        let options = OpenOptions { path: PathBuf::from("a\u{0}b/engram.db"), ..OpenOptions::default() };
        assert_eq!(invalid_field(&options).as_deref(), Some("path"));
    }

    #[cfg(any(feature = "postgres", feature = "mysql"))]
    #[test]
    fn dsns_the_driver_cannot_parse_are_invalid_input() {
        let backends =
            [("postgres", "sslmode", cfg!(feature = "postgres")), ("mysql", "ssl-mode", cfg!(feature = "mysql"))];
        for (backend, ssl, _) in backends.into_iter().filter(|(_, _, built)| *built) {
            for dsn in [
                format!("{backend}://@:/"),
                format!("{backend}://u@h:99999999/x"),
                format!("{backend}://u@127.0.0.1:1/x?{ssl}=bogus"),
            ] {
                let options =
                    OpenOptions { backend: Some(backend.into()), dsn: Some(dsn.clone()), ..OpenOptions::default() };
                assert_eq!(invalid_field(&options).as_deref(), Some("dsn"), "{dsn}");
            }
        }
    }

    #[test]
    fn the_backend_follows_the_dsn_unless_given() {
        let chosen = |backend: Option<&str>, dsn: Option<&str>| {
            let options = OpenOptions {
                backend: backend.map(String::from),
                dsn: dsn.map(String::from),
                ..OpenOptions::default()
            };
            options.chosen_backend().map(str::to_string).map_err(|error| error.to_string())
        };
        assert_eq!(chosen(None, None), Ok("sqlite".into()));
        assert_eq!(chosen(None, Some("postgres://u@h/db")), Ok("postgres".into()));
        assert_eq!(chosen(None, Some("PostgreSQL://u@h/db")), Ok("postgres".into()));
        assert_eq!(chosen(None, Some("mysql://root@h:3306")), Ok("mysql".into()));
        assert_eq!(chosen(None, Some("mariadb://root@h")), Ok("mysql".into()));
        assert_eq!(chosen(Some("postgres"), Some("postgres://u@h")), Ok("postgres".into()));
        let mismatch = chosen(Some("mysql"), Some("postgres://u@h")).unwrap_err();
        assert!(mismatch.contains("dsn") && mismatch.contains("postgres URL"), "{mismatch}");
        let unknown = chosen(None, Some("host=h user=u")).unwrap_err();
        assert!(unknown.contains("dsn") && unknown.contains("postgres://"), "{unknown}");
        // A DSN with an explicit sqlite backend is still refused when opened, naming the DSN.
        let options = OpenOptions {
            backend: Some("sqlite".into()),
            dsn: Some("postgres://u@h".into()),
            ..OpenOptions::default()
        };
        assert_eq!(invalid_field(&options).as_deref(), Some("dsn"));
    }

    #[test]
    fn limits_are_checked_and_reach_the_store() {
        let folder = tempfile::tempdir().unwrap();
        let mut options = OpenOptions { path: folder.path().join("limits.db"), ..OpenOptions::default() };
        options.limits.max_labels = 0;
        let error = options.open().err().map(|error| error.to_string()).unwrap_or_default();
        assert!(error.contains("limits.max_labels"), "{error}");
        options.limits.max_labels = 3;
        assert_eq!(options.open().unwrap().limits().max_labels, 3);
        options.in_memory = true;
        assert_eq!(options.open().unwrap().limits().max_labels, 3);
    }
}
