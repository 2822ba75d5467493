//! Items: the item SQL with the dialect's conflict clauses, and the items' lexical index kept
//! in the same transaction.

use engram_types::{Item, OnConflict, Receipt, Timestamp, join_namespace, ttl_millis};

use super::connection::Connection;
use super::dialect::Update;
use super::items::{
    INSERT_ITEM, REPLACED_ITEM_COLUMNS, item_scan_query, item_term_postings_query, item_totals_query, read_item,
    read_item_posting,
};
use super::run::{insert_rows, inserted};
use super::statement::{Param, Statement};
use super::stored_values::to_json;
use crate::error::Result;
use crate::items::{IndexedItem, ItemScan};
use crate::items::{ItemPostings, ItemPostingsRequest, TotalsChanges};

const KEY: &str = "tenant_id, namespace, item_key";

/// The multi-row insert of postings.
const INSERT_ITEM_TERMS: &str = "INSERT INTO item_terms (tenant_id, term, namespace, item_key, frequency, length)";

/// Postings per insert: 6,000 parameters, well under either server's limit.
const POSTINGS_PER_STATEMENT: usize = 1000;

/// `INSERT` of a namespace's totals change (the dialect's adding upsert is appended).
const INSERT_ITEM_TOTALS: &str =
    "INSERT INTO item_totals (tenant_id, namespace, documents, total_length) VALUES (?, ?, ?, ?)";

pub(crate) fn put(
    connection: &mut dyn Connection,
    items: &[IndexedItem],
    on_conflict: OnConflict,
    now: Timestamp,
) -> Result<()> {
    let dialect = connection.dialect();
    let updates: Vec<(&str, Update)> = REPLACED_ITEM_COLUMNS.iter().map(|column| (*column, Update::Replace)).collect();
    let write_sql = format!("{INSERT_ITEM} {}", dialect.upsert("items", KEY, &updates));
    let create_sql = format!("{INSERT_ITEM} {}", dialect.ignore_existing_reporting(KEY, "item_key"));
    let now = now.timestamp_millis();
    let mut totals = TotalsChanges::default();
    for IndexedItem { write: item, terms } in items {
        let namespace = join_namespace(&item.namespace);
        let row = ItemRow {
            item,
            namespace: &namespace,
            now,
            index_length: terms.as_ref().map(|terms| i64::from(terms.length)),
        };
        let mut stored = stored_index(connection, &item.tenant_id, &namespace, &item.key)?;
        let mut written = false;
        if stored.is_none() {
            match create(connection, &create_sql, &row)? {
                Creation::Inserted => written = true,
                Creation::Existing(found) => stored = found,
            }
        }
        if stored.is_some() && on_conflict == OnConflict::Keep {
            continue;
        }
        if let Some(Some(length)) = stored {
            unindex(connection, &mut totals, &item.tenant_id, &namespace, &item.key, length)?;
        }
        if !written {
            row.statement(&write_sql)?.execute(connection)?;
        }
        if let Some(terms) = terms {
            // A round trip per posting would be one per distinct word: rows go in chunks.
            let rows = terms.frequencies.iter().map(|(term, frequency)| {
                let (tenant_id, key) = (item.tenant_id.as_str(), item.key.as_str());
                let (frequency, length) = (i64::from(*frequency), i64::from(terms.length));
                vec![
                    tenant_id.into(),
                    term.into(),
                    namespace.as_str().into(),
                    key.into(),
                    frequency.into(),
                    length.into(),
                ]
            });
            insert_rows(connection, INSERT_ITEM_TERMS, "", rows, POSTINGS_PER_STATEMENT)?;
            totals.count(&item.tenant_id, &namespace, 1, i64::from(terms.length));
        }
    }
    apply_totals(connection, totals)
}

/// `None` when the item is not stored; `Some(None)` when it is, unindexed. Locks the row: its
/// postings and totals change with it, and another process may be writing the same key.
fn stored_index(
    connection: &mut dyn Connection,
    tenant_id: &str,
    namespace: &str,
    key: &str,
) -> Result<Option<Option<i64>>> {
    let lock = connection.dialect().update_lock();
    Statement::new(format!(
        "SELECT 1, index_length FROM items WHERE tenant_id = ? AND namespace = ? AND item_key = ?{lock}"
    ))
    .bind(tenant_id)
    .bind(namespace)
    .bind(key)
    .first_row(connection, |row| row.optional_integer(1))
}

/// An item's row, as a write stores it.
struct ItemRow<'a> {
    item: &'a engram_types::ItemWrite,
    namespace: &'a str,
    now: i64,
    index_length: Option<i64>,
}

impl ItemRow<'_> {
    /// `sql` (an [`INSERT_ITEM`]) with this row bound.
    fn statement(&self, sql: &str) -> Result<Statement> {
        let item = self.item;
        Ok(Statement::new(sql.to_string())
            .bind(&item.tenant_id)
            .bind(self.namespace)
            .bind(&item.key)
            .bind(to_json(&item.value)?)
            .bind(Param::OptionalBlob(item.blob.clone()))
            .bind(self.now)
            .bind(self.now)
            .bind(item.expires_at.map(|expires_at| expires_at.timestamp_millis()))
            .bind(item.ttl_seconds.map(ttl_millis))
            .bind(self.index_length))
    }
}

/// What [`create`] found.
enum Creation {
    /// Its insert made the row.
    Inserted,
    /// Another process's write created the key since: what [`stored_index`] says of its row.
    Existing(Option<Option<i64>>),
}

/// Creates a key no row held when this transaction looked. Another process's write may be
/// creating it too: then the insert waits for that write to end and does nothing, and the row
/// is read again, locked. Without this, both writes would take the key for new, and the later
/// one would index its text over the other's postings.
fn create(connection: &mut dyn Connection, create_sql: &str, row: &ItemRow<'_>) -> Result<Creation> {
    if inserted(row.statement(create_sql)?, connection)? {
        return Ok(Creation::Inserted);
    }
    let stored = stored_index(connection, &row.item.tenant_id, row.namespace, &row.item.key)?;
    Ok(Creation::Existing(stored))
}

fn unindex(
    connection: &mut dyn Connection,
    totals: &mut TotalsChanges,
    tenant_id: &str,
    namespace: &str,
    key: &str,
    length: i64,
) -> Result<()> {
    Statement::new("DELETE FROM item_terms WHERE tenant_id = ? AND namespace = ? AND item_key = ?")
        .bind(tenant_id)
        .bind(namespace)
        .bind(key)
        .execute(connection)?;
    totals.count(tenant_id, namespace, -1, -length);
    Ok(())
}

/// Adds each namespace's change to `item_totals`: an upsert when it only grows, else an update
/// (something was removed, so the row exists).
fn apply_totals(connection: &mut dyn Connection, totals: TotalsChanges) -> Result<()> {
    let dialect = connection.dialect();
    let greatest = dialect.greatest();
    let upsert = format!(
        "{INSERT_ITEM_TOTALS} {}",
        dialect.upsert(
            "item_totals",
            "tenant_id, namespace",
            &[("documents", Update::AddAtLeastZero), ("total_length", Update::AddAtLeastZero)]
        )
    );
    for ((tenant_id, namespace), (documents, length)) in totals.changes {
        let statement = if documents >= 0 && length >= 0 {
            if documents == 0 && length == 0 {
                continue;
            }
            Statement::new(upsert.clone()).bind(tenant_id).bind(namespace).bind(documents).bind(length)
        } else {
            Statement::new(format!(
                "UPDATE item_totals SET documents = {greatest}(documents + ?, 0), total_length = {greatest}(total_length + ?, 0) \
                 WHERE tenant_id = ? AND namespace = ?"
            ))
            .bind(documents)
            .bind(length)
            .bind(tenant_id)
            .bind(namespace)
        };
        statement.execute(connection)?;
    }
    Ok(())
}

pub(crate) fn scan(connection: &mut dyn Connection, scan: &ItemScan) -> Result<Vec<Item>> {
    item_scan_query(scan).rows(connection, |row| read_item(&scan.tenant_id, row))
}

/// The namespace's totals and each term's postings, in the caller's snapshot.
pub(crate) fn postings(connection: &mut dyn Connection, request: &ItemPostingsRequest) -> Result<ItemPostings> {
    let mut result = ItemPostings::default();
    let totals = item_totals_query(&request.tenant_id, &request.namespace)
        .rows(connection, |row| Ok((row.integer(0)?, row.integer(1)?)))?;
    for (documents, length) in totals {
        result.documents += u64::try_from(documents).unwrap_or(0);
        result.total_length += u64::try_from(length).unwrap_or(0);
    }
    for term in &request.terms {
        let query = item_term_postings_query(&request.tenant_id, &request.namespace, term, request.per_term);
        let list = query.rows(connection, |row| read_item_posting(row))?;
        result.terms.insert(term.clone(), list);
    }
    Ok(result)
}

pub(crate) fn refresh(
    connection: &mut dyn Connection,
    tenant_id: &str,
    expiries: &[(String, String, Timestamp)],
) -> Result<()> {
    for (namespace, key, expires_at) in expiries {
        Statement::new("UPDATE items SET expires_at = ? WHERE tenant_id = ? AND namespace = ? AND item_key = ?")
            .bind(expires_at.timestamp_millis())
            .bind(tenant_id)
            .bind(namespace.as_str())
            .bind(key.as_str())
            .execute(connection)?;
    }
    Ok(())
}

pub(crate) fn remove(connection: &mut dyn Connection, tenant_id: &str, keys: &[(String, String)]) -> Result<Receipt> {
    let mut totals = TotalsChanges::default();
    let mut removed = 0;
    for (namespace, key) in keys {
        let Some(length) = stored_index(connection, tenant_id, namespace, key)? else { continue };
        if let Some(length) = length {
            unindex(connection, &mut totals, tenant_id, namespace, key, length)?;
        }
        let result = Statement::new("DELETE FROM items WHERE tenant_id = ? AND namespace = ? AND item_key = ?")
            .bind(tenant_id)
            .bind(namespace)
            .bind(key)
            .execute(connection)?;
        removed += result.rows;
    }
    apply_totals(connection, totals)?;
    let mut receipt = Receipt::default();
    receipt.add("items", removed);
    Ok(receipt)
}

pub(crate) fn remove_expired(connection: &mut dyn Connection, now: Timestamp) -> Result<Receipt> {
    let now = now.timestamp_millis();
    let lock = connection.dialect().update_lock();
    let expired = Statement::new(format!("SELECT tenant_id, namespace, item_key, index_length FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?{lock}"))
        .bind(now)
        .rows(connection, |row| Ok((row.text(0)?, row.text(1)?, row.text(2)?, row.optional_integer(3)?)))?;
    let mut totals = TotalsChanges::default();
    for (tenant_id, namespace, key, length) in expired {
        let Some(length) = length else { continue };
        unindex(connection, &mut totals, &tenant_id, &namespace, &key, length)?;
    }
    apply_totals(connection, totals)?;
    let result = Statement::new("DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?")
        .bind(now)
        .execute(connection)?;
    let mut receipt = Receipt::default();
    receipt.add("items", result.rows);
    Ok(receipt)
}
