//! Items on SQLite: the shared item SQL, with `ON CONFLICT` spelled SQLite's way.

use engram_types::{Item, ItemWrite, OnConflict, Receipt, Timestamp, join_namespace};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use super::error::storage;
use super::fetch::sql_value;
use super::rows::to_json;
use crate::error::Result;
use crate::items::ItemScan;
use crate::sql::{DELETE_EXPIRED_ITEMS, DELETE_ITEM, INSERT_ITEM, item_scan_query, read_item};

pub(super) fn put(connection: &Connection, items: &[ItemWrite], on_conflict: OnConflict, now: Timestamp) -> Result<()> {
    let conflict = match on_conflict {
        OnConflict::Replace => {
            " ON CONFLICT (tenant_id, namespace, item_key) DO UPDATE SET value = excluded.value, \
             data = excluded.data, updated_at = excluded.updated_at, expires_at = excluded.expires_at"
        }
        OnConflict::Keep => " ON CONFLICT (tenant_id, namespace, item_key) DO NOTHING",
    };
    let mut statement = connection.prepare_cached(&format!("{INSERT_ITEM}{conflict}")).map_err(storage)?;
    let now = now.timestamp_millis();
    for item in items {
        statement
            .execute(params![
                item.tenant_id,
                join_namespace(&item.namespace),
                item.key,
                to_json(&item.value)?,
                item.blob,
                now,
                now,
                item.expires_at.map(|expires_at| expires_at.timestamp_millis()),
            ])
            .map_err(storage)?;
    }
    Ok(())
}

pub(super) fn scan(connection: &Connection, scan: &ItemScan) -> Result<Vec<Item>> {
    let query = item_scan_query(scan);
    let mut statement = connection.prepare_cached(&query.sql).map_err(storage)?;
    let params: Vec<Value> = query.params.into_iter().map(sql_value).collect();
    let mut rows = statement.query(params_from_iter(params)).map_err(storage)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(storage)? {
        found.push(read_item(&scan.tenant_id, row)?);
    }
    Ok(found)
}

pub(super) fn remove(connection: &Connection, tenant_id: &str, keys: &[(String, String)]) -> Result<Receipt> {
    let mut statement = connection.prepare_cached(DELETE_ITEM).map_err(storage)?;
    let mut removed = 0;
    for (namespace, key) in keys {
        removed += statement.execute(params![tenant_id, namespace, key]).map_err(storage)? as u64;
    }
    let mut receipt = Receipt::default();
    receipt.add("items", removed);
    Ok(receipt)
}

pub(super) fn remove_expired(connection: &Connection, now: Timestamp) -> Result<Receipt> {
    let removed = connection.execute(DELETE_EXPIRED_ITEMS, params![now.timestamp_millis()]).map_err(storage)?;
    let mut receipt = Receipt::default();
    receipt.add("items", removed as u64);
    Ok(receipt)
}
