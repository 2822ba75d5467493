//! Items on the SQL backends: the item primitives of a write transaction ([`ItemRows`]) with the
//! dialect's conflict clauses, and the scan and postings reads.

use engram_types::{Item, Timestamp, ttl_millis};

use super::column_reader::ColumnReader;
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
use crate::items::{ItemKey, ItemPostings, ItemPostingsRequest, ItemRow, ItemRows, ItemScan, TotalsChanges};
use crate::lexical::DocumentTerms;

const KEY: &str = "tenant_id, namespace, item_key";

/// The condition selecting one item's rows, bound by [`bind_key`].
const WHERE_KEY: &str = "WHERE tenant_id = ? AND namespace = ? AND item_key = ?";

/// The multi-row insert of postings.
const INSERT_ITEM_TERMS: &str = "INSERT INTO item_terms (tenant_id, term, namespace, item_key, frequency, length)";

/// Postings per insert: 6,000 parameters, well under either server's limit.
const POSTINGS_PER_STATEMENT: usize = 1000;

/// `INSERT` of a namespace's totals change (the dialect's adding upsert is appended).
const INSERT_ITEM_TOTALS: &str =
    "INSERT INTO item_totals (tenant_id, namespace, documents, total_length) VALUES (?, ?, ?, ?)";

/// The item tables of one write transaction.
pub(crate) struct SqlItemRows<'a>(pub(crate) &'a mut dyn Connection);

impl ItemRows for SqlItemRows<'_> {
    fn stored_index(&mut self, key: &ItemKey) -> Result<Option<Option<u32>>> {
        let lock = self.0.dialect().update_lock();
        let statement = Statement::new(format!("SELECT index_length FROM items {WHERE_KEY}{lock}"));
        bind_key(statement, key).first_row(self.0, |row| read_length(row, 0))
    }

    fn create(&mut self, row: &ItemRow<'_>) -> Result<bool> {
        let create = format!("{INSERT_ITEM} {}", self.0.dialect().ignore_existing_reporting(KEY, "item_key"));
        inserted(row_statement(create, row)?, self.0)
    }

    fn replace(&mut self, row: &ItemRow<'_>) -> Result<()> {
        let updates = REPLACED_ITEM_COLUMNS.map(|column| (column, Update::Replace));
        let write = format!("{INSERT_ITEM} {}", self.0.dialect().upsert("items", KEY, &updates));
        row_statement(write, row)?.execute(self.0).map(drop)
    }

    fn delete(&mut self, key: &ItemKey) -> Result<u64> {
        Ok(bind_key(Statement::new(format!("DELETE FROM items {WHERE_KEY}")), key).execute(self.0)?.rows)
    }

    fn index(&mut self, key: &ItemKey, terms: &DocumentTerms) -> Result<()> {
        // A round trip per posting would be one per distinct word: rows go in chunks.
        let rows = terms.frequencies.iter().map(|(term, frequency)| {
            let (frequency, length) = (i64::from(*frequency), i64::from(terms.length));
            vec![
                key.tenant_id.as_str().into(),
                term.into(),
                key.namespace.as_str().into(),
                key.key.as_str().into(),
                frequency.into(),
                length.into(),
            ]
        });
        insert_rows(self.0, INSERT_ITEM_TERMS, "", rows, POSTINGS_PER_STATEMENT)
    }

    fn unindex(&mut self, key: &ItemKey) -> Result<()> {
        bind_key(Statement::new(format!("DELETE FROM item_terms {WHERE_KEY}")), key).execute(self.0).map(drop)
    }

    /// An upsert when a namespace's totals only grow, else an update (something was removed, so
    /// the row exists).
    fn change_totals(&mut self, totals: TotalsChanges) -> Result<()> {
        let dialect = self.0.dialect();
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
            statement.execute(self.0)?;
        }
        Ok(())
    }

    fn refresh(&mut self, key: &ItemKey, expires_at: Timestamp) -> Result<()> {
        let statement = Statement::new(format!("UPDATE items SET expires_at = ? {WHERE_KEY}"));
        bind_key(statement.bind(expires_at.timestamp_millis()), key).execute(self.0).map(drop)
    }

    fn expired(&mut self, now: Timestamp) -> Result<Vec<(ItemKey, Option<u32>)>> {
        let lock = self.0.dialect().update_lock();
        Statement::new(format!(
            "SELECT tenant_id, namespace, item_key, index_length FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?{lock}"
        ))
        .bind(now.timestamp_millis())
        .rows(self.0, |row| {
            Ok((ItemKey::new(row.text(0)?, row.text(1)?, row.text(2)?), read_length(row, 3)?))
        })
    }

    fn delete_expired(&mut self, now: Timestamp) -> Result<u64> {
        let statement = Statement::new("DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?");
        Ok(statement.bind(now.timestamp_millis()).execute(self.0)?.rows)
    }
}

/// `statement` with an item's key bound to its next three `?` (as in [`WHERE_KEY`]).
fn bind_key(statement: Statement, key: &ItemKey) -> Statement {
    statement.bind(&key.tenant_id).bind(&key.namespace).bind(&key.key)
}

/// `sql` (an [`INSERT_ITEM`]) with the row bound.
fn row_statement(sql: String, row: &ItemRow<'_>) -> Result<Statement> {
    let ItemRow { key, write, now, index_length } = row;
    let now = now.timestamp_millis();
    Ok(bind_key(Statement::new(sql), key)
        .bind(to_json(&write.value)?)
        .bind(Param::OptionalBlob(write.blob.clone()))
        .bind(now)
        .bind(now)
        .bind(write.expires_at.map(|expires_at| expires_at.timestamp_millis()))
        .bind(write.ttl_seconds.map(ttl_millis))
        .bind(index_length.map(i64::from)))
}

/// A stored `index_length`: `None` for an item that is not indexed.
fn read_length(row: &dyn ColumnReader, index: usize) -> Result<Option<u32>> {
    Ok(row.optional_integer(index)?.map(|length| u32::try_from(length).unwrap_or(u32::MAX)))
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
