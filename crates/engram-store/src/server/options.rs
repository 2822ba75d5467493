//! How a Postgres or MySQL store connects: the DSN, the database name and the timeouts.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::sql::Dialect;

/// Database used when neither the DSN nor [`ServerOptions::database`] names one.
pub const DEFAULT_DATABASE: &str = "engram";

/// Connection settings of a Postgres or MySQL store. The DSN may set the timeouts and the pool
/// size too, as query parameters in seconds (`?connect_timeout=2&query_timeout=10&max_connections=4`);
/// those win over the values here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerOptions {
    /// The database to use (created if missing) when the DSN has no path; with a DSN that names
    /// another database, opening fails with `InvalidInput` on `database`.
    pub database: Option<String>,
    /// How long opening a connection may take, retries while the server refuses included.
    /// A call made while the server is down fails with `Unavailable` after at most this long.
    pub connect_timeout: Duration,
    /// How long one store call (every statement of it, connection included) may take.
    pub query_timeout: Duration,
    /// Most connections the store's pool keeps open.
    pub max_connections: u32,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            database: None,
            connect_timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(30),
            max_connections: 8,
        }
    }
}

impl ServerOptions {
    /// The same options naming the database.
    #[must_use]
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }
}

/// A DSN taken apart: what sqlx gets, the database name, and engram's own parameters applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// `scheme://authority`, no trailing slash.
    base: String,
    /// The query parameters sqlx understands (`sslmode=...`), engram's removed.
    query: Vec<String>,
    pub database: String,
    pub options: ServerOptions,
}

impl Target {
    pub(super) fn parse(dialect: Dialect, dsn: &str, options: ServerOptions) -> Result<Self> {
        // The URL schemes the server's sqlx driver answers to, its usual one first.
        let accepted: [&str; 2] = match dialect {
            Dialect::Postgres => ["postgres", "postgresql"],
            Dialect::MySql | Dialect::Sqlite => ["mysql", "mariadb"],
        };
        let (without_query, query) = dsn.split_once('?').unwrap_or((dsn, ""));
        let Some((scheme, rest)) = without_query.split_once("://") else {
            return Err(Error::invalid("dsn", format!("expected {}://user@host:port/database", accepted[0])));
        };
        if !accepted.contains(&scheme) {
            return Err(Error::invalid("dsn", format!("expected a {}:// URL, got {scheme}://", accepted[0])));
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() {
            return Err(Error::invalid("dsn", "the host is missing"));
        }
        let named = path.trim_end_matches('/');
        let database = match (&options.database, named) {
            (Some(wanted), "") => check_name("database", wanted)?,
            (Some(wanted), named) if wanted != named => {
                return Err(Error::invalid(
                    "database",
                    format!("{wanted:?} differs from the database the dsn names ({named:?})"),
                ));
            }
            (_, "") => DEFAULT_DATABASE.to_string(),
            (_, named) => check_name("dsn", named)?,
        };
        let mut options = options;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "connect_timeout" => options.connect_timeout = seconds(key, value)?,
                "query_timeout" => options.query_timeout = seconds(key, value)?,
                "max_connections" => {
                    options.max_connections = value
                        .parse()
                        .ok()
                        .filter(|count| *count > 0)
                        .ok_or_else(|| Error::invalid("dsn.max_connections", "expected a positive integer"))?;
                }
                _ => kept.push(pair.to_string()),
            }
        }
        let base = format!("{scheme}://{authority}");
        Ok(Self { base, query: kept, database, options })
    }

    /// The URL sqlx connects to: this target's database, or another (`None`: none, for MySQL's
    /// server-level connection).
    pub(super) fn url(&self, database: Option<&str>) -> String {
        let mut url = self.base.clone();
        if let Some(database) = database {
            url.push('/');
            url.push_str(database);
        }
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&self.query.join("&"));
        }
        url
    }
}

/// Database names are created and quoted by engram: letters, digits, `_` and `-`, at most 63
/// bytes (Postgres' limit; MySQL allows 64).
fn check_name(field: &str, name: &str) -> Result<String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if valid {
        Ok(name.to_string())
    } else {
        Err(Error::invalid(field, format!("database name {name:?} must be 1-63 letters, digits, '_' or '-'")))
    }
}

fn seconds(key: &str, value: &str) -> Result<Duration> {
    value
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0 && *seconds < 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| Error::invalid(format!("dsn.{key}"), "expected a number of seconds above 0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(dsn: &str, database: Option<&str>) -> Result<Target> {
        let options = ServerOptions { database: database.map(str::to_string), ..ServerOptions::default() };
        Target::parse(Dialect::MySql, dsn, options)
    }

    #[test]
    fn a_dsn_without_database_means_engram() {
        let target = parse("mysql://root@127.0.0.1:3306", None).map_err(|error| error.to_string());
        assert_eq!(target.map(|target| target.database), Ok("engram".to_string()));
        let target = parse("mysql://root@127.0.0.1:3306/", None).map_err(|error| error.to_string());
        assert_eq!(target.map(|target| target.url(Some("x"))), Ok("mysql://root@127.0.0.1:3306/x".to_string()));
    }

    #[test]
    fn the_database_option_is_appended_and_must_agree_with_the_dsn() {
        let target = parse("mysql://u:p@h:3306", Some("memories")).map_err(|error| error.to_string());
        assert_eq!(target.map(|target| target.database), Ok("memories".to_string()));
        assert!(matches!(parse("mysql://h/one", Some("two")), Err(Error::InvalidInput(e)) if e.field == "database"));
        assert!(matches!(parse("mysql://h/bad;name", None), Err(Error::InvalidInput(e)) if e.field == "dsn"));
    }

    #[test]
    fn engram_parameters_are_taken_out_and_the_rest_kept() {
        let target = Target::parse(
            Dialect::Postgres,
            "postgres://h/db?sslmode=require&connect_timeout=1.5&max_connections=2",
            ServerOptions::default(),
        );
        let Ok(target) = target else { return assert!(target.is_ok()) };
        assert_eq!(target.url(Some("db")), "postgres://h/db?sslmode=require");
        assert_eq!(target.options.connect_timeout, Duration::from_millis(1500));
        assert_eq!(target.options.max_connections, 2);
        assert!(matches!(
            Target::parse(Dialect::Postgres, "mysql://h/db", ServerOptions::default()),
            Err(Error::InvalidInput(e)) if e.field == "dsn"
        ));
        assert!(matches!(
            Target::parse(Dialect::Postgres, "postgres://h/db?query_timeout=0", ServerOptions::default()),
            Err(Error::InvalidInput(e)) if e.field == "dsn.query_timeout"
        ));
    }
}
