use std::path::Path;

use engram_types::{Limits, Receipt};
use rusqlite::{Connection, TransactionBehavior};

use super::connection::Connections;
use super::error::storage;
use super::statements::SqliteConnection;
use super::{explain, integrity, postings};
use crate::error::{Error, Result};
use crate::open::Synchronous;
use crate::record::{FetchRequest, PostingsRequest, VectorRequest};
use crate::sql::{self, Database, SqlStore};

/// A durable store in one SQLite file (WAL, one writer and a pool of readers), or in memory.
/// Behaves exactly like [`InMemoryStore`](crate::InMemoryStore): same records, same order,
/// same errors, same postings.
#[derive(Debug)]
pub struct SqliteStore {
    connections: Connections,
    limits: Limits,
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path`, creating missing parent directories,
    /// and applies pending migrations. Commits are durable across process crashes
    /// (`synchronous = NORMAL` in WAL mode); see [`SqliteStore::with_synchronous_full`].
    pub fn new(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self { connections: Connections::open_file(path.as_ref())?, limits: Limits::default() })
    }

    /// [`Self::new`], checkpointing the WAL at `bounds` (the tests' small ones).
    #[cfg(test)]
    pub(super) fn with_wal_bounds(path: &Path, bounds: super::checkpoint::WalBounds) -> Result<Self> {
        Ok(Self { connections: Connections::open_file_with(path, bounds)?, limits: Limits::default() })
    }

    /// Checkpoints the checkpointer thread has completed.
    #[cfg(test)]
    pub(super) fn background_checkpoints(&self) -> u64 {
        self.connections.background_checkpoints()
    }

    /// A private in-memory database, gone when the store is dropped. One connection serves
    /// reads and writes.
    pub fn in_memory() -> Result<Self> {
        Ok(Self { connections: Connections::open_memory()?, limits: Limits::default() })
    }

    /// The same store enforcing `limits` on writes.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Fsyncs every commit (`synchronous = FULL`): acknowledged writes also survive power
    /// loss, at the cost of one fsync per transaction.
    pub fn with_synchronous_full(self) -> Result<Self> {
        self.connections.set_synchronous_full()?;
        Ok(self)
    }

    /// When this store's commits reach the disk, as SQLite reports it.
    pub fn synchronous(&self) -> Result<Synchronous> {
        match self.connections.synchronous()? {
            1 => Ok(Synchronous::Normal),
            2 | 3 => Ok(Synchronous::Full),
            other => Err(Error::storage(super::error::BACKEND, format!("unexpected synchronous level {other}"))),
        }
    }

    /// The `EXPLAIN QUERY PLAN` lines of every statement [`Store::fetch`](crate::Store::fetch)
    /// runs for `request`.
    pub fn explain_fetch(&self, request: &FetchRequest) -> Result<Vec<String>> {
        explain::fetch(&*self.connections.reader()?, request)
    }

    /// The `EXPLAIN QUERY PLAN` lines of every statement
    /// [`Store::fetch_sequences`](crate::Store::fetch_sequences) runs for a newest-first or
    /// most-important-first `request`.
    pub fn explain_fetch_sequences(&self, request: &FetchRequest) -> Result<Vec<String>> {
        explain::fetch_sequences(&*self.connections.reader()?, request)
    }

    /// The `EXPLAIN QUERY PLAN` lines of the statements [`Store::postings`](crate::Store::postings)
    /// runs for `request`.
    pub fn explain_postings(&self, request: &PostingsRequest) -> Result<Vec<String>> {
        explain::postings(&*self.connections.reader()?, request)
    }

    /// The `EXPLAIN QUERY PLAN` lines of the range [`Store::vectors`](crate::Store::vectors)
    /// reads per space.
    pub fn explain_vectors(&self, request: &VectorRequest) -> Result<Vec<String>> {
        explain::vectors(&*self.connections.reader()?, request)
    }
}

impl SqlStore for SqliteStore {
    type Database = Connections;

    fn database(&self) -> &Connections {
        &self.connections
    }

    fn store_limits(&self) -> &Limits {
        &self.limits
    }
}

impl Database for Connections {
    /// One `BEGIN IMMEDIATE` transaction on the writer. SQLite has one writer at a time, so a
    /// write never loses a race: `retry` has nothing to do.
    fn write<T: Send>(
        &self,
        _retry: bool,
        mut work: impl FnMut(&mut dyn sql::Connection) -> Result<T> + Send,
    ) -> Result<T> {
        self.write_transaction(|connection| work(&mut SqliteConnection(connection)))
    }

    /// [`Self::write`] for a deletion, so that it leaves no readable copy of what it removed:
    /// the connection zeroes deleted content in the pages it writes and frees (`secure_delete`);
    /// each postings table the receipt names is rewritten without the deleted documents (FTS5
    /// only marks a contentless document deleted, its tokens stay in the segment until a merge
    /// rewrites it); then the WAL is checkpointed into the file and truncated, so no older frame
    /// keeps a copy. The receipt's `erased` says which of these happened.
    fn erase(&self, mut work: impl FnMut(&mut dyn sql::Connection) -> Result<Receipt> + Send) -> Result<Receipt> {
        let mut receipt = self.write_transaction(|connection| {
            let mut receipt = work(&mut SqliteConnection(connection))?;
            postings::rewrite_without_deleted(connection, &mut receipt)?;
            Ok(receipt)
        })?;
        if receipt.total() == 0 {
            return Ok(receipt);
        }
        receipt.mark_erased("pages");
        if self.checkpoint_truncate()? {
            receipt.mark_erased("wal");
        } else {
            tracing::warn!("a reader held the WAL: its frames of the deleted content go at the next checkpoint");
        }
        Ok(receipt)
    }

    /// A reader inside one read transaction: every statement sees one snapshot.
    fn read<T: Send>(&self, mut work: impl FnMut(&mut dyn sql::Connection) -> Result<T> + Send) -> Result<T> {
        let mut connection = self.reader()?;
        let transaction = connection.transaction().map_err(storage)?;
        let value = work(&mut SqliteConnection(&transaction))?;
        transaction.commit().map_err(storage)?;
        Ok(value)
    }

    fn check_integrity(&self) -> Result<Vec<String>> {
        // The FTS5 check is an INSERT command: it runs on the writer, and writes nothing.
        self.write_transaction(integrity::check)
    }
}

impl Connections {
    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the writer: committed when it
    /// returns `Ok`, rolled back otherwise.
    fn write_transaction<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut connection = self.writer()?;
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(storage)?;
        let value = work(&transaction)?;
        transaction.commit().map_err(storage)?;
        self.after_commit(&connection);
        Ok(value)
    }
}
