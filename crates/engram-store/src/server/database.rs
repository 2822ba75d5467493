//! The store's tokio runtime and connection pool, and how the shared SQL code's synchronous
//! reads and transactions run on them.

use std::collections::BTreeSet;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, Once};
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AssertSqlSafe, Executor, Row};
use tokio::runtime::{Handle, Runtime};
use tokio::time::Instant;

use super::connection::{ServerConnection, Wait};
use super::error::{aborted, database_error, lost_race};
use super::migrate;
use super::options::Target;
use crate::error::{Error, Result};
use crate::sql::{self, Dialect};

/// Threads of a store's runtime: they drive sockets and timers; the work itself runs on the
/// calling thread inside `block_on`.
const RUNTIME_THREADS: usize = 2;

/// A connection pool with the runtime it lives on. Both are `Option` only so that `Drop` can
/// release them in order: connections inside the runtime, then the runtime without blocking.
#[derive(Debug)]
pub(crate) struct Database {
    pool: Option<AnyPool>,
    runtime: Option<Runtime>,
    pub dialect: Dialect,
    query_timeout: Duration,
    /// Writes of this store run one at a time, as on SQLite: the read-check-write of an upsert
    /// (one active fact per key, procedure ownership) then never races within a process, and
    /// index upserts never deadlock one another.
    writer: Mutex<()>,
}

/// Attempts of a write that keeps losing races to writers in other processes (or other Galera
/// nodes); the last loss is the caller's `Conflict`.
const ATTEMPTS: u32 = 8;

impl Database {
    /// Connects, creating the database when it does not exist, and applies pending migrations.
    pub(super) fn open(dialect: Dialect, target: &Target) -> Result<Self> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(RUNTIME_THREADS).thread_name(format!("engram-{}", dialect.backend()));
        let runtime = runtime(dialect, builder)?;
        let connect = async {
            let pool = connect(dialect, target).await?;
            let mut connection = pool.acquire().await.map_err(|error| database_error(dialect, error))?;
            migrate::apply(&mut connection, dialect).await?;
            Ok::<_, Error>(pool)
        };
        let pool = off_runtime(dialect, || runtime.block_on(connect))??;
        Ok(Self {
            pool: Some(pool),
            runtime: Some(runtime),
            dialect,
            query_timeout: target.options.query_timeout,
            writer: Mutex::new(()),
        })
    }

    /// Runs `work` with the pool and a [`Wait`] for the store call's query timeout, off the
    /// caller's runtime and inside the store's: connections go back to their pool by a task
    /// spawned on it when dropped.
    fn call<T: Send>(&self, work: impl FnOnce(&AnyPool, Wait<'_>) -> Result<T> + Send) -> Result<T> {
        let (Some(pool), Some(runtime)) = (&self.pool, &self.runtime) else {
            return Err(Error::Unavailable { backend: self.dialect.backend(), detail: "the store is closed".into() });
        };
        let (dialect, deadline) = (self.dialect, Instant::now() + self.query_timeout);
        off_runtime(dialect, || {
            let _entered = runtime.enter();
            work(pool, Wait { runtime, dialect, deadline })
        })?
    }

    /// Runs `work` in a transaction on a pooled connection, within the store call's query
    /// timeout. Committed when `work` returns `Ok`, rolled back otherwise. `begin` opens it:
    /// a read's snapshot; `BEGIN`, at the session's isolation level (read committed), for a write.
    fn in_transaction<T: Send>(
        &self,
        begin: &'static str,
        work: impl FnOnce(&mut dyn sql::Connection) -> Result<T> + Send,
    ) -> Result<T> {
        self.call(|pool, wait| {
            let mut open = wait.on(pool.begin_with(AssertSqlSafe(begin)))?;
            let mut connection = ServerConnection { connection: &mut open, wait };
            match work(&mut connection) {
                Ok(value) => {
                    wait.on(open.commit())?;
                    Ok(value)
                }
                Err(error) => {
                    // Rolled back now rather than when the connection is next used, so its
                    // locks go before a retry. A failed rollback means a broken connection,
                    // which the pool discards (a transaction dropped unfinished is rolled back
                    // by sqlx); the write's own error is the one to report.
                    drop(wait.on(open.rollback()));
                    Err(error)
                }
            }
        })
    }

    /// Rewrites one table of [`TABLES`](crate::tables::TABLES), outside any transaction:
    /// `VACUUM` refuses to run in one, and MySQL's `ALTER TABLE` commits implicitly.
    fn rewrite_table(&self, table: &str) -> Result<()> {
        self.call(|pool, wait| {
            let mut pooled = wait.on(pool.acquire())?;
            wait.on(pooled.execute(AssertSqlSafe(wait.dialect.rewrite_table(table)))).map(drop)
        })
    }
}

impl sql::Database for Database {
    /// A read-only repeatable-read transaction: every statement of `work` sees one snapshot.
    fn read<T: Send>(&self, work: impl FnOnce(&mut dyn sql::Connection) -> Result<T> + Send) -> Result<T> {
        self.in_transaction(self.dialect.begin_snapshot(), work)
    }

    fn write<T: Send>(
        &self,
        retry: bool,
        mut work: impl FnMut(&mut dyn sql::Connection) -> Result<T> + Send,
    ) -> Result<T> {
        let _writer = self.writer.lock().map_err(|_| Error::storage(self.dialect.backend(), "writer lock poisoned"))?;
        let mut attempt = 1;
        loop {
            let written = self.in_transaction("BEGIN", &mut work);
            match written {
                Err(error) if attempt < ATTEMPTS && (aborted(&error) || retry && lost_race(&error)) => {
                    attempt += 1;
                    back_off(attempt);
                }
                done => break done,
            }
        }
    }

    fn rewrite_tables(&self, tables: &BTreeSet<String>) -> Result<BTreeSet<String>> {
        let mut rewritten = BTreeSet::new();
        // One call per table: each rewrite gets the whole query timeout.
        for table in crate::tables::known_tables("tables", tables)? {
            self.rewrite_table(table)?;
            rewritten.insert(table.to_string());
        }
        Ok(rewritten)
    }
}

/// Before attempt `attempt` of a write: a random pause of up to 2^`attempt` ms (under 0.3 s in
/// all). Writers that keep colliding on one hot key, through several Galera nodes above all,
/// would otherwise run again in lockstep and collide again.
fn back_off(attempt: u32) {
    let longest = Duration::from_millis(1 << attempt.min(8));
    let random = RandomState::new().build_hasher().finish();
    std::thread::sleep(longest * u32::try_from(random % 1024).unwrap_or(0) / 1024);
}

/// A runtime from `builder` with IO and timers on, sqlx's drivers installed (once per process).
fn runtime(dialect: Dialect, mut builder: tokio::runtime::Builder) -> Result<Runtime> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    builder
        .enable_all()
        .build()
        .map_err(|error| Error::storage(dialect.backend(), format!("cannot start the runtime: {error}")))
}

/// Runs `work` on this thread, or, on a thread that already runs a tokio runtime (an async
/// caller, Python's asyncio bridge), on a scoped thread: `Runtime::block_on` panics there.
fn off_runtime<T: Send>(dialect: Dialect, work: impl FnOnce() -> T + Send) -> Result<T> {
    if Handle::try_current().is_err() {
        return Ok(work());
    }
    std::thread::scope(|scope| scope.spawn(work).join())
        .map_err(|_| Error::storage(dialect.backend(), "a database call panicked"))
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Dropping pooled connections spawns their close on the runtime: enter it first.
            {
                let _entered = runtime.enter();
                self.pool.take();
            }
            // Unlike a plain drop, this never blocks, so it is safe inside an async context.
            runtime.shutdown_background();
        }
    }
}

/// Opens the pool on the target database, creating it first when the server says it does not
/// exist.
async fn connect(dialect: Dialect, target: &Target) -> Result<AnyPool> {
    let url = target.url(Some(&target.database));
    match pool_options(dialect, target).connect(&url).await {
        Ok(pool) => Ok(pool),
        Err(error) if is_missing_database(&error) => {
            create_database(dialect, target).await?;
            pool_options(dialect, target).connect(&url).await.map_err(|error| database_error(dialect, error))
        }
        Err(error) => Err(database_error(dialect, error)),
    }
}

fn pool_options(dialect: Dialect, target: &Target) -> AnyPoolOptions {
    let options = &target.options;
    AnyPoolOptions::new()
        .max_connections(options.max_connections)
        .min_connections(0)
        .acquire_timeout(options.connect_timeout)
        .idle_timeout(Duration::from_secs(300))
        // A connection that broke while the server was away is found and replaced here, so the
        // same store works again once the server is back.
        .test_before_acquire(true)
        .after_connect(move |connection, _| Box::pin(async move { configure(connection, dialect).await }))
}

/// Session settings: MySQL reads committed rows like Postgres does (its default, REPEATABLE
/// READ, takes gap locks that make concurrent index upserts deadlock).
///
/// On a Galera cluster (`wsrep_on`) a node applies the others' writes asynchronously, so a
/// read could miss a write another node has already acknowledged (a packet built through node
/// 2 without the event just appended through node 1). Causal reads close that:
/// `wsrep_sync_wait` = 1 (READ) makes `BEGIN`, `START TRANSACTION` and `SELECT` wait until the
/// node has applied every write the cluster committed before them. Every engram call runs in a
/// transaction opened by one of those, so READ covers every read, and a read-check-write (the
/// active fact of a key) sees the other nodes' writes rather than losing certification and
/// running again; the UPDATE and INSERT bits would only wait again.
async fn configure(connection: &mut AnyConnection, dialect: Dialect) -> sqlx::Result<()> {
    if dialect == Dialect::MySql {
        connection.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED").await?;
        if runs_galera(connection).await? {
            connection.execute("SET SESSION wsrep_sync_wait = 1").await?;
        }
    }
    Ok(())
}

/// Whether the MySQL server replicates through Galera. `SHOW VARIABLES` answers on servers
/// without the variable too (MySQL, MariaDB built without wsrep), with no row.
async fn runs_galera(connection: &mut AnyConnection) -> sqlx::Result<bool> {
    let row = connection.fetch_optional("SHOW VARIABLES LIKE 'wsrep_on'").await?;
    let value = row.map(|row| row.try_get::<String, _>(1)).transpose()?;
    Ok(value.is_some_and(|value| value.eq_ignore_ascii_case("ON")))
}

/// Postgres 3D000 (invalid_catalog_name); MySQL 1049 (unknown database, SQLSTATE 42000).
fn is_missing_database(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(database) = error else { return false };
    let code = database.code().unwrap_or_default();
    code == "3D000" || database.message().starts_with("Unknown database")
}

/// Runs `sql` on a connection to the server rather than to the target database (Postgres: the
/// `postgres` database; MySQL: none).
async fn on_server(dialect: Dialect, target: &Target, sql: String) -> sqlx::Result<()> {
    let url = match dialect {
        Dialect::Postgres => target.url(Some("postgres")),
        Dialect::MySql | Dialect::Sqlite => target.url(None),
    };
    let pool = pool_options(dialect, target).max_connections(1).connect(&url).await?;
    let done = pool.execute(sqlx::AssertSqlSafe(sql)).await;
    pool.close().await;
    done.map(drop)
}

/// Creates the target database. Another process creating it at the same moment is fine.
async fn create_database(dialect: Dialect, target: &Target) -> Result<()> {
    let sql = match dialect {
        Dialect::Postgres => format!("CREATE DATABASE \"{}\" ENCODING 'UTF8' TEMPLATE template0", target.database),
        Dialect::MySql | Dialect::Sqlite => {
            format!("CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", target.database)
        }
    };
    match on_server(dialect, target, sql).await {
        Ok(()) => {
            tracing::info!(backend = dialect.backend(), database = target.database.as_str(), "created database");
            Ok(())
        }
        // Another process won the race: 42P04 duplicate_database, or 23505 on
        // pg_database_datname_index when both passed the existence check at once.
        Err(sqlx::Error::Database(error)) if matches!(error.code().as_deref(), Some("42P04" | "23505")) => Ok(()),
        Err(error) => Err(database_error(dialect, error)),
    }
}

/// Drops the target database if it exists (Postgres: ending its other sessions first).
pub(super) fn drop_database(dialect: Dialect, target: &Target) -> Result<()> {
    let runtime = runtime(dialect, tokio::runtime::Builder::new_current_thread())?;
    let sql = match dialect {
        Dialect::Postgres => format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", target.database),
        Dialect::MySql | Dialect::Sqlite => format!("DROP DATABASE IF EXISTS `{}`", target.database),
    };
    let dropped = off_runtime(dialect, || runtime.block_on(on_server(dialect, target, sql)));
    // Never blocks, so safe inside an async context, unlike dropping the runtime.
    runtime.shutdown_background();
    dropped?.map_err(|error| database_error(dialect, error))
}
