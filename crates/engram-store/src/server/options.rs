//! How a Postgres or MySQL store connects: the DSN (with its hosts), the database name and the
//! timeouts.

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

/// Which hosts a store may work on: libpq's `target_session_attrs`, of which engram takes `any`
/// and `read-write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SessionAttributes {
    /// The first host that answers.
    Any,
    /// The first host that answers and takes writes (not a standby in recovery, not
    /// `default_transaction_read_only`): the default with several hosts.
    ReadWrite,
}

/// A DSN taken apart: what sqlx gets for each host, the database name, and engram's own
/// parameters applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// `scheme://` and the user part (`user:pass@`), if any.
    prefix: String,
    /// The DSN's hosts (`host` or `host:port`), in the order they are tried. Postgres takes
    /// several, as libpq does (`postgres://user@host1:5432,host2:5432/db`); MySQL one.
    pub hosts: Vec<String>,
    /// The query parameters sqlx understands (`sslmode=...`), engram's removed.
    query: Vec<String>,
    pub database: String,
    pub options: ServerOptions,
    pub session: SessionAttributes,
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
        // The user part may hold a percent-encoded `@` or `,`, never a raw one: hosts follow the last `@`.
        let (user, host_list) = match authority.rsplit_once('@') {
            Some((user, hosts)) => (format!("{user}@"), hosts),
            None => (String::new(), authority),
        };
        let hosts: Vec<String> = host_list.split(',').map(str::to_string).collect();
        if hosts.iter().any(String::is_empty) {
            return Err(Error::invalid("dsn", "a host is missing (expected host:port, or host1:port1,host2:port2)"));
        }
        if hosts.len() > 1 && dialect != Dialect::Postgres {
            return Err(Error::invalid("dsn", format!("{scheme}:// takes one host, got {}", hosts.len())));
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
        let mut session = None;
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
                "target_session_attrs" => {
                    if dialect != Dialect::Postgres {
                        return Err(Error::invalid("dsn.target_session_attrs", "only a postgres:// DSN takes it"));
                    }
                    session = Some(match value {
                        "any" => SessionAttributes::Any,
                        "read-write" => SessionAttributes::ReadWrite,
                        _ => {
                            return Err(Error::invalid(
                                "dsn.target_session_attrs",
                                format!("expected read-write or any, got {value:?}"),
                            ));
                        }
                    });
                }
                _ => kept.push(pair.to_string()),
            }
        }
        // Several hosts are a primary and its standbys: only the primary takes the writes.
        let session =
            session.unwrap_or(if hosts.len() > 1 { SessionAttributes::ReadWrite } else { SessionAttributes::Any });
        let prefix = format!("{scheme}://{user}");
        Ok(Self { prefix, hosts, query: kept, database, options, session })
    }

    /// Whether a host must be checked before the store works on it: with several hosts (a
    /// dead one is passed over at once, not retried until the connect timeout) or when only a
    /// read-write one will do.
    pub(super) fn checks_hosts(&self) -> bool {
        self.hosts.len() > 1 || self.session == SessionAttributes::ReadWrite
    }

    /// The URL sqlx connects to on `host` (one of [`Self::hosts`]): this target's database, or
    /// another (`None`: none, for MySQL's server-level connection).
    pub(super) fn url(&self, host: &str, database: Option<&str>) -> String {
        let mut url = format!("{}{host}", self.prefix);
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
        assert_eq!(
            target.map(|target| target.url(&target.hosts[0], Some("x"))),
            Ok("mysql://root@127.0.0.1:3306/x".to_string())
        );
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
        assert_eq!(target.url("h", Some("db")), "postgres://h/db?sslmode=require");
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

    fn postgres(dsn: &str) -> Result<Target> {
        Target::parse(Dialect::Postgres, dsn, ServerOptions::default())
    }

    #[test]
    fn several_hosts_are_tried_in_order_and_must_take_writes() {
        let target = postgres("postgres://me:p%40ss@db1:5432,db2:6543,[::1]:5433/memories?sslmode=disable");
        let Ok(target) = target else { return assert!(target.is_ok()) };
        assert_eq!(target.hosts, ["db1:5432", "db2:6543", "[::1]:5433"]);
        assert_eq!(target.session, SessionAttributes::ReadWrite);
        assert!(target.checks_hosts());
        assert_eq!(target.url("db2:6543", Some("memories")), "postgres://me:p%40ss@db2:6543/memories?sslmode=disable");
        assert_eq!(target.database, "memories");
    }

    #[test]
    fn one_host_takes_any_session_unless_the_dsn_asks_for_read_write() {
        let one = postgres("postgres://h:5432/db");
        assert_eq!(
            one.as_ref().map(|target| (target.session, target.checks_hosts())).ok(),
            Some((SessionAttributes::Any, false))
        );
        let asked = postgres("postgres://h:5432/db?target_session_attrs=read-write");
        assert_eq!(
            asked.as_ref().map(|target| (target.session, target.checks_hosts())).ok(),
            Some((SessionAttributes::ReadWrite, true))
        );
        let any = postgres("postgres://a,b/db?target_session_attrs=any&sslmode=prefer");
        let Ok(any) = any else { return assert!(any.is_ok()) };
        assert_eq!(any.session, SessionAttributes::Any);
        // engram's parameter is not handed to sqlx.
        assert_eq!(any.url("b", Some("db")), "postgres://b/db?sslmode=prefer");
    }

    #[test]
    fn bad_host_lists_and_session_attributes_name_the_field() {
        for dsn in
            ["postgres://h1,,h2/db", "postgres://h1,/db", "postgres://,h2/db", "postgres://user@/db", "postgres:///db"]
        {
            assert!(matches!(postgres(dsn), Err(Error::InvalidInput(e)) if e.field == "dsn"), "{dsn}");
        }
        for value in ["read-only", "primary", "standby", "prefer-standby", ""] {
            let dsn = format!("postgres://h1,h2/db?target_session_attrs={value}");
            assert!(
                matches!(postgres(&dsn), Err(Error::InvalidInput(e)) if e.field == "dsn.target_session_attrs"),
                "{value}"
            );
        }
        assert!(
            matches!(parse("mysql://root@h1:3306,h2:3306/db", None), Err(Error::InvalidInput(e)) if e.field == "dsn")
        );
        assert!(matches!(
            parse("mysql://root@h1:3306/db?target_session_attrs=any", None),
            Err(Error::InvalidInput(e)) if e.field == "dsn.target_session_attrs"
        ));
    }
}
