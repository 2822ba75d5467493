//! Reads sent together: a [`ReadBatch`] of independent snapshot reads answered by
//! [`Snapshot::read_all`] in one go. The packet builder reads in three such phases (what each
//! source names, the records named, the context around the best), so a server answers a packet
//! in three statements; an embedded store runs the reads one by one, as it would anyway.

use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::maintenance::{ScanRequest, StateOwner, StoredState};
use crate::record::{FetchRequest, Fetched, Postings, PostingsRequest, VectorRequest, Vectors};
use crate::store::Snapshot;

/// One read of a batch: the [`Snapshot`] method it stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// [`Snapshot::stored_state`].
    State(StateOwner),
    /// [`Snapshot::fetch`].
    Fetch(FetchRequest),
    /// [`Snapshot::fetch_sequences`].
    Sequences(FetchRequest),
    /// [`Snapshot::postings`].
    Postings(PostingsRequest),
    /// [`Snapshot::vectors`].
    Vectors(VectorRequest),
    /// [`Snapshot::scan`].
    Scan(ScanRequest),
}

/// What a [`Read`] returned, in the same order as the reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Boxed: a state is large, and most answers are lists.
    State(Option<Box<StoredState>>),
    Records(Vec<Fetched>),
    Sequences(Vec<i64>),
    Postings(Postings),
    Vectors(Vectors),
}

/// Runs each read on its own, in order: what a store without a cheaper way does.
pub fn read_each<S: Snapshot + ?Sized>(snapshot: &mut S, reads: Vec<Read>) -> Result<Vec<Answer>> {
    reads
        .into_iter()
        .map(|read| {
            Ok(match read {
                Read::State(owner) => Answer::State(snapshot.stored_state(&owner)?.map(Box::new)),
                Read::Fetch(request) => Answer::Records(snapshot.fetch(&request)?),
                Read::Sequences(request) => Answer::Sequences(snapshot.fetch_sequences(&request)?),
                Read::Postings(request) => Answer::Postings(snapshot.postings(&request)?),
                Read::Vectors(request) => Answer::Vectors(snapshot.vectors(&request)?),
                Read::Scan(request) => Answer::Records(snapshot.scan(&request)?),
            })
        })
        .collect()
}

/// Names a batch whose answers do not fit its reads (a store's bug) in the error.
const BATCH: &str = "read batch";

/// Reads gathered for one [`Snapshot::read_all`]; each added read returns the [`Ticket`] that
/// takes its answer from the [`Answers`].
#[derive(Debug, Default)]
pub(crate) struct ReadBatch {
    reads: Vec<Read>,
}

/// Where a read's answer will be, and what it is.
#[derive(Debug)]
pub(crate) struct Ticket<T> {
    index: usize,
    answer: PhantomData<fn() -> T>,
}

// Not derived: a derive would ask the answer to be `Copy` too.
impl<T> Clone for Ticket<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Ticket<T> {}

impl ReadBatch {
    fn add<T>(&mut self, read: Read) -> Ticket<T> {
        self.reads.push(read);
        Ticket { index: self.reads.len() - 1, answer: PhantomData }
    }

    pub(crate) fn state(&mut self, owner: StateOwner) -> Ticket<Option<StoredState>> {
        self.add(Read::State(owner))
    }

    pub(crate) fn fetch(&mut self, request: FetchRequest) -> Ticket<Vec<Fetched>> {
        self.add(Read::Fetch(request))
    }

    pub(crate) fn sequences(&mut self, request: FetchRequest) -> Ticket<Vec<i64>> {
        self.add(Read::Sequences(request))
    }

    pub(crate) fn postings(&mut self, request: PostingsRequest) -> Ticket<Postings> {
        self.add(Read::Postings(request))
    }

    pub(crate) fn vectors(&mut self, request: VectorRequest) -> Ticket<Vectors> {
        self.add(Read::Vectors(request))
    }

    pub(crate) fn scan(&mut self, request: ScanRequest) -> Ticket<Vec<Fetched>> {
        self.add(Read::Scan(request))
    }

    /// Runs the batch on `snapshot`.
    pub(crate) fn run(self, snapshot: &mut dyn Snapshot) -> Result<Answers> {
        let count = self.reads.len();
        let answers = if count == 0 { Vec::new() } else { snapshot.read_all(self.reads)? };
        if answers.len() != count {
            return Err(Error::storage(BATCH, format!("{count} reads got {} answers", answers.len())));
        }
        Ok(Answers { answers: answers.into_iter().map(Some).collect() })
    }
}

/// The answers of a batch, each taken once by its ticket.
#[derive(Debug, Default)]
pub(crate) struct Answers {
    answers: Vec<Option<Answer>>,
}

impl Answers {
    pub(crate) fn take<T: FromAnswer>(&mut self, ticket: Ticket<T>) -> Result<T> {
        self.answers
            .get_mut(ticket.index)
            .and_then(Option::take)
            .and_then(T::from_answer)
            .ok_or_else(|| Error::storage(BATCH, format!("read {} has no answer of its kind", ticket.index)))
    }
}

/// An answer's content, by the read's kind.
pub(crate) trait FromAnswer: Sized {
    fn from_answer(answer: Answer) -> Option<Self>;
}

macro_rules! from_answer {
    ($($type:ty => $variant:ident),* $(,)?) => {
        $(impl FromAnswer for $type {
            fn from_answer(answer: Answer) -> Option<Self> {
                match answer {
                    Answer::$variant(value) => Some(value),
                    _ => None,
                }
            }
        })*
    };
}

impl FromAnswer for Option<StoredState> {
    fn from_answer(answer: Answer) -> Option<Self> {
        match answer {
            Answer::State(state) => Some(state.map(|state| *state)),
            _ => None,
        }
    }
}

from_answer! {
    Vec<Fetched> => Records,
    Vec<i64> => Sequences,
    Postings => Postings,
    Vectors => Vectors,
}
