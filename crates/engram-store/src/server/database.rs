//! The store's tokio runtime and connection pool, and how the synchronous `Store` API runs
//! async sqlx work on them.

use std::future::Future;
use std::sync::Once;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, Executor};
use tokio::runtime::{Handle, Runtime};

use super::dialect::Dialect;
use super::error::database_error;
use super::migrate;
use super::options::Target;
use crate::error::{Error, Result};

/// Threads of a store's runtime: they drive sockets and timers; the work itself runs on the
/// calling thread inside `block_on`.
const RUNTIME_THREADS: usize = 2;

/// A connection pool with the runtime it lives on. Both are `Option` only so that `Drop` can
/// release them in order: connections inside the runtime, then the runtime without blocking.
#[derive(Debug)]
pub(super) struct Database {
    pool: Option<AnyPool>,
    runtime: Option<Runtime>,
    pub dialect: Dialect,
    query_timeout: Duration,
}

impl Database {
    /// Connects, creating the database when it does not exist, and applies pending migrations.
    pub(super) fn open(dialect: Dialect, target: &Target) -> Result<Self> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_THREADS)
            .thread_name(format!("engram-{}", dialect.backend()))
            .enable_all()
            .build()
            .map_err(|error| Error::storage(dialect.backend(), format!("cannot start the runtime: {error}")))?;
        let connect = async {
            let pool = connect(dialect, target).await?;
            let mut connection = pool.acquire().await.map_err(|error| database_error(dialect, error))?;
            migrate::apply(&mut connection, dialect).await?;
            Ok::<_, Error>(pool)
        };
        let pool = block_on(&runtime, dialect, connect)??;
        Ok(Self { pool: Some(pool), runtime: Some(runtime), dialect, query_timeout: target.options.query_timeout })
    }

    /// Runs one store call: `work` gets the pool; the whole call is bounded by the query timeout.
    pub(super) fn run<'a, T, F>(&'a self, work: impl FnOnce(&'a AnyPool) -> F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'a,
        T: Send,
    {
        let (Some(pool), Some(runtime)) = (&self.pool, &self.runtime) else {
            return Err(Error::Unavailable { backend: self.dialect.backend(), detail: "the store is closed".into() });
        };
        let (dialect, timeout) = (self.dialect, self.query_timeout);
        let future = work(pool);
        block_on(runtime, dialect, async move {
            tokio::time::timeout(timeout, future).await.unwrap_or_else(|_| {
                Err(Error::Unavailable {
                    backend: dialect.backend(),
                    detail: format!("no answer within the query timeout ({timeout:?})"),
                })
            })
        })?
    }
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

/// Drives `future` to completion on `runtime`. `Runtime::block_on` panics on a thread that
/// already runs a tokio runtime (an async caller, Python's asyncio bridge); there the future
/// runs on a scoped thread instead, which may borrow as the caller does.
fn block_on<F>(runtime: &Runtime, dialect: Dialect, future: F) -> Result<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    if Handle::try_current().is_err() {
        return Ok(runtime.block_on(future));
    }
    std::thread::scope(|scope| scope.spawn(|| runtime.block_on(future)).join())
        .map_err(|_| Error::storage(dialect.backend(), "a database call panicked"))
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
async fn configure(connection: &mut AnyConnection, dialect: Dialect) -> sqlx::Result<()> {
    let statements: &[&'static str] = match dialect {
        Dialect::Postgres => &[],
        Dialect::MySql => &["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"],
    };
    for statement in statements {
        connection.execute(*statement).await?;
    }
    Ok(())
}

/// Postgres 3D000 (invalid_catalog_name); MySQL 1049 (unknown database, SQLSTATE 42000).
fn is_missing_database(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(database) = error else { return false };
    let code = database.code().unwrap_or_default();
    code == "3D000" || database.message().starts_with("Unknown database")
}

/// Creates the target database from a server-level connection (Postgres: the `postgres`
/// database; MySQL: none). Another process creating it at the same moment is fine.
async fn create_database(dialect: Dialect, target: &Target) -> Result<()> {
    let (url, sql) = match dialect {
        Dialect::Postgres => (
            target.url(Some("postgres")),
            format!("CREATE DATABASE \"{}\" ENCODING 'UTF8' TEMPLATE template0", target.database),
        ),
        Dialect::MySql => (
            target.url(None),
            format!("CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", target.database),
        ),
    };
    let pool = pool_options(dialect, target)
        .max_connections(1)
        .connect(&url)
        .await
        .map_err(|error| database_error(dialect, error))?;
    let created = pool.execute(sqlx::AssertSqlSafe(sql)).await;
    pool.close().await;
    match created {
        Ok(_) => {
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
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::storage(dialect.backend(), format!("cannot start the runtime: {error}")))?;
    let (url, sql) = match dialect {
        Dialect::Postgres => {
            (target.url(Some("postgres")), format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", target.database))
        }
        Dialect::MySql => (target.url(None), format!("DROP DATABASE IF EXISTS `{}`", target.database)),
    };
    let dropped = block_on(&runtime, dialect, async {
        let pool = pool_options(dialect, target).max_connections(1).connect(&url).await?;
        let dropped = pool.execute(sqlx::AssertSqlSafe(sql)).await;
        pool.close().await;
        dropped
    });
    // Never blocks, so safe inside an async context, unlike dropping the runtime.
    runtime.shutdown_background();
    dropped?.map(|_| ()).map_err(|error| database_error(dialect, error))
}
