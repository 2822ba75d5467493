//! The items' lexical index as backends read and write it: postings of terms under a namespace
//! prefix, and the totals a write changes.

use std::collections::BTreeMap;

use super::rows::ItemKey;

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

/// Per (tenant, joined namespace), the change of indexed items and their summed length a write
/// makes: backends add it to `item_totals` once per namespace.
#[derive(Debug, Default)]
pub struct TotalsChanges {
    pub changes: BTreeMap<(String, String), (i64, i64)>,
}

impl TotalsChanges {
    /// Counts an item's indexed text of `length` terms in (`sign` 1) or out (`sign` -1).
    pub(crate) fn count(&mut self, key: &ItemKey, sign: i64, length: u32) {
        let entry = self.changes.entry((key.tenant_id.clone(), key.namespace.clone())).or_default();
        entry.0 += sign;
        entry.1 += sign * i64::from(length);
    }
}
