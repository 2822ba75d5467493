//! The engine: every operation of agent memory written once ([`StoreExt`]) over the narrow
//! [`Store`](crate::Store) a backend implements.

mod facts;
mod item_search;
mod item_writes;
mod items;
mod maintenance;
mod operations;
mod reads;
mod records;
mod run;
mod states;

pub use items::Items;
pub use operations::StoreExt;
pub(crate) use reads::{window_events, window_request};
pub(crate) use records::first_conflict;
pub(crate) use run::read;
