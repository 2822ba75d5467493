//! A bulk append's events prepared on worker threads and handed over chunk by chunk, in batch
//! order, so that storing the first chunks overlaps preparing the rest.
//!
//! Preparing an event (validation, token counts, index terms) costs about as much as storing
//! it. Preparing the whole batch first left the write waiting, and storing it left the other
//! cores idle; now the write takes each chunk as it is ready, and helps prepare while the
//! chunk it needs next is not. The result, and the error (that of the lowest index), are
//! those of preparing one by one.

use std::sync::{Condvar, Mutex, MutexGuard};

use engram_types::{Event, EventInput, Limits, Timestamp};

use crate::error::{Error, Result};
use crate::prepare::{self, Prepared};

/// Events per chunk: small enough that the write starts early, large enough that handing a
/// chunk over costs nothing next to preparing it (and a server writes a chunk in a round trip).
pub(crate) const CHUNK_EVENTS: usize = 256;

/// Batches shorter than this are prepared on the calling thread alone.
const PARALLEL_MIN: usize = 128;

/// Most threads preparing at once, the caller's included.
const MOST_THREADS: usize = 8;

/// The chunks of one batch: those still to prepare, and those prepared, by position.
pub(crate) struct Preparation<'limits> {
    now: Timestamp,
    limits: &'limits Limits,
    chunks: Mutex<Chunks>,
    /// How many chunks the batch has (fixed when it is split).
    chunk_count: usize,
    /// Signalled whenever a chunk is prepared.
    prepared: Condvar,
}

/// What became of each chunk, by position.
struct Chunks {
    states: Vec<ChunkState>,
    /// The first chunk that may still be waiting (chunks are taken in order).
    next_waiting: usize,
}

enum ChunkState {
    Waiting(Vec<EventInput>),
    Preparing,
    Prepared(Result<Vec<Prepared<Event>>>),
    /// Given to the write.
    Handed,
}

impl<'limits> Preparation<'limits> {
    /// Checks the batch size, then splits it into chunks.
    fn new(events: Vec<EventInput>, now: Timestamp, limits: &'limits Limits) -> Result<Self> {
        if events.len() > limits.max_batch {
            return Err(Error::invalid(
                "events",
                format!("has {} events, the limit is {}", events.len(), limits.max_batch),
            ));
        }
        let mut states = Vec::with_capacity(events.len().div_ceil(CHUNK_EVENTS));
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            states.push(ChunkState::Waiting(events.by_ref().take(CHUNK_EVENTS).collect()));
        }
        let chunk_count = states.len();
        let chunks = Mutex::new(Chunks { states, next_waiting: 0 });
        Ok(Self { now, limits, chunks, chunk_count, prepared: Condvar::new() })
    }

    pub(crate) fn chunk_count(&self) -> usize {
        self.chunk_count
    }

    fn lock(&self) -> Result<MutexGuard<'_, Chunks>> {
        self.chunks.lock().map_err(|_| preparation_failed())
    }

    /// Prepares the next waiting chunk; `false` when none was waiting.
    fn prepare_next(&self) -> Result<bool> {
        let (position, inputs) = {
            let mut chunks = self.lock()?;
            let position = chunks.next_waiting;
            let Some(state) = chunks.states.get_mut(position) else {
                return Ok(false);
            };
            let ChunkState::Waiting(inputs) = std::mem::replace(state, ChunkState::Preparing) else {
                return Err(Error::storage("engram", format!("chunk {position} of the batch was taken twice")));
            };
            chunks.next_waiting += 1;
            (position, inputs)
        };
        let first_index = position * CHUNK_EVENTS;
        let prepare_all = || {
            inputs
                .into_iter()
                .enumerate()
                .map(|(offset, input)| {
                    prepare::event(input, self.now, self.limits)
                        .map_err(|error| error.within_batch(first_index + offset))
                })
                .collect::<Result<Vec<_>>>()
        };
        // A panic would leave the chunk taken and never done: the write would wait forever.
        let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(prepare_all))
            .unwrap_or_else(|_| Err(preparation_failed()));
        if let Some(state) = self.lock()?.states.get_mut(position) {
            *state = ChunkState::Prepared(prepared);
        }
        self.prepared.notify_all();
        Ok(true)
    }

    /// Prepares chunks until none is waiting (a worker's whole job).
    fn work(&self) {
        while let Ok(true) = self.prepare_next() {}
    }

    /// Chunk `position`, prepared; while it is not ready, this thread prepares waiting chunks
    /// (or waits, when every chunk is taken).
    pub(crate) fn take(&self, position: usize) -> Result<Vec<Prepared<Event>>> {
        loop {
            let mut chunks = self.lock()?;
            let Some(state) = chunks.states.get_mut(position) else {
                return Err(Error::storage("engram", format!("no chunk {position} in the batch")));
            };
            match std::mem::replace(state, ChunkState::Handed) {
                ChunkState::Prepared(prepared) => return prepared,
                ChunkState::Handed => {
                    return Err(Error::storage("engram", format!("chunk {position} of the batch was handed twice")));
                }
                // Not ready: prepare the next waiting chunk meanwhile, or wait for a worker.
                waiting_or_preparing => *state = waiting_or_preparing,
            }
            if chunks.next_waiting < chunks.states.len() {
                drop(chunks);
                self.prepare_next()?;
            } else {
                let _woken = self.prepared.wait(chunks).map_err(|_| preparation_failed())?;
            }
        }
    }

    /// Every chunk from `position` on, prepared; the first error among them (the lowest index).
    pub(crate) fn take_from(&self, position: usize) -> Result<Vec<Prepared<Event>>> {
        let mut all = Vec::new();
        for position in position..self.chunk_count() {
            all.extend(self.take(position)?);
        }
        Ok(all)
    }
}

fn preparation_failed() -> Error {
    Error::storage("engram", "an event preparation thread panicked")
}

/// Runs `consume` with the batch's preparation while worker threads prepare its chunks (one
/// fewer than the machine's cores, since the caller helps). Batch size errors come first.
pub(crate) fn prepare_events_while<T>(
    events: Vec<EventInput>,
    now: Timestamp,
    limits: &Limits,
    consume: impl FnOnce(&Preparation<'_>) -> Result<T>,
) -> Result<T> {
    let workers = if events.len() < PARALLEL_MIN {
        0
    } else {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        cores.min(MOST_THREADS).saturating_sub(1).min(events.len().div_ceil(CHUNK_EVENTS))
    };
    let preparation = Preparation::new(events, now, limits)?;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| preparation.work());
        }
        consume(&preparation)
    })
}

/// Every event of the batch prepared, in order (the write starts after).
pub(crate) fn prepare_events(events: Vec<EventInput>, now: Timestamp, limits: &Limits) -> Result<Vec<Prepared<Event>>> {
    prepare_events_while(events, now, limits, |preparation| preparation.take_from(0))
}
