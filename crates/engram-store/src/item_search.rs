//! Lexical search over items and the listing of their namespaces, written once over the `Store`
//! primitives (`item_postings`, `scan_items`, `refresh_items`).
//!
//! An indexed item has one posting per distinct term of its indexed text, keyed
//! `(tenant, term, namespace, key)`, so a term's postings under a namespace prefix are one key
//! range. Each posting carries the term's frequency and the text's length: BM25 is computed
//! here from the postings alone, the same on every backend, and only the best-ranked items are
//! read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rustc_hash::FxHashMap;

use engram_types::{FoundItem, Item, ItemQuery, ItemSearch, NamespaceQuery, Timestamp, join_namespace};

use crate::StoreExt;
use crate::error::Result;
use crate::items::{ItemScan, Items};
use crate::lexical::{Bm25, analyze};
use crate::store::Store;

/// Most postings read per query term. A term found in more items under the prefix than this is
/// scored over the first this many in (namespace, key) order; such a term weighs little anyway.
pub const MAX_POSTINGS_PER_TERM: u32 = 10_000;

/// Candidates read per round while a filter turns some down.
const CANDIDATE_ROUND: usize = 64;

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
    pub fn count(&mut self, tenant_id: &str, namespace: &str, documents: i64, length: i64) {
        let entry = self.changes.entry((tenant_id.to_string(), namespace.to_string())).or_default();
        entry.0 += documents;
        entry.1 += length;
    }
}

/// See [`Items::search_items`].
pub(crate) fn search<S: Store + ?Sized>(store: &S, search: &ItemSearch) -> Result<Vec<FoundItem>> {
    search.validate(store.limits())?;
    let now = crate::prepare::now();
    let mut terms = analyze(search.query.as_deref().unwrap_or_default());
    terms.sort_unstable();
    terms.dedup();
    let mut found = if terms.is_empty() {
        let mut listing = ItemQuery::new(search.tenant_id.clone(), search.namespace.clone(), search.limit);
        listing.prefix = true;
        listing.filter = search.filter.clone();
        listing.without_blobs = search.without_blobs;
        listing.offset = search.offset;
        store.list_items(&listing)?.into_iter().map(|item| FoundItem { item, score: None }).collect()
    } else {
        ranked_search(store, search, terms, now)?
    };
    if search.refresh_ttl {
        let mut items: Vec<&mut Item> = found.iter_mut().map(|found| &mut found.item).collect();
        refresh(store, &search.tenant_id, &mut items, now)?;
    }
    Ok(found)
}

fn ranked_search<S: Store + ?Sized>(
    store: &S,
    search: &ItemSearch,
    terms: Vec<String>,
    now: Timestamp,
) -> Result<Vec<FoundItem>> {
    let postings = store.item_postings(&ItemPostingsRequest {
        tenant_id: search.tenant_id.clone(),
        namespace: join_namespace(&search.namespace),
        terms,
        per_term: MAX_POSTINGS_PER_TERM,
    })?;
    let bm25 = Bm25::new(postings.documents, postings.total_length);
    let mut scores: FxHashMap<(&str, &str), f64> = FxHashMap::default();
    scores.reserve(postings.terms.values().map(Vec::len).sum());
    for list in postings.terms.values() {
        let idf = bm25.idf(list.len() as u64);
        for posting in list {
            let contribution = idf * bm25.saturation(posting.frequency, posting.length);
            *scores.entry((posting.namespace.as_str(), posting.key.as_str())).or_default() += contribution;
        }
    }
    let mut ranked: Vec<((&str, &str), f64)> = scores.into_iter().collect();
    let wanted = search.offset as usize + search.limit as usize;
    let round = (if search.filter.is_empty() { wanted } else { wanted.max(CANDIDATE_ROUND) }).max(1);
    // Only the best `round` are ordered before the first fetch; the rest only if a filter or a
    // vanished item leaves the hits short.
    let first = round.min(ranked.len());
    if ranked.len() > first {
        ranked.select_nth_unstable_by(first, best_first);
    }
    let (head, rest) = ranked.split_at_mut(first);
    head.sort_unstable_by(best_first);
    let mut hits = Vec::with_capacity(wanted.min(head.len() + rest.len()));
    take_hits(store, search, head, now, &mut hits)?;
    if hits.len() < wanted && !rest.is_empty() {
        rest.sort_unstable_by(best_first);
        for candidates in rest.chunks(round) {
            take_hits(store, search, candidates, now, &mut hits)?;
            if hits.len() >= wanted {
                break;
            }
        }
    }
    Ok(hits.into_iter().skip(search.offset as usize).take(search.limit as usize).collect())
}

/// Ranking order: score descending, then namespace and key.
fn best_first(
    (left, left_score): &((&str, &str), f64),
    (right, right_score): &((&str, &str), f64),
) -> std::cmp::Ordering {
    right_score.total_cmp(left_score).then_with(|| left.cmp(right))
}

/// Reads `candidates` and adds those still there and passing the filter to `hits`, in order.
fn take_hits<S: Store + ?Sized>(
    store: &S,
    search: &ItemSearch,
    candidates: &[((&str, &str), f64)],
    now: Timestamp,
    hits: &mut Vec<FoundItem>,
) -> Result<()> {
    let mut fetched = fetch(store, search, candidates, now)?;
    for ((namespace, key), score) in candidates {
        // Gone since the postings were read, or expired: skipped.
        let Some(item) = fetched.remove(&(namespace.to_string(), key.to_string())) else { continue };
        if search.matches(&item) {
            hits.push(FoundItem { item, score: Some(*score) });
        }
    }
    Ok(())
}

/// Reads the candidates, one scan per namespace.
fn fetch<S: Store + ?Sized>(
    store: &S,
    search: &ItemSearch,
    candidates: &[((&str, &str), f64)],
    now: Timestamp,
) -> Result<HashMap<(String, String), Item>> {
    let mut by_namespace: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((namespace, key), _) in candidates {
        by_namespace.entry(namespace).or_default().push((*key).to_string());
    }
    let mut fetched = HashMap::with_capacity(candidates.len());
    for (namespace, keys) in by_namespace {
        let limit = u32::try_from(keys.len()).unwrap_or(u32::MAX);
        let scan = ItemScan {
            tenant_id: search.tenant_id.clone(),
            namespace: namespace.to_string(),
            prefix: false,
            keys,
            before_key: None,
            after_key: None,
            after_namespace: None,
            descending: false,
            cursor: None,
            without_blobs: search.without_blobs,
            now,
            limit,
        };
        for item in store.scan_items(&scan)? {
            fetched.insert((namespace.to_string(), item.key.clone()), item);
        }
    }
    Ok(fetched)
}

/// Restarts the TTL of the items that have one, in the store and in `items`.
pub(crate) fn refresh<S: Store + ?Sized>(
    store: &S,
    tenant_id: &str,
    items: &mut [&mut Item],
    now: Timestamp,
) -> Result<()> {
    let mut expiries = Vec::new();
    for item in items.iter_mut() {
        let Some(ttl) = item.ttl_seconds else { continue };
        let expires_at = expiry_after(now, ttl);
        item.expires_at = Some(expires_at);
        expiries.push((join_namespace(&item.namespace), item.key.clone(), expires_at));
    }
    if expiries.is_empty() { Ok(()) } else { store.refresh_items(tenant_id, &expiries) }
}

/// When an item with `ttl_seconds` written or read at `now` expires.
pub(crate) fn expiry_after(now: Timestamp, ttl_seconds: f64) -> Timestamp {
    now + chrono::Duration::milliseconds(engram_types::ttl_millis(ttl_seconds))
}

/// See [`Items::list_namespaces`]: one bounded read per distinct namespace under the query's
/// literal prefix, each starting after the last namespace seen.
pub(crate) fn list_namespaces<S: Store + ?Sized>(store: &S, query: &NamespaceQuery) -> Result<Vec<Vec<String>>> {
    query.validate(store.limits())?;
    let mut scan = ItemScan {
        tenant_id: query.tenant_id.clone(),
        namespace: join_namespace(&query.literal_prefix()),
        prefix: true,
        keys: Vec::new(),
        before_key: None,
        after_key: None,
        after_namespace: None,
        descending: false,
        cursor: None,
        without_blobs: true,
        now: crate::prepare::now(),
        limit: 1,
    };
    let mut listed = BTreeSet::new();
    while let Some(item) = store.scan_items(&scan)?.pop() {
        if query.matches(&item.namespace) {
            listed.insert(query.listed(&item.namespace));
        }
        scan.after_namespace = Some(join_namespace(&item.namespace));
    }
    Ok(listed.into_iter().skip(query.offset as usize).take(query.limit as usize).collect())
}
