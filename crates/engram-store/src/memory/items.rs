//! Items in process memory: one ordered map per store, keyed like the SQL tables' primary key.

use std::collections::BTreeMap;

use engram_types::{Item, ItemWrite, OnConflict, Receipt, join_namespace};

use crate::items::ItemScan;

/// (tenant, joined namespace, key) -> item.
#[derive(Debug, Default)]
pub(super) struct ItemTable {
    rows: BTreeMap<(String, String, String), Item>,
}

impl ItemTable {
    pub(super) fn put(&mut self, items: Vec<ItemWrite>, on_conflict: OnConflict, now: engram_types::Timestamp) {
        for write in items {
            let key = (write.tenant_id.clone(), join_namespace(&write.namespace), write.key.clone());
            let created_at = match (self.rows.get(&key), on_conflict) {
                (Some(_), OnConflict::Keep) => continue,
                (Some(stored), OnConflict::Replace) => stored.created_at,
                (None, _) => now,
            };
            let item = Item {
                tenant_id: write.tenant_id,
                namespace: write.namespace,
                key: write.key,
                value: write.value,
                blob: write.blob,
                created_at,
                updated_at: now,
                expires_at: write.expires_at,
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
            if self.rows.remove(&(tenant_id.to_string(), namespace.clone(), key.clone())).is_some() {
                receipt.add("items", 1);
            }
        }
        receipt
    }

    /// Items of every tenant with `expires_at <= now` (the sweep).
    pub(super) fn remove_expired(&mut self, now: engram_types::Timestamp) -> Receipt {
        let before = self.rows.len();
        self.rows.retain(|_, item| item.expires_at.is_none_or(|expires_at| expires_at > now));
        let mut receipt = Receipt::default();
        receipt.add("items", (before - self.rows.len()) as u64);
        receipt
    }
}
