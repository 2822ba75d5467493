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
        let tenant = scan.tenant_id.clone();
        let range = self
            .rows
            .range((tenant.clone(), String::new(), String::new())..)
            .take_while(|((owner, _, _), _)| *owner == tenant);
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
            let rows: Vec<_> = range.filter(|row| selected(row)).collect();
            rows.into_iter().rev().take(limit).map(copy).collect()
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
