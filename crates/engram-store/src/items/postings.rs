//! The items' lexical index as backends read it: postings of terms under a namespace
//! prefix.

use std::collections::BTreeMap;

/// Most postings read per query term. A term found in more items under the prefix than this is
/// scored over the first this many in (namespace, key) order; such a term weighs little anyway.
pub const MAX_POSTINGS_PER_TERM: u32 = 10_000;

/// A read of the postings of some terms under a namespace prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPostingsRequest {
    pub tenant_id: String,
    /// The joined prefix (every namespace of the tenant when empty).
    pub namespace: String,
    pub terms: Vec<String>,
    pub per_term: u32,
}

/// One item's posting for a term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPosting {
    /// Joined.
    pub namespace: String,
    pub key: String,
    pub frequency: u32,
    /// Terms in the item's indexed text.
    pub length: u32,
}

/// What BM25 needs: per term its postings, and the indexed items and their summed length under
/// the prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemPostings {
    pub documents: u64,
    pub total_length: u64,
    pub terms: BTreeMap<String, Vec<ItemPosting>>,
}
