//! `InMemoryStore`: the reference backend, kept in process memory behind one lock.

mod items;
mod maintenance;
mod postings;
mod state;
mod store;
mod tables;
mod vectors;

pub use store::InMemoryStore;
