//! Items on SQLite: the shared item SQL, with `ON CONFLICT` spelled SQLite's way, and the
//! items' lexical index kept in the same transaction.

use engram_types::{Item, OnConflict, Receipt, Timestamp, join_namespace, ttl_millis};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::error::storage;
use super::fetch::sql_value;
use super::rows::to_json;
use crate::error::Result;
use crate::item_search::{ItemPostings, ItemPostingsRequest, TotalsChanges};
use crate::items::{IndexedItem, ItemScan};
use crate::sql::{
    DELETE_EXPIRED_ITEMS, DELETE_ITEM, DELETE_ITEM_TERMS, EXPIRED_ITEMS, INSERT_ITEM, INSERT_ITEM_TERM, REFRESH_ITEM,
    REPLACED_ITEM_COLUMNS, RangeQuery, STORED_ITEM_INDEX, item_scan_query, item_term_postings_query, item_totals_query,
    read_item, read_item_posting,
};

pub(super) fn put(
    connection: &Connection,
    items: &[IndexedItem],
    on_conflict: OnConflict,
    now: Timestamp,
) -> Result<()> {
    let conflict = match on_conflict {
        OnConflict::Replace => {
            let assignments: Vec<String> =
                REPLACED_ITEM_COLUMNS.iter().map(|column| format!("{column} = excluded.{column}")).collect();
            format!(" ON CONFLICT (tenant_id, namespace, item_key) DO UPDATE SET {}", assignments.join(", "))
        }
        OnConflict::Keep => " ON CONFLICT (tenant_id, namespace, item_key) DO NOTHING".to_string(),
    };
    let mut statement = connection.prepare_cached(&format!("{INSERT_ITEM}{conflict}")).map_err(storage)?;
    let now = now.timestamp_millis();
    let mut totals = TotalsChanges::default();
    for IndexedItem { write: item, terms } in items {
        let namespace = join_namespace(&item.namespace);
        let stored = stored_index(connection, &item.tenant_id, &namespace, &item.key)?;
        if stored.is_some() && on_conflict == OnConflict::Keep {
            continue;
        }
        if let Some(Some(length)) = stored {
            unindex(connection, &mut totals, &item.tenant_id, &namespace, &item.key, length)?;
        }
        statement
            .execute(params![
                item.tenant_id,
                namespace,
                item.key,
                to_json(&item.value)?,
                item.blob,
                now,
                now,
                item.expires_at.map(|expires_at| expires_at.timestamp_millis()),
                item.ttl_seconds.map(ttl_millis),
                terms.as_ref().map(|terms| i64::from(terms.length)),
            ])
            .map_err(storage)?;
        if let Some(terms) = terms {
            let mut insert = connection.prepare_cached(INSERT_ITEM_TERM).map_err(storage)?;
            for (term, frequency) in &terms.frequencies {
                insert
                    .execute(params![item.tenant_id, term, namespace, item.key, frequency, terms.length])
                    .map_err(storage)?;
            }
            totals.count(&item.tenant_id, &namespace, 1, i64::from(terms.length));
        }
    }
    apply_totals(connection, totals)
}

/// `None` when the item is not stored; `Some(None)` when it is, unindexed.
fn stored_index(connection: &Connection, tenant_id: &str, namespace: &str, key: &str) -> Result<Option<Option<i64>>> {
    connection
        .prepare_cached(STORED_ITEM_INDEX)
        .and_then(|mut statement| {
            statement.query_row(params![tenant_id, namespace, key], |row| row.get::<_, Option<i64>>(1)).optional()
        })
        .map_err(storage)
}

fn unindex(
    connection: &Connection,
    totals: &mut TotalsChanges,
    tenant_id: &str,
    namespace: &str,
    key: &str,
    length: i64,
) -> Result<()> {
    connection
        .prepare_cached(DELETE_ITEM_TERMS)
        .and_then(|mut statement| statement.execute(params![tenant_id, namespace, key]))
        .map_err(storage)?;
    totals.count(tenant_id, namespace, -1, -length);
    Ok(())
}

fn apply_totals(connection: &Connection, totals: TotalsChanges) -> Result<()> {
    let mut statement = connection
        .prepare_cached(
            "INSERT INTO item_totals (tenant_id, namespace, documents, total_length) VALUES (?1, ?2, MAX(?3, 0), MAX(?4, 0))
             ON CONFLICT (tenant_id, namespace) DO UPDATE SET
             documents = MAX(documents + ?3, 0), total_length = MAX(total_length + ?4, 0)",
        )
        .map_err(storage)?;
    for ((tenant_id, namespace), (documents, length)) in totals.changes {
        if documents != 0 || length != 0 {
            statement.execute(params![tenant_id, namespace, documents, length]).map_err(storage)?;
        }
    }
    Ok(())
}

fn query_rows<T>(
    connection: &Connection,
    query: RangeQuery,
    mut read: impl FnMut(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut statement = connection.prepare_cached(&query.sql).map_err(storage)?;
    let params: Vec<Value> = query.params.into_iter().map(sql_value).collect();
    let mut rows = statement.query(params_from_iter(params)).map_err(storage)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(storage)? {
        found.push(read(row)?);
    }
    Ok(found)
}

pub(super) fn scan(connection: &Connection, scan: &ItemScan) -> Result<Vec<Item>> {
    query_rows(connection, item_scan_query(scan), |row| read_item(&scan.tenant_id, row))
}

pub(super) fn postings(connection: &Connection, request: &ItemPostingsRequest) -> Result<ItemPostings> {
    let mut result = ItemPostings::default();
    let totals = query_rows(connection, item_totals_query(&request.tenant_id, &request.namespace), |row| {
        Ok((row.get::<_, i64>(0).map_err(storage)?, row.get::<_, i64>(1).map_err(storage)?))
    })?;
    for (documents, length) in totals {
        result.documents += u64::try_from(documents).unwrap_or(0);
        result.total_length += u64::try_from(length).unwrap_or(0);
    }
    for term in &request.terms {
        let query = item_term_postings_query(&request.tenant_id, &request.namespace, term, request.per_term);
        result.terms.insert(term.clone(), query_rows(connection, query, |row| read_item_posting(row))?);
    }
    Ok(result)
}

pub(super) fn refresh(
    connection: &Connection,
    tenant_id: &str,
    expiries: &[(String, String, Timestamp)],
) -> Result<()> {
    let mut statement = connection.prepare_cached(REFRESH_ITEM).map_err(storage)?;
    for (namespace, key, expires_at) in expiries {
        statement.execute(params![expires_at.timestamp_millis(), tenant_id, namespace, key]).map_err(storage)?;
    }
    Ok(())
}

pub(super) fn remove(connection: &Connection, tenant_id: &str, keys: &[(String, String)]) -> Result<Receipt> {
    let mut totals = TotalsChanges::default();
    let mut removed = 0;
    for (namespace, key) in keys {
        let Some(length) = stored_index(connection, tenant_id, namespace, key)? else { continue };
        if let Some(length) = length {
            unindex(connection, &mut totals, tenant_id, namespace, key, length)?;
        }
        removed += connection
            .prepare_cached(DELETE_ITEM)
            .and_then(|mut statement| statement.execute(params![tenant_id, namespace, key]))
            .map_err(storage)? as u64;
    }
    apply_totals(connection, totals)?;
    let mut receipt = Receipt::default();
    receipt.add("items", removed);
    Ok(receipt)
}

pub(super) fn remove_expired(connection: &Connection, now: Timestamp) -> Result<Receipt> {
    let now = now.timestamp_millis();
    let expired: Vec<(String, String, String, Option<i64>)> = {
        let mut statement = connection.prepare_cached(EXPIRED_ITEMS).map_err(storage)?;
        let rows = statement
            .query_map(params![now], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)?
    };
    let mut totals = TotalsChanges::default();
    for (tenant_id, namespace, key, length) in &expired {
        if let Some(length) = length {
            unindex(connection, &mut totals, tenant_id, namespace, key, *length)?;
        }
    }
    apply_totals(connection, totals)?;
    let removed = connection.execute(DELETE_EXPIRED_ITEMS, params![now]).map_err(storage)?;
    let mut receipt = Receipt::default();
    receipt.add("items", removed as u64);
    Ok(receipt)
}
