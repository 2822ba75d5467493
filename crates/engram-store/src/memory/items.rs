//! Items in process memory: one ordered map per store, keyed like the SQL tables' primary key.

use std::collections::BTreeMap;

use engram_types::{Item, Timestamp};

use crate::error::Result;
use crate::items::{
    ItemKey, ItemPosting, ItemPostings, ItemPostingsRequest, ItemRow, ItemRows, ItemScan, TotalsChanges, under_prefix,
};
use crate::lexical::DocumentTerms;

/// (tenant, joined namespace, key) -> item, with the lexical index the SQL backends keep in
/// `item_terms` and `item_totals`.
#[derive(Debug, Default)]
pub(super) struct ItemTable {
    rows: BTreeMap<ItemKey, Item>,
    /// The analyzed text of each indexed item.
    indexed: BTreeMap<ItemKey, DocumentTerms>,
    /// (tenant, term, joined namespace, key) -> frequency: the postings, in the SQL key order.
    postings: BTreeMap<(String, String, String, String), u32>,
    /// (tenant, joined namespace) -> (indexed items, summed length).
    totals: BTreeMap<(String, String), (u64, u64)>,
}

impl ItemTable {
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
        let range = self.rows.range(ItemKey::new(low.0, low.1, "")..ItemKey::new(high.0, high.1, ""));
        let selected = |(id, item): &(&ItemKey, &Item)| {
            scan.selects(&id.namespace, &id.key) && item.expires_at.is_none_or(|expires_at| expires_at > scan.now)
        };
        let copy = |(_, item): (&ItemKey, &Item)| {
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

    /// The postings of the request's terms under its prefix, as the SQL backends read them.
    pub(super) fn postings(&self, request: &ItemPostingsRequest) -> ItemPostings {
        let tenant = &request.tenant_id;
        let mut result = ItemPostings::default();
        for ((_, namespace), (documents, length)) in
            self.totals.range((tenant.clone(), String::new())..).take_while(|((owner, _), _)| owner == tenant)
        {
            if under_prefix(&request.namespace, namespace) {
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
                .filter(|((_, _, namespace, _), _)| under_prefix(&request.namespace, namespace))
                .take(request.per_term as usize)
                .map(|((_, _, namespace, key), frequency)| {
                    let id = ItemKey::new(tenant.as_str(), namespace.as_str(), key.as_str());
                    ItemPosting {
                        namespace: namespace.clone(),
                        key: key.clone(),
                        frequency: *frequency,
                        length: self.index_length(&id).unwrap_or(0),
                    }
                })
                .collect();
            result.terms.insert(term.clone(), list);
        }
        result
    }

    fn index_length(&self, key: &ItemKey) -> Option<u32> {
        self.indexed.get(key).map(|terms| terms.length)
    }

    /// Stores the row, created at `created_at`.
    fn store(&mut self, row: &ItemRow<'_>, created_at: Timestamp) {
        let write = row.write.clone();
        let item = Item {
            tenant_id: write.tenant_id,
            namespace: write.namespace,
            key: write.key,
            value: write.value,
            blob: write.blob,
            created_at,
            updated_at: row.now,
            expires_at: write.expires_at,
            ttl_seconds: write.ttl_seconds,
            children: None,
        };
        self.rows.insert(row.key.clone(), item);
    }
}

/// The write lock held: nothing to lock, no other writer to race.
impl ItemRows for &mut ItemTable {
    fn stored_index(&mut self, key: &ItemKey) -> Result<Option<Option<u32>>> {
        Ok(self.rows.get(key).map(|_| self.index_length(key)))
    }

    fn create(&mut self, row: &ItemRow<'_>) -> Result<bool> {
        let taken = self.rows.contains_key(&row.key);
        if !taken {
            self.store(row, row.now);
        }
        Ok(!taken)
    }

    fn replace(&mut self, row: &ItemRow<'_>) -> Result<()> {
        let created_at = self.rows.get(&row.key).map_or(row.now, |stored| stored.created_at);
        self.store(row, created_at);
        Ok(())
    }

    fn delete(&mut self, key: &ItemKey) -> Result<u64> {
        Ok(u64::from(self.rows.remove(key).is_some()))
    }

    fn index(&mut self, key: &ItemKey, terms: &DocumentTerms) -> Result<()> {
        for (term, frequency) in &terms.frequencies {
            let posting = (key.tenant_id.clone(), term.clone(), key.namespace.clone(), key.key.clone());
            self.postings.insert(posting, *frequency);
        }
        self.indexed.insert(key.clone(), terms.clone());
        Ok(())
    }

    fn unindex(&mut self, key: &ItemKey) -> Result<()> {
        let Some(terms) = self.indexed.remove(key) else { return Ok(()) };
        for term in terms.frequencies.into_keys() {
            self.postings.remove(&(key.tenant_id.clone(), term, key.namespace.clone(), key.key.clone()));
        }
        Ok(())
    }

    fn change_totals(&mut self, totals: TotalsChanges) -> Result<()> {
        for ((tenant_id, namespace), (documents, length)) in totals.changes {
            let stored = self.totals.entry((tenant_id, namespace)).or_default();
            stored.0 = stored.0.saturating_add_signed(documents);
            stored.1 = stored.1.saturating_add_signed(length);
        }
        Ok(())
    }

    fn refresh(&mut self, key: &ItemKey, expires_at: Timestamp) -> Result<()> {
        if let Some(item) = self.rows.get_mut(key) {
            item.expires_at = Some(expires_at);
        }
        Ok(())
    }

    fn expired(&mut self, now: Timestamp) -> Result<Vec<(ItemKey, Option<u32>)>> {
        Ok(self
            .rows
            .iter()
            .filter(|(_, item)| item.expires_at.is_some_and(|expires_at| expires_at <= now))
            .map(|(key, _)| (key.clone(), self.index_length(key)))
            .collect())
    }

    fn delete_expired(&mut self, now: Timestamp) -> Result<u64> {
        let before = self.rows.len();
        self.rows.retain(|_, item| item.expires_at.is_none_or(|expires_at| expires_at > now));
        Ok((before - self.rows.len()) as u64)
    }
}
