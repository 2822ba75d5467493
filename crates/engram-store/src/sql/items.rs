//! Item reads and writes as SQL every backend shares (`?` placeholders); only the upsert clause
//! differs per dialect. Times are Unix milliseconds, values JSON text, blobs in `data`.

use engram_types::{Item, split_namespace};

use super::decode::{ColumnReader, json, time};
use super::fetch::{RangeQuery, SqlParam};
use crate::error::Result;
use crate::items::ItemScan;

/// The columns an item row is read from, in this order (`data` is `NULL` without blobs).
pub(crate) fn item_columns(without_blobs: bool) -> &'static str {
    if without_blobs {
        "namespace, item_key, value, NULL, created_at, updated_at, expires_at"
    } else {
        "namespace, item_key, value, data, created_at, updated_at, expires_at"
    }
}

/// `SELECT` of one item scan page, ordered like the primary key (or its reverse).
pub(crate) fn item_scan_query(scan: &ItemScan) -> RangeQuery {
    let mut conditions = vec!["tenant_id = ?".to_string()];
    let mut params = vec![SqlParam::Text(scan.tenant_id.clone())];
    if !scan.prefix {
        conditions.push("namespace = ?".to_string());
        params.push(SqlParam::Text(scan.namespace.clone()));
    } else if !scan.namespace.is_empty() {
        let (low, high) = scan.prefix_range();
        conditions.push("(namespace = ? OR (namespace >= ? AND namespace < ?))".to_string());
        params.extend([SqlParam::Text(scan.namespace.clone()), SqlParam::Text(low), SqlParam::Text(high)]);
    }
    if !scan.keys.is_empty() {
        conditions.push(format!("item_key IN ({})", vec!["?"; scan.keys.len()].join(", ")));
        params.extend(scan.keys.iter().cloned().map(SqlParam::Text));
    }
    if let Some(before) = &scan.before_key {
        conditions.push("item_key < ?".to_string());
        params.push(SqlParam::Text(before.clone()));
    }
    if let Some(after) = &scan.after_key {
        conditions.push("item_key > ?".to_string());
        params.push(SqlParam::Text(after.clone()));
    }
    if let Some((namespace, key)) = &scan.cursor {
        // Spelled out rather than as a row comparison, which not every planner turns into a range.
        let (sign, strict) = if scan.descending { ("<", "<") } else { (">", ">") };
        conditions.push(format!("(namespace {sign} ? OR (namespace = ? AND item_key {strict} ?))"));
        params.extend([
            SqlParam::Text(namespace.clone()),
            SqlParam::Text(namespace.clone()),
            SqlParam::Text(key.clone()),
        ]);
    }
    conditions.push("(expires_at IS NULL OR expires_at > ?)".to_string());
    params.push(SqlParam::Integer(scan.now.timestamp_millis()));
    let direction = if scan.descending { "DESC" } else { "ASC" };
    RangeQuery {
        sql: format!(
            "SELECT {} FROM items WHERE {} ORDER BY namespace {direction}, item_key {direction} LIMIT {}",
            item_columns(scan.without_blobs),
            conditions.join(" AND "),
            scan.limit
        ),
        params,
    }
}

/// `INSERT` of one item (the caller appends its dialect's conflict clause).
pub(crate) const INSERT_ITEM: &str = "INSERT INTO items \
    (tenant_id, namespace, item_key, value, data, created_at, updated_at, expires_at) \
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

/// `DELETE` of one item.
pub(crate) const DELETE_ITEM: &str = "DELETE FROM items WHERE tenant_id = ? AND namespace = ? AND item_key = ?";

/// `DELETE` of expired items of every tenant.
pub(crate) const DELETE_EXPIRED_ITEMS: &str = "DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?";

/// Reads a row selected with [`item_columns`].
pub(crate) fn read_item(tenant_id: &str, row: &impl ColumnReader) -> Result<Item> {
    let backend = row.backend();
    Ok(Item {
        tenant_id: tenant_id.to_string(),
        namespace: split_namespace(&row.text(0)?),
        key: row.text(1)?,
        value: json(backend, "items.value", &row.text(2)?)?,
        blob: row.optional_blob(3)?,
        created_at: time(backend, row.integer(4)?)?,
        updated_at: time(backend, row.integer(5)?)?,
        expires_at: row.optional_integer(6)?.map(|millis| time(backend, millis)).transpose()?,
    })
}
