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

use engram_types::{FoundItem, Item, ItemSearch, NamespaceQuery, Timestamp, join_namespace};

use super::operations::StoreExt;
use crate::error::Result;
use crate::items::{ItemPostingsRequest, ItemScan, MAX_POSTINGS_PER_TERM};
use crate::lexical::Bm25;
use crate::store::Store;

/// Candidates read per round while a filter turns some down.
const CANDIDATE_ROUND: usize = 64;

/// The best `search.limit` items for the query's terms, by BM25 over their postings.
pub(super) fn ranked_search<S: Store + ?Sized>(
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
pub(super) fn refresh<S: Store + ?Sized>(
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

/// See [`Items::list_namespaces`](crate::Items::list_namespaces): one bounded read per distinct namespace under the query's
/// literal prefix, each starting after the last namespace seen.
pub(super) fn list_namespaces<S: Store + ?Sized>(store: &S, query: &NamespaceQuery) -> Result<Vec<Vec<String>>> {
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
