//! Items (namespaced documents beside agent memory) over the three `Store` primitives
//! (`write_items`, `scan_items`, `remove_items`, `remove_expired_items`): listing with value filters, offsets and limits,
//! and deletion by query, written once for every backend.

use engram_types::{
    FoundItem, Item, ItemQuery, ItemSearch, ItemWrite, NamespaceQuery, OnConflict, Receipt, Timestamp, join_namespace,
};

use super::operations::StoreExt;
use crate::error::Result;
use crate::items::{IndexedItem, ItemScan};
use crate::lexical::{DocumentTerms, analyze};
use crate::store::Store;

/// Rows one page of a filtered listing or deletion reads.
const PAGE: u32 = 500;

/// A filtered listing's first page reads this many rows per row wanted (at least
/// [`FIRST_PAGE_MIN`]), and each next page this many times the last, up to [`PAGE`]: a filter
/// that one item in a few passes is served by a page or two of what is needed, not by 500 rows
/// parsed for ten.
const PAGE_GROWTH: u32 = 4;
const FIRST_PAGE_MIN: u32 = 32;

/// Reads the next page and moves the cursor past it: the rows, and whether the scan has
/// nothing after them.
fn next_page<S: Store + ?Sized>(scan: &mut ItemScan, store: &S) -> Result<(Vec<Item>, bool)> {
    let rows = store.scan_items(scan)?;
    let exhausted = rows.len() < scan.limit as usize;
    scan.cursor = rows.last().map(|item| (join_namespace(&item.namespace), item.key.clone()));
    Ok((rows, exhausted))
}

/// Every live item of the namespace `children` + [`key`], keys ascending, read a page at a time.
fn children_of<S: Store + ?Sized>(
    store: &S,
    query: &ItemQuery,
    children: &[String],
    key: &str,
    now: Timestamp,
) -> Result<Vec<Item>> {
    let mut namespace = children.to_vec();
    namespace.push(key.to_string());
    let mut scan = ItemScan::from_query(&ItemQuery::new(query.tenant_id.clone(), namespace, PAGE), now, PAGE);
    scan.without_blobs = query.without_blobs;
    let mut found = Vec::new();
    loop {
        let (rows, exhausted) = next_page(&mut scan, store)?;
        found.extend(rows);
        if exhausted {
            return Ok(found);
        }
    }
}

/// Items for every [`Store`]: the filtered reads and deletes callers use.
pub trait Items {
    /// Validates and writes items in one transaction; `on_conflict` says what a taken key does.
    fn put_items(&self, items: Vec<ItemWrite>, on_conflict: OnConflict) -> Result<()>;

    /// The items a query selects, in (namespace, key) order (descending with `descending`),
    /// after `offset` of them, at most `limit`. Expired items are never returned.
    fn list_items(&self, query: &ItemQuery) -> Result<Vec<Item>>;

    /// Deletes every item a query selects (`offset` and `limit` do not apply), one page per
    /// transaction. The receipt counts the `items` rows removed.
    fn delete_items(&self, query: &ItemQuery) -> Result<Receipt>;

    /// Items under a namespace prefix: ranked by BM25 over their indexed text when the search
    /// has a query (items matching none of its terms left out), else in (namespace, key) order.
    fn search_items(&self, search: &ItemSearch) -> Result<Vec<FoundItem>>;

    /// The namespaces holding items that match the query's prefix and suffix, cut to its
    /// `max_depth`, each once, in label order.
    fn list_namespaces(&self, query: &NamespaceQuery) -> Result<Vec<Vec<String>>>;
}

impl<S: Store + ?Sized> Items for S {
    fn put_items(&self, items: Vec<ItemWrite>, on_conflict: OnConflict) -> Result<()> {
        for (index, item) in items.iter().enumerate() {
            item.validate(self.limits()).map_err(|invalid| invalid.within(&format!("items[{index}]")))?;
        }
        let now = crate::prepare::now();
        let indexed = items
            .into_iter()
            .map(|mut write| {
                if let Some(ttl) = write.ttl_seconds {
                    write.expires_at = Some(super::item_search::expiry_after(now, ttl));
                }
                let terms = write.indexed_text().map(|text| DocumentTerms::new(&text, &[], &[]));
                IndexedItem { write, terms }
            })
            .collect();
        self.write_items(indexed, on_conflict)
    }

    fn list_items(&self, query: &ItemQuery) -> Result<Vec<Item>> {
        query.validate(self.limits())?;
        let wanted = query.offset as usize + query.limit as usize;
        let wanted_rows = u32::try_from(wanted).unwrap_or(u32::MAX);
        // Without a filter every row counts: one read of exactly what is needed.
        let page = if query.filter.is_empty() {
            wanted_rows
        } else {
            wanted_rows.saturating_mul(PAGE_GROWTH).clamp(FIRST_PAGE_MIN, PAGE)
        };
        let mut scan = ItemScan::from_query(query, crate::prepare::now(), page);
        let mut found = Vec::new();
        loop {
            let (rows, exhausted) = next_page(&mut scan, self)?;
            found.extend(rows.into_iter().filter(|item| query.matches(item)));
            if exhausted || found.len() >= wanted {
                break;
            }
            scan.limit = scan.limit.saturating_mul(PAGE_GROWTH).min(PAGE);
        }
        let mut found: Vec<Item> = found.into_iter().skip(query.offset as usize).take(query.limit as usize).collect();
        if query.refresh_ttl {
            let mut items: Vec<&mut Item> = found.iter_mut().collect();
            super::item_search::refresh(self, &query.tenant_id, &mut items, scan.now)?;
        }
        if let Some(children) = &query.children {
            for item in &mut found {
                item.children = Some(children_of(self, query, children, &item.key, scan.now)?);
            }
        }
        Ok(found)
    }

    fn delete_items(&self, query: &ItemQuery) -> Result<Receipt> {
        query.validate(self.limits())?;
        let mut scan = ItemScan::from_query(query, crate::prepare::now(), PAGE);
        scan.without_blobs = true;
        let mut receipt = Receipt::default();
        loop {
            let (rows, exhausted) = next_page(&mut scan, self)?;
            let doomed: Vec<(String, String)> = rows
                .into_iter()
                .filter(|item| query.matches(item))
                .map(|item| (join_namespace(&item.namespace), item.key))
                .collect();
            if !doomed.is_empty() {
                receipt.merge(self.remove_items(&query.tenant_id, &doomed)?);
            }
            if exhausted {
                break;
            }
        }
        Ok(receipt)
    }

    fn search_items(&self, search: &ItemSearch) -> Result<Vec<FoundItem>> {
        search.validate(self.limits())?;
        let now = crate::prepare::now();
        let mut terms = analyze(search.query.as_deref().unwrap_or_default());
        terms.sort_unstable();
        terms.dedup();
        // Without terms a search is a listing of the prefix, unranked.
        let mut found = if terms.is_empty() {
            let mut listing = ItemQuery::new(search.tenant_id.clone(), search.namespace.clone(), search.limit);
            listing.prefix = true;
            listing.filter = search.filter.clone();
            listing.without_blobs = search.without_blobs;
            listing.offset = search.offset;
            self.list_items(&listing)?.into_iter().map(|item| FoundItem { item, score: None }).collect()
        } else {
            super::item_search::ranked_search(self, search, terms, now)?
        };
        if search.refresh_ttl {
            let mut items: Vec<&mut Item> = found.iter_mut().map(|found| &mut found.item).collect();
            super::item_search::refresh(self, &search.tenant_id, &mut items, now)?;
        }
        Ok(found)
    }

    fn list_namespaces(&self, query: &NamespaceQuery) -> Result<Vec<Vec<String>>> {
        super::item_search::list_namespaces(self, query)
    }
}
