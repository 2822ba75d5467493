//! Items in process memory: one ordered map per store, keyed like the SQL tables' primary key.

use std::collections::BTreeMap;

use engram_types::{Item, OnConflict, Receipt, Timestamp, join_namespace};

use crate::items::{IndexedItem, ItemScan};
use crate::items::{ItemPosting, ItemPostings, ItemPostingsRequest};
use crate::lexical::DocumentTerms;

type ItemId = (String, String, String);

/// (tenant, joined namespace, key) -> item, with the lexical index the SQL backends keep in
/// `item_terms` and `item_totals`.
#[derive(Debug, Default)]
pub(super) struct ItemTable {
    rows: BTreeMap<ItemId, Item>,
    /// The analyzed text of each indexed item.
    indexed: BTreeMap<ItemId, DocumentTerms>,
    /// (tenant, term, joined namespace, key) -> frequency: the postings, in the SQL key order.
    postings: BTreeMap<(String, String, String, String), u32>,
    /// (tenant, joined namespace) -> (indexed items, summed length).
    totals: BTreeMap<(String, String), (u64, u64)>,
}

impl ItemTable {
    pub(super) fn put(&mut self, items: Vec<IndexedItem>, on_conflict: OnConflict, now: Timestamp) {
        for IndexedItem { write, terms } in items {
            let key = (write.tenant_id.clone(), join_namespace(&write.namespace), write.key.clone());
            let created_at = match (self.rows.get(&key), on_conflict) {
                (Some(_), OnConflict::Keep) => continue,
                (Some(stored), OnConflict::Replace) => stored.created_at,
                (None, _) => now,
            };
            self.unindex(&key);
            if let Some(terms) = terms {
                self.index(&key, terms);
            }
            let item = Item {
                tenant_id: write.tenant_id,
                namespace: write.namespace,
                key: write.key,
                value: write.value,
                blob: write.blob,
                created_at,
                updated_at: now,
                expires_at: write.expires_at,
                ttl_seconds: write.ttl_seconds,
                children: None,
            };
            self.rows.insert(key, item);
        }
    }

    pub(super) fn scan(&self, scan: &ItemScan) -> Vec<Item> {
        // The namespaces the scan can select lie in one key range; reading it from either end
        // keeps a descending read (a thread's latest checkpoint) as cheap as an ascending one.
        let tenant = &scan.tenant_id;
        let (low, high) = match (scan.prefix, scan.namespace.is_empty()) {
            (true, true) => ((tenant.clone(), String::new()), (format!("{tenant}\u{0}"), String::new())),
            (true, false) => ((tenant.clone(), scan.namespace.clone()), (tenant.clone(), scan.prefix_range().1)),
            (false, _) => {
                ((tenant.clone(), scan.namespace.clone()), (tenant.clone(), format!("{}\u{0}", scan.namespace)))
            }
        };
        let range = self.rows.range((low.0, low.1, String::new())..(high.0, high.1, String::new()));
        let selected = |((_, namespace, key), item): &(&(String, String, String), &Item)| {
            scan.selects(namespace, key) && item.expires_at.is_none_or(|expires_at| expires_at > scan.now)
        };
        let copy = |(_, item): (&(String, String, String), &Item)| {
            let mut item = item.clone();
            if scan.without_blobs {
                item.blob = None;
            }
            item
        };
        let limit = scan.limit as usize;
        if scan.descending {
            range.rev().filter(|row| selected(row)).take(limit).map(copy).collect()
        } else {
            range.filter(|row| selected(row)).take(limit).map(copy).collect()
        }
    }

    pub(super) fn remove(&mut self, tenant_id: &str, keys: &[(String, String)]) -> Receipt {
        let mut receipt = Receipt::default();
        for (namespace, key) in keys {
            let id = (tenant_id.to_string(), namespace.clone(), key.clone());
            if self.rows.remove(&id).is_some() {
                self.unindex(&id);
                receipt.add("items", 1);
            }
        }
        receipt
    }

    /// Items of every tenant with `expires_at <= now` (the sweep).
    pub(super) fn remove_expired(&mut self, now: Timestamp) -> Receipt {
        let expired: Vec<ItemId> = self
            .rows
            .iter()
            .filter(|(_, item)| item.expires_at.is_some_and(|expires_at| expires_at <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            self.rows.remove(id);
            self.unindex(id);
        }
        let mut receipt = Receipt::default();
        receipt.add("items", expired.len() as u64);
        receipt
    }

    pub(super) fn refresh(&mut self, tenant_id: &str, expiries: &[(String, String, Timestamp)]) {
        for (namespace, key, expires_at) in expiries {
            if let Some(item) = self.rows.get_mut(&(tenant_id.to_string(), namespace.clone(), key.clone())) {
                item.expires_at = Some(*expires_at);
            }
        }
    }

    /// The postings of the request's terms under its prefix, as the SQL backends read them.
    pub(super) fn postings(&self, request: &ItemPostingsRequest) -> ItemPostings {
        let tenant = &request.tenant_id;
        let under = |namespace: &str| {
            request.namespace.is_empty() || namespace == request.namespace || {
                let (low, high) = crate::items::prefix_range(&request.namespace);
                namespace >= low.as_str() && namespace < high.as_str()
            }
        };
        let mut result = ItemPostings::default();
        for ((_, namespace), (documents, length)) in
            self.totals.range((tenant.clone(), String::new())..).take_while(|((owner, _), _)| owner == tenant)
        {
            if under(namespace) {
                result.documents += documents;
                result.total_length += length;
            }
        }
        for term in &request.terms {
            let start = (tenant.clone(), term.clone(), String::new(), String::new());
            let list = self
                .postings
                .range(start..)
                .take_while(|((owner, posted, _, _), _)| owner == tenant && posted == term)
                .filter(|((_, _, namespace, _), _)| under(namespace))
                .take(request.per_term as usize)
                .map(|((_, _, namespace, key), frequency)| {
                    let id = (tenant.clone(), namespace.clone(), key.clone());
                    ItemPosting {
                        namespace: namespace.clone(),
                        key: key.clone(),
                        frequency: *frequency,
                        length: self.indexed.get(&id).map_or(0, |terms| terms.length),
                    }
                })
                .collect();
            result.terms.insert(term.clone(), list);
        }
        result
    }

    fn index(&mut self, id: &ItemId, terms: DocumentTerms) {
        let (tenant, namespace, key) = id;
        for (term, frequency) in &terms.frequencies {
            self.postings.insert((tenant.clone(), term.clone(), namespace.clone(), key.clone()), *frequency);
        }
        let totals = self.totals.entry((tenant.clone(), namespace.clone())).or_default();
        totals.0 += 1;
        totals.1 += u64::from(terms.length);
        self.indexed.insert(id.clone(), terms);
    }

    fn unindex(&mut self, id: &ItemId) {
        let Some(terms) = self.indexed.remove(id) else { return };
        let (tenant, namespace, key) = id;
        for term in terms.frequencies.keys() {
            self.postings.remove(&(tenant.clone(), term.clone(), namespace.clone(), key.clone()));
        }
        if let Some(totals) = self.totals.get_mut(&(tenant.clone(), namespace.clone())) {
            totals.0 = totals.0.saturating_sub(1);
            totals.1 = totals.1.saturating_sub(u64::from(terms.length));
        }
    }
}
