//! `InMemoryStore`: the reference backend, kept in process memory behind one lock.

mod postings;
mod store;
mod tables;

pub use store::InMemoryStore;
