//! The host a store works on. The DSN's hosts are tried in order, at open and again when the
//! current one fails: the first that answers (and takes writes, when the DSN asks for read-write,
//! the default with several hosts) gets the store's pool. So a store on
//! `postgres://user@primary,standby/db` follows a promoted standby without being reopened.

use std::sync::{Arc, RwLock};

use sqlx::AnyPool;

use super::error::database_error;
use super::migrate;
use super::options::Target;
use super::pool::{check_host, connect};
use crate::error::{Error, Result};
use crate::sql::Dialect;

/// The pool on one host of the DSN.
#[derive(Debug)]
pub(super) struct HostPool {
    pub pool: AnyPool,
    host: String,
}

/// The current [`HostPool`] and what is needed to find another.
#[derive(Debug)]
pub(super) struct Hosts {
    dialect: Dialect,
    target: Target,
    current: RwLock<Arc<HostPool>>,
    /// One search at a time: the calls that failed with it wait, then use what it found.
    searching: tokio::sync::Mutex<()>,
}

impl Hosts {
    /// Opens a pool on the first usable host, creating the database when missing, and applies
    /// pending migrations.
    pub(super) async fn open(dialect: Dialect, target: Target) -> Result<Self> {
        let Some(current) = first_usable(dialect, &target, None).await? else {
            return Err(Error::storage(dialect.backend(), "no host was opened"));
        };
        Ok(Self { dialect, target, current: RwLock::new(Arc::new(current)), searching: tokio::sync::Mutex::new(()) })
    }

    /// The pool calls run on now.
    pub(super) fn current(&self) -> Result<Arc<HostPool>> {
        let current = self.current.read().map_err(|_| Error::storage(self.dialect.backend(), "host lock poisoned"))?;
        Ok(Arc::clone(&current))
    }

    /// After a call on `failed` met an unavailable (or read-only) server: the pool of the first
    /// usable host of the DSN when it is another host, which calls use from now on. `Ok(None)`
    /// when the store stays where it is: a DSN of one host (its pool replaces broken
    /// connections by itself), or the same host answering again. `Unavailable` when no host is
    /// usable now; the next failing call searches again. Runs on the store's runtime (the caller
    /// bounds it by the call's deadline).
    pub(super) async fn replace(&self, failed: &Arc<HostPool>) -> Result<Option<Arc<HostPool>>> {
        if self.target.hosts.len() < 2 {
            return Ok(None);
        }
        let _searching = self.searching.lock().await;
        let current = self.current()?;
        if !Arc::ptr_eq(&current, failed) {
            // Another call already moved the store while this one waited.
            return Ok(Some(current));
        }
        let Some(found) = first_usable(self.dialect, &self.target, Some(&failed.host)).await? else {
            // The same host is usable: the failure was passing, and its pool replaces broken
            // connections itself.
            return Ok(None);
        };
        tracing::warn!(backend = self.dialect.backend(), from = failed.host, to = found.host, "moved to another host");
        let found = Arc::new(found);
        *self.current.write().map_err(|_| Error::storage(self.dialect.backend(), "host lock poisoned"))? =
            Arc::clone(&found);
        // Calls still on the old pool finish there (their connections are broken); it closes
        // once they are back, without holding this call up.
        let old = failed.pool.clone();
        tokio::spawn(async move { old.close().await });
        Ok(Some(found))
    }
}

/// The pool of the first host of the DSN that is usable, in the DSN's order, with the
/// migrations applied; `None` when that host is `current` (whose pool the store keeps).
/// `Unavailable` naming each host and why it was passed over when none is usable.
async fn first_usable(dialect: Dialect, target: &Target, current: Option<&str>) -> Result<Option<HostPool>> {
    let mut passed_over = Vec::new();
    for host in &target.hosts {
        let usable = async {
            if target.checks_hosts() {
                check_host(dialect, target, host).await?;
            }
            if current == Some(host.as_str()) { Ok(None) } else { open_host(dialect, target, host).await.map(Some) }
        };
        match usable.await {
            Ok(pool) => return Ok(pool.map(|pool| HostPool { pool, host: host.clone() })),
            Err(Error::Unavailable { detail, .. }) if target.hosts.len() > 1 => passed_over.push(detail),
            Err(error) => return Err(error),
        }
    }
    Err(Error::Unavailable {
        backend: dialect.backend(),
        detail: format!("no usable host: {}", passed_over.join("; ")),
    })
}

/// A pool on `host` (the database created when missing) with pending migrations applied.
async fn open_host(dialect: Dialect, target: &Target, host: &str) -> Result<AnyPool> {
    let pool = connect(dialect, target, host).await?;
    let migrated = async {
        let mut connection = pool.acquire().await.map_err(|error| database_error(dialect, error))?;
        migrate::apply(&mut connection, dialect).await
    };
    match migrated.await {
        Ok(()) => Ok(pool),
        Err(error) => {
            pool.close().await;
            Err(error)
        }
    }
}
