//! Item reads and writes as SQL every backend shares (`?` placeholders); only the upsert clause
//! differs per dialect. Times are Unix milliseconds, values JSON text, blobs in `data`.

use engram_types::{Item, split_namespace};

use super::column_reader::ColumnReader;
use super::statement::{Param, Statement};
use super::stored_values::{json, time};
use crate::error::Result;
use crate::items::ItemPosting;
use crate::items::ItemScan;

/// The columns an item row is read from, in this order (`data` is `NULL` without blobs).
fn item_columns(without_blobs: bool) -> String {
    let data = if without_blobs { "NULL" } else { "data" };
    format!("namespace, item_key, value, {data}, created_at, updated_at, expires_at, ttl_ms")
}

/// `SELECT` of one item scan page, ordered like the primary key (or its reverse).
pub(crate) fn item_scan_query(scan: &ItemScan) -> Statement {
    let mut conditions = vec!["tenant_id = ?".to_string()];
    let mut params = vec![Param::Text(scan.tenant_id.clone())];
    if !scan.prefix {
        conditions.push("namespace = ?".to_string());
        params.push(Param::Text(scan.namespace.clone()));
    } else if !scan.namespace.is_empty() {
        let (condition, range) = namespace_range(&scan.namespace);
        conditions.push(condition);
        params.extend(range);
    }
    if !scan.keys.is_empty() {
        conditions.push(format!("item_key IN ({})", vec!["?"; scan.keys.len()].join(", ")));
        params.extend(scan.keys.iter().cloned().map(Param::Text));
    }
    if let Some(before) = &scan.before_key {
        let (bound, cut) = key_bound(before);
        conditions.push(if cut { "item_key <= ?" } else { "item_key < ?" }.to_string());
        params.push(Param::Text(bound.to_string()));
    }
    if let Some(after) = &scan.after_key {
        conditions.push("item_key > ?".to_string());
        params.push(Param::Text(key_bound(after).0.to_string()));
    }
    if let Some(after) = &scan.after_namespace {
        conditions.push("namespace > ?".to_string());
        params.push(Param::Text(after.clone()));
    }
    if let Some((namespace, key)) = &scan.cursor {
        // Spelled out rather than as a row comparison, which not every planner turns into a range.
        let (sign, strict) = if scan.descending { ("<", "<") } else { (">", ">") };
        conditions.push(format!("(namespace {sign} ? OR (namespace = ? AND item_key {strict} ?))"));
        params.extend([Param::Text(namespace.clone()), Param::Text(namespace.clone()), Param::Text(key.clone())]);
    }
    conditions.push("(expires_at IS NULL OR expires_at > ?)".to_string());
    params.push(Param::Integer(scan.now.timestamp_millis()));
    let direction = if scan.descending { "DESC" } else { "ASC" };
    Statement {
        sql: format!(
            "SELECT {} FROM items WHERE {} ORDER BY namespace {direction}, item_key {direction} LIMIT {}",
            item_columns(scan.without_blobs),
            conditions.join(" AND "),
            scan.limit
        ),
        params,
    }
}

/// A key bound that compares with every key as the bound itself does byte for byte, under any
/// collation, and whether it was cut. MySQL's collations pad with spaces: `"k"` equals `"k "`
/// and sorts after `"k\t"`. Keys hold no character below the space and never end with one, so
/// cutting the bound at its first character below the space, then trimming its trailing spaces,
/// changes no byte-wise answer but one: a key equal to a cut bound was before the original
/// (`<` becomes `<=`; `>` stays). A bound without those compares alike padded or not.
fn key_bound(bound: &str) -> (&str, bool) {
    let kept = bound.find(|character: char| character < ' ').map_or(bound, |end| &bound[..end]);
    let kept = kept.trim_end_matches(' ');
    (kept, kept.len() != bound.len())
}

/// `INSERT` of one item (the caller appends its dialect's conflict clause).
pub(crate) const INSERT_ITEM: &str = "INSERT INTO items \
    (tenant_id, namespace, item_key, value, data, created_at, updated_at, expires_at, ttl_ms, index_length) \
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// The columns a replacing write sets (`created_at` stays).
pub(crate) const REPLACED_ITEM_COLUMNS: [&str; 6] =
    ["value", "data", "updated_at", "expires_at", "ttl_ms", "index_length"];

/// The condition selecting the namespaces under a non-empty joined prefix, with its parameters.
/// The outer bounds `[namespace, namespace + "\u{80}")` are an index range (a planner does not
/// make one of the `OR` alone); inside them, siblings such as `namespacex` are left out.
fn namespace_range(namespace: &str) -> (String, Vec<Param>) {
    let (children, end) = crate::items::prefix_range(namespace);
    (
        "namespace >= ? AND namespace < ? AND (namespace = ? OR namespace >= ?)".to_string(),
        vec![
            Param::Text(namespace.to_string()),
            Param::Text(end),
            Param::Text(namespace.to_string()),
            Param::Text(children),
        ],
    )
}

/// ` AND` the namespace range, or nothing for the empty prefix (every namespace).
fn and_namespace_range(namespace: &str) -> (String, Vec<Param>) {
    if namespace.is_empty() {
        return (String::new(), Vec::new());
    }
    let (condition, params) = namespace_range(namespace);
    (format!(" AND {condition}"), params)
}

/// The totals rows of the namespaces under a prefix: `documents, total_length`.
pub(crate) fn item_totals_query(tenant_id: &str, namespace: &str) -> Statement {
    let (condition, range) = and_namespace_range(namespace);
    let mut params = vec![Param::Text(tenant_id.to_string())];
    params.extend(range);
    Statement { sql: format!("SELECT documents, total_length FROM item_totals WHERE tenant_id = ?{condition}"), params }
}

/// The postings of one term under a prefix, the first `limit` in key order (the index's order, so
/// every backend caps alike): `namespace, item_key, frequency, length`.
pub(crate) fn item_term_postings_query(tenant_id: &str, namespace: &str, term: &str, limit: u32) -> Statement {
    let (condition, range) = and_namespace_range(namespace);
    let mut params = vec![Param::Text(tenant_id.to_string()), Param::Text(term.to_string())];
    params.extend(range);
    Statement {
        sql: format!(
            "SELECT namespace, item_key, frequency, length FROM item_terms WHERE tenant_id = ? AND term = ?{condition} \
             ORDER BY namespace, item_key LIMIT {limit}"
        ),
        params,
    }
}

/// Reads a row of [`item_term_postings_query`].
pub(crate) fn read_item_posting(row: &(impl ColumnReader + ?Sized)) -> Result<ItemPosting> {
    Ok(ItemPosting {
        namespace: row.text(0)?,
        key: row.text(1)?,
        frequency: u32::try_from(row.integer(2)?).unwrap_or(u32::MAX),
        length: u32::try_from(row.integer(3)?).unwrap_or(u32::MAX),
    })
}

/// Reads a row selected with [`item_columns`].
pub(crate) fn read_item(tenant_id: &str, row: &(impl ColumnReader + ?Sized)) -> Result<Item> {
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
        ttl_seconds: row.optional_integer(7)?.map(|millis| millis as f64 / 1000.0),
        children: None,
    })
}
