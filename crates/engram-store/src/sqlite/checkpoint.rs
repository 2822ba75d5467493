//! WAL checkpoints off the writer's path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the
//! committing thread: a bulk append paid for copying the whole WAL back into the database
//! (about a tenth of its time). Here the writer only notes, after each commit, how many frames
//! the WAL holds (SQLite's WAL hook); past [`WalBounds::background`] it wakes a checkpointer
//! thread with its own connection, which copies the frames back while the writer goes on, or
//! while the caller prepares its next write (WAL mode lets a checkpoint run beside a write; the
//! next write transaction after a complete checkpoint starts the WAL over). A writer that
//! commits faster than the checkpointer can copy, so that the WAL reaches
//! [`WalBounds::writer`], checkpoints itself between its transactions, as SQLite would: the
//! WAL stays bounded whatever the load.

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::hooks::Wal;
use rusqlite::{Connection, OpenFlags};

use super::error::{BACKEND, storage};
use crate::error::{Error, Result};

/// WAL sizes, in frames (pages), at which a checkpoint runs.
#[derive(Debug, Clone, Copy)]
pub(super) struct WalBounds {
    /// The checkpointer is woken.
    pub background: i32,
    /// The writer checkpoints itself: the checkpointer has fallen behind.
    pub writer: i32,
}

impl Default for WalBounds {
    /// Larger than SQLite's 1000 frames, so that the index and df pages rewritten by every bulk
    /// commit are copied back once per checkpoint rather than once per commit (16384 pages x
    /// 4 KiB = 64 MiB).
    fn default() -> Self {
        Self { background: 16384, writer: 4 * 16384 }
    }
}

thread_local! {
    /// Frames in the WAL after the last commit on this thread, as the WAL hook reports them
    /// (the hook runs inside the commit, on the committing thread).
    static WAL_PAGES: Cell<i32> = const { Cell::new(0) };
}

fn note_wal_pages(_wal: &Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_PAGES.set(pages);
    Ok(())
}

/// Turns SQLite's automatic checkpoint off on `writer` and has its commits report the WAL's
/// size to [`Checkpointer::after_commit`] instead.
pub(super) fn watch_wal(writer: &Connection) -> Result<()> {
    writer.pragma_update(None, "wal_autocheckpoint", 0).map_err(storage)?;
    // Set after the pragma: `wal_autocheckpoint` installs a hook of its own.
    writer.wal_hook(Some(note_wal_pages));
    Ok(())
}

/// The checkpointer thread of one file database, stopped when dropped.
#[derive(Debug)]
pub(super) struct Checkpointer {
    bounds: WalBounds,
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Checkpoints the thread has completed.
    #[cfg_attr(not(test), allow(dead_code, reason = "the tests count the thread's checkpoints"))]
    completed: Arc<AtomicU64>,
}

impl Checkpointer {
    /// Starts the thread, with its own connection to the file at `path`.
    pub(super) fn start(path: &Path, busy_timeout: Duration, bounds: WalBounds) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags).map_err(storage)?;
        connection.busy_timeout(busy_timeout).map_err(storage)?;
        // One pending wake-up is enough: a checkpoint copies every frame there is when it starts.
        let (wake, woken) = sync_channel(1);
        let completed = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&completed);
        let thread = std::thread::Builder::new()
            .name("engram-sqlite-checkpoint".into())
            .spawn(move || checkpoint_when_woken(&connection, &woken, &counter))
            .map_err(|error| Error::storage(BACKEND, format!("cannot start the checkpointer: {error}")))?;
        Ok(Self { bounds, wake: Some(wake), thread: Some(thread), completed })
    }

    /// Checkpoints the thread has completed so far.
    #[cfg(test)]
    pub(super) fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// After a commit on `writer` (on this thread): wakes the checkpointer when the WAL has
    /// grown past the background bound, or checkpoints on the writer past the writer's.
    pub(super) fn after_commit(&self, writer: &Connection) -> Result<()> {
        let pages = WAL_PAGES.take();
        if pages >= self.bounds.writer {
            // PASSIVE: a checkpoint the thread is running already makes this one return at once.
            let _: (i64, i64, i64) = writer
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .map_err(storage)?;
        } else if pages >= self.bounds.background
            && let Some(wake) = &self.wake
            && let Err(TrySendError::Disconnected(())) = wake.try_send(())
        {
            // A full channel is a wake-up pending; a closed one, a thread gone: the writer then
            // checkpoints itself once the WAL reaches its own bound.
            tracing::warn!("the WAL checkpointer thread has stopped");
        }
        Ok(())
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop once its checkpoint, if any, is done.
        self.wake.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: a PASSIVE checkpoint at every wake-up, until the store closes the channel.
fn checkpoint_when_woken(connection: &Connection, woken: &Receiver<()>, completed: &AtomicU64) {
    while woken.recv().is_ok() {
        match connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get::<_, i64>(0)) {
            Ok(_) => {
                completed.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => tracing::warn!(
                error = %storage(error),
                "a background WAL checkpoint failed; the next commit past the bound retries"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use engram_types::{EventInput, EventKind, Scope};

    use super::WalBounds;
    use crate::StoreExt;
    use crate::sqlite::store::SqliteStore;

    /// Bytes of one WAL frame (a 4 KiB page and its 24-byte header).
    const FRAME_BYTES: u64 = 4096 + 24;

    fn batch(round: usize, events: usize) -> Vec<EventInput> {
        let scope = Scope {
            tenant_id: "tenant".into(),
            user_id: "user".into(),
            agent_id: "agent".into(),
            session_id: "session".into(),
            run_id: "run".into(),
        };
        (0..events)
            .map(|index| {
                let text = format!("round {round} turn {index} about the invoice migration and the lisbon budget");
                EventInput::new(scope.clone(), EventKind::Message, serde_json::json!({"role": "user", "text": text}))
            })
            .collect()
    }

    fn wal_bytes(path: &std::path::Path) -> u64 {
        std::fs::metadata(path.with_extension("db-wal")).map_or(0, |metadata| metadata.len())
    }

    #[test]
    fn the_thread_checkpoints_once_the_wal_passes_its_bound() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("memory.db");
        // The writer never checkpoints here: only the thread can.
        let store = SqliteStore::with_wal_bounds(&path, WalBounds { background: 16, writer: i32::MAX }).expect("open");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut round = 0;
        while store.background_checkpoints() == 0 {
            assert!(Instant::now() < deadline, "no background checkpoint after {round} writes");
            store.append_events(batch(round, 20)).expect("append");
            round += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The WAL's size after 40 writes of 20 events on a new store checkpointed at `bounds`.
    fn wal_after_writes(bounds: WalBounds) -> u64 {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("memory.db");
        let store = SqliteStore::with_wal_bounds(&path, bounds).expect("open");
        for round in 0..40 {
            store.append_events(batch(round, 20)).expect("append");
        }
        wal_bytes(&path)
    }

    #[test]
    fn the_writer_keeps_the_wal_bounded_when_the_thread_does_not() {
        // The thread is never woken: the writer's own bound holds the WAL, to that bound and
        // the write that crossed it (under 32 frames here).
        let bound = 64;
        let bounded = wal_after_writes(WalBounds { background: i32::MAX, writer: bound });
        let unchecked = wal_after_writes(WalBounds { background: i32::MAX, writer: i32::MAX });
        let bound_bytes = (u64::try_from(bound).unwrap_or(0) + 32) * FRAME_BYTES + 32;
        assert!(bounded <= bound_bytes, "wal {bounded} bytes, bound {bound_bytes}");
        assert!(unchecked > 3 * bounded, "unchecked wal {unchecked} bytes, bounded {bounded}");
    }
}
