//! Items (namespaced documents beside agent memory): what a backend stores and reads of them. The
//! operations over them (`Items`) are the engine's (`engine/items.rs`).

mod postings;
mod rows;
mod scan;

pub use postings::{ItemPosting, ItemPostings, ItemPostingsRequest, MAX_POSTINGS_PER_TERM};
pub use rows::{ItemKey, ItemRow, ItemRows, TotalsChanges};
pub(crate) use scan::under_prefix;
pub use scan::{IndexedItem, ItemScan, prefix_range};
