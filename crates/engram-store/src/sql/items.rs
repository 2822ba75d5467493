//! Item reads and writes as SQL every backend shares (`?` placeholders); only the upsert clause
//! differs per dialect. Times are Unix milliseconds, values JSON text, blobs in `data`.

use engram_types::{Item, split_namespace};

use super::column_reader::ColumnReader;
use super::statement::{Param, Statement, placeholders};
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
    let columns = item_columns(scan.without_blobs);
    let mut statement =
        Statement::new(format!("SELECT {columns} FROM items WHERE tenant_id = ?")).bind(&scan.tenant_id);
    if scan.prefix {
        and_under_prefix(&mut statement, &scan.namespace);
    } else {
        and_where(&mut statement, "namespace = ?", [&scan.namespace]);
    }
    if !scan.keys.is_empty() {
        and_where(&mut statement, &format!("item_key IN ({})", placeholders(scan.keys.len())), &scan.keys);
    }
    if let Some(before) = &scan.before_key {
        let (bound, cut) = key_bound(before);
        and_where(&mut statement, if cut { "item_key <= ?" } else { "item_key < ?" }, [bound]);
    }
    if let Some(after) = &scan.after_key {
        and_where(&mut statement, "item_key > ?", [key_bound(after).0]);
    }
    if let Some(after) = &scan.after_namespace {
        and_where(&mut statement, "namespace > ?", [after]);
    }
    if let Some((namespace, key)) = &scan.cursor {
        // Spelled out rather than as a row comparison, which not every planner turns into a range.
        let sign = if scan.descending { "<" } else { ">" };
        let condition = format!("(namespace {sign} ? OR (namespace = ? AND item_key {sign} ?))");
        and_where(&mut statement, &condition, [namespace, namespace, key]);
    }
    and_where(&mut statement, "(expires_at IS NULL OR expires_at > ?)", [scan.now.timestamp_millis()]);
    let direction = if scan.descending { "DESC" } else { "ASC" };
    statement.sql.push_str(&format!(" ORDER BY namespace {direction}, item_key {direction} LIMIT {}", scan.limit));
    statement
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

/// Adds the condition selecting the namespaces under a joined prefix (none for the empty prefix:
/// every namespace). The outer bounds `[namespace, namespace + "\u{80}")` are an index range (a
/// planner does not make one of the `OR` alone); inside them, siblings such as `namespacex` are
/// left out.
fn and_under_prefix(statement: &mut Statement, namespace: &str) {
    if !namespace.is_empty() {
        let (children, end) = crate::items::prefix_range(namespace);
        let condition = "namespace >= ? AND namespace < ? AND (namespace = ? OR namespace >= ?)";
        and_where(statement, condition, [namespace, end.as_str(), namespace, children.as_str()]);
    }
}

/// Adds ` AND condition` to the statement's `WHERE`, and the condition's parameters.
fn and_where<P: Into<Param>>(statement: &mut Statement, condition: &str, params: impl IntoIterator<Item = P>) {
    statement.sql.push_str(" AND ");
    statement.sql.push_str(condition);
    statement.push_all(params);
}

/// The totals rows of the namespaces under a prefix: `documents, total_length`.
pub(crate) fn item_totals_query(tenant_id: &str, namespace: &str) -> Statement {
    let select = "SELECT documents, total_length FROM item_totals WHERE tenant_id = ?";
    let mut statement = Statement::new(select).bind(tenant_id);
    and_under_prefix(&mut statement, namespace);
    statement
}

/// The postings of one term under a prefix, the first `limit` in key order (the index's order, so
/// every backend caps alike): `namespace, item_key, frequency, length`.
pub(crate) fn item_term_postings_query(tenant_id: &str, namespace: &str, term: &str, limit: u32) -> Statement {
    let select = "SELECT namespace, item_key, frequency, length FROM item_terms WHERE tenant_id = ? AND term = ?";
    let mut statement = Statement::new(select).bind(tenant_id).bind(term);
    and_under_prefix(&mut statement, namespace);
    statement.sql.push_str(&format!(" ORDER BY namespace, item_key LIMIT {limit}"));
    statement
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
