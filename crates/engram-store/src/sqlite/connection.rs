//! Opening the database: pragmas, one writer connection and a small pool of readers.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::checkpoint::{self, Checkpointer, WalBounds};
use super::error::{BACKEND, is_busy, poisoned, storage};
use super::migrate;
use crate::error::{Error, Result};

/// Readers a file database keeps open; reads beyond that wait for a free one.
const READERS: usize = 4;
/// How long a statement waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Page cache of the writer, in KiB (negative `cache_size`): the hot tails of the indexes
/// and the df table of active spaces stay in memory across bulk appends.
const WRITER_CACHE_KIB: i64 = 256 * 1024;
/// Page cache of each reader, in KiB.
const READER_CACHE_KIB: i64 = 32 * 1024;
/// Prepared statements kept per connection (every query engram runs fits).
const STATEMENT_CACHE: usize = 128;

/// The connections of one store. A file database has one writer and [`READERS`] readers (WAL
/// lets them read while the writer writes); an in-memory database is a single connection
/// that serves both, since separate connections would each see their own empty database.
#[derive(Debug)]
pub(crate) struct Connections {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Checkpoints a file database's WAL beside the writer (none in memory).
    checkpointer: Option<Checkpointer>,
}

impl Connections {
    pub(super) fn open_file(path: &Path) -> Result<Self> {
        Self::open_file_with(path, WalBounds::default())
    }

    /// [`Self::open_file`], checkpointing the WAL at `bounds`.
    pub(super) fn open_file_with(path: &Path, bounds: WalBounds) -> Result<Self> {
        // No file system names a file with NUL in it: bad input, not a storage failure.
        if path.as_os_str().as_encoded_bytes().contains(&0) {
            return Err(Error::invalid(
                "path",
                format!("{} holds a NUL character, which no file name can", path.display()),
            ));
        }
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| Error::Unavailable {
                backend: BACKEND,
                detail: format!("cannot create {}: {error}", parent.display()),
            })?;
        }
        let mut writer = Connection::open(path).map_err(storage)?;
        configure(&writer, WRITER_CACHE_KIB)?;
        // WAL must be switched on outside a transaction, before the migrations run.
        let mode: String = retry_while_busy(|| writer.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::storage(BACKEND, format!("journal_mode is {mode}, WAL could not be enabled")));
        }
        // NORMAL in WAL mode survives any process crash; FULL (see `set_synchronous_full`)
        // also survives power loss.
        writer.pragma_update(None, "synchronous", "NORMAL").map_err(storage)?;
        migrate::apply(&mut writer)?;
        checkpoint::watch_wal(&writer)?;
        let checkpointer = Some(Checkpointer::start(path, BUSY_TIMEOUT, bounds)?);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let readers = (0..READERS)
            .map(|_| {
                let reader = Connection::open_with_flags(path, flags).map_err(storage)?;
                configure(&reader, READER_CACHE_KIB)?;
                reader.pragma_update(None, "query_only", true).map_err(storage)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0), checkpointer })
    }

    pub(super) fn open_memory() -> Result<Self> {
        let mut connection = Connection::open_in_memory().map_err(storage)?;
        configure(&connection, WRITER_CACHE_KIB)?;
        migrate::apply(&mut connection)?;
        Ok(Self {
            writer: Mutex::new(connection),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            checkpointer: None,
        })
    }

    /// The writer. Every write runs in one `BEGIN IMMEDIATE` transaction on it.
    pub(super) fn writer(&self) -> Result<MutexGuard<'_, Connection>> {
        self.writer.lock().map_err(|_| poisoned())
    }

    /// The first free reader (the writer for an in-memory database); waits, in turn, when all
    /// are busy. First free, not round robin: a caller that reads one packet at a time keeps
    /// using one connection, whose page and statement caches stay warm in the CPU's caches.
    pub(super) fn reader(&self) -> Result<MutexGuard<'_, Connection>> {
        if self.readers.is_empty() {
            return self.writer();
        }
        for reader in &self.readers {
            match reader.try_lock() {
                Ok(guard) => return Ok(guard),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Poisoned(_)) => return Err(poisoned()),
            }
        }
        let turn = self.next_reader.fetch_add(1, Ordering::Relaxed);
        self.readers[turn % self.readers.len()].lock().map_err(|_| poisoned())
    }

    /// `synchronous = FULL` on the writer: every commit is fsynced. Only the writer commits.
    pub(super) fn set_synchronous_full(&self) -> Result<()> {
        self.writer()?.pragma_update(None, "synchronous", "FULL").map_err(storage)
    }

    /// Copies every WAL frame into the database file and truncates the WAL to zero bytes, so the
    /// frames that still held deleted content are gone. Waits for readers up to the busy
    /// timeout; returns whether the whole WAL was checkpointed (a reader that stays in its
    /// snapshot keeps the frames it may read, for the next checkpoint to finish).
    pub(super) fn checkpoint_truncate(&self) -> Result<bool> {
        let busy: i64 =
            self.writer()?.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0)).map_err(storage)?;
        Ok(busy == 0)
    }

    /// After a commit on `writer`: a checkpoint when the WAL has grown (see `checkpoint.rs`).
    /// The commit stands whatever happens here, so a failed checkpoint is only logged.
    pub(super) fn after_commit(&self, writer: &Connection) {
        if let Some(checkpointer) = &self.checkpointer
            && let Err(error) = checkpointer.after_commit(writer)
        {
            tracing::warn!(%error, "a WAL checkpoint after a commit failed");
        }
    }

    /// Checkpoints the checkpointer thread has completed (0 in memory).
    #[cfg(test)]
    pub(super) fn background_checkpoints(&self) -> u64 {
        self.checkpointer.as_ref().map_or(0, Checkpointer::completed)
    }

    /// The writer's `synchronous` setting, as SQLite reports it (1 NORMAL, 2 FULL).
    pub(super) fn synchronous(&self) -> Result<i64> {
        self.writer()?.query_row("PRAGMA synchronous", [], |row| row.get(0)).map_err(storage)
    }
}

/// Runs `statement` again while another connection holds the lock it needs, for up to
/// [`BUSY_TIMEOUT`]. Switching the journal mode takes an exclusive lock without calling the
/// busy handler, so processes opening a new file at the same moment would otherwise fail at once.
fn retry_while_busy<T>(mut statement: impl FnMut() -> rusqlite::Result<T>) -> Result<T> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        match statement() {
            Err(error) if is_busy(&error) && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result.map_err(storage),
        }
    }
}

fn configure(connection: &Connection, cache_kib: i64) -> Result<()> {
    connection.busy_timeout(BUSY_TIMEOUT).map_err(storage)?;
    connection.pragma_update(None, "cache_size", -cache_kib).map_err(storage)?;
    connection.pragma_update(None, "temp_store", "MEMORY").map_err(storage)?;
    // What a write deletes is overwritten with zeros, in the pages it changes and in the pages it
    // frees: a deletion leaves no readable copy in the file (the WAL: see `checkpoint_truncate`).
    connection.pragma_update(None, "secure_delete", true).map_err(storage)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}
