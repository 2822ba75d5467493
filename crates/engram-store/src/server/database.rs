//! The store's tokio runtime and the calls on its current host's connection pool: how the
//! shared SQL code's synchronous reads and transactions run, and which of them run again on
//! another host after a failover.

use std::collections::BTreeSet;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, Once};
use std::time::Duration;

use sqlx::{AnyPool, AssertSqlSafe, Executor};
use tokio::runtime::{Handle, Runtime};
use tokio::time::Instant;

use super::connection::{ServerConnection, Wait};
use super::error::{aborted, database_error, lost_race};
use super::hosts::Hosts;
use super::options::Target;
use super::pool::on_server;
use crate::error::{Error, Result};
use crate::sql::{self, Dialect};

/// Threads of a store's runtime: they drive sockets and timers; the work itself runs on the
/// calling thread inside `block_on`.
const RUNTIME_THREADS: usize = 2;

/// The pool of the host the store works on, with the runtime it lives on. Both are `Option`
/// only so that `Drop` can release them in order: connections inside the runtime, then the
/// runtime without blocking.
#[derive(Debug)]
pub(crate) struct Database {
    hosts: Option<Hosts>,
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

/// What a transaction does: reads see one snapshot and change nothing; writes commit.
#[derive(Clone, Copy)]
enum Access {
    Read,
    Write,
}

/// A failed attempt of a store call, and whether running it again on another host cannot
/// apply it twice.
struct Failed {
    error: Error,
    /// A read, or a write that failed before its COMMIT was sent: the server never committed
    /// it, so it can run again. A write whose COMMIT was sent and not answered may have
    /// committed (and, with a synchronous standby, reached the new primary): it is not run
    /// again, and its caller gets `Unavailable`.
    repeatable: bool,
}

impl Database {
    /// Connects to the first usable host of the DSN, creating the database when it does not
    /// exist, and applies pending migrations.
    pub(super) fn open(dialect: Dialect, target: Target) -> Result<Self> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(RUNTIME_THREADS).thread_name(format!("engram-{}", dialect.backend()));
        let runtime = runtime(dialect, builder)?;
        let query_timeout = target.options.query_timeout;
        let hosts = off_runtime(dialect, || runtime.block_on(Hosts::open(dialect, target)))??;
        Ok(Self { hosts: Some(hosts), runtime: Some(runtime), dialect, query_timeout, writer: Mutex::new(()) })
    }

    /// Runs `attempt` with the current host's pool and a [`Wait`] for the store call's query
    /// timeout, off the caller's runtime and inside the store's: connections go back to their
    /// pool by a task spawned on it when dropped. When the attempt finds the server unavailable
    /// or read-only and the DSN names several hosts, the store moves to the first usable one;
    /// a [repeatable](Failed::repeatable) attempt then runs once more there, within the same
    /// deadline. Any other failure is the caller's.
    fn call<T: Send>(&self, mut attempt: impl FnMut(&AnyPool, Wait<'_>) -> Result<T, Failed> + Send) -> Result<T> {
        let (Some(hosts), Some(runtime)) = (&self.hosts, &self.runtime) else {
            return Err(Error::Unavailable { backend: self.dialect.backend(), detail: "the store is closed".into() });
        };
        let (dialect, deadline) = (self.dialect, Instant::now() + self.query_timeout);
        off_runtime(dialect, || {
            let _entered = runtime.enter();
            let wait = Wait { runtime, dialect, deadline };
            let current = hosts.current()?;
            let failed = match attempt(&current.pool, wait) {
                Ok(value) => return Ok(value),
                Err(failed @ Failed { error: Error::Unavailable { .. }, .. }) => failed,
                Err(failed) => return Err(failed.error),
            };
            match wait.until(hosts.replace(&current))? {
                Some(moved) if failed.repeatable => attempt(&moved.pool, wait).map_err(|again| again.error),
                _ => Err(failed.error),
            }
        })?
    }

    /// Runs `work` in a transaction on a connection of `pool`. Committed when `work` returns
    /// `Ok`, rolled back otherwise. A read is a read-only snapshot; a write opens with `BEGIN`,
    /// at the session's isolation level (read committed).
    fn in_transaction<T: Send>(
        &self,
        pool: &AnyPool,
        wait: Wait<'_>,
        access: Access,
        work: impl FnOnce(&mut dyn sql::Connection) -> Result<T> + Send,
    ) -> Result<T, Failed> {
        let (begin, read) = match access {
            Access::Read => (self.dialect.begin_snapshot(), true),
            Access::Write => ("BEGIN", false),
        };
        let before_commit = |error| Failed { error, repeatable: true };
        let mut open = wait.on(pool.begin_with(AssertSqlSafe(begin))).map_err(before_commit)?;
        let mut connection = ServerConnection { connection: &mut open, wait };
        match work(&mut connection) {
            Ok(value) => {
                wait.on(open.commit()).map_err(|error| Failed { error, repeatable: read })?;
                Ok(value)
            }
            Err(error) => {
                // Rolled back now rather than when the connection is next used, so its
                // locks go before a retry. A failed rollback means a broken connection,
                // which the pool discards (a transaction dropped unfinished is rolled back
                // by sqlx); the write's own error is the one to report.
                drop(wait.on(open.rollback()));
                Err(before_commit(error))
            }
        }
    }

    /// Rewrites one table of [`TABLES`](crate::tables::TABLES), outside any transaction:
    /// `VACUUM` refuses to run in one, and MySQL's `ALTER TABLE` commits implicitly. Rewriting
    /// a table again is harmless, so it may run again on another host.
    fn rewrite_table(&self, table: &str) -> Result<()> {
        self.call(|pool, wait| {
            let rewrite = || {
                let mut pooled = wait.on(pool.acquire())?;
                wait.on(pooled.execute(AssertSqlSafe(wait.dialect.rewrite_table(table)))).map(drop)
            };
            rewrite().map_err(|error| Failed { error, repeatable: true })
        })
    }
}

impl sql::Database for Database {
    /// A read-only repeatable-read transaction: every statement of `work` sees one snapshot.
    fn read<T: Send>(&self, mut work: impl FnMut(&mut dyn sql::Connection) -> Result<T> + Send) -> Result<T> {
        self.call(|pool, wait| self.in_transaction(pool, wait, Access::Read, &mut work))
    }

    fn write<T: Send>(
        &self,
        retry: bool,
        mut work: impl FnMut(&mut dyn sql::Connection) -> Result<T> + Send,
    ) -> Result<T> {
        let _writer = self.writer.lock().map_err(|_| Error::storage(self.dialect.backend(), "writer lock poisoned"))?;
        let mut attempt = 1;
        loop {
            let written = self.call(|pool, wait| self.in_transaction(pool, wait, Access::Write, &mut work));
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
                self.hosts.take();
            }
            // Unlike a plain drop, this never blocks, so it is safe inside an async context.
            runtime.shutdown_background();
        }
    }
}

/// Drops the target database if it exists (Postgres: ending its other sessions first), on the
/// first host of the DSN that takes the statement.
pub(super) fn drop_database(dialect: Dialect, target: &Target) -> Result<()> {
    let runtime = runtime(dialect, tokio::runtime::Builder::new_current_thread())?;
    let sql = match dialect {
        Dialect::Postgres => format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", target.database),
        Dialect::MySql | Dialect::Sqlite => format!("DROP DATABASE IF EXISTS `{}`", target.database),
    };
    let drop_on_hosts = async {
        let mut failure = None;
        for host in &target.hosts {
            match on_server(dialect, target, host, sql.clone()).await.map_err(|error| database_error(dialect, error)) {
                Ok(()) => return Ok(()),
                // A standby refuses (read-only) or is down: the next host may be the primary.
                Err(error @ Error::Unavailable { .. }) => failure = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(failure.unwrap_or_else(|| Error::invalid("dsn", "the host is missing")))
    };
    let dropped = off_runtime(dialect, || runtime.block_on(drop_on_hosts));
    // Never blocks, so safe inside an async context, unlike dropping the runtime.
    runtime.shutdown_background();
    dropped?
}
