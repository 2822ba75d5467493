//! Items on Postgres and MySQL: the shared item SQL, with the dialect's conflict clause.

use engram_types::{Item, ItemWrite, OnConflict, Receipt, Timestamp, join_namespace};
use sqlx::AnyConnection;

use super::dialect::{Dialect, Update};
use super::rows::ServerRow;
use super::statement::{Param, Statement};
use crate::error::Result;
use crate::items::ItemScan;
use crate::sql::{DELETE_EXPIRED_ITEMS, DELETE_ITEM, INSERT_ITEM, item_scan_query, read_item, to_json};

const KEY: &str = "tenant_id, namespace, item_key";

pub(super) async fn put(
    connection: &mut AnyConnection,
    dialect: Dialect,
    items: &[ItemWrite],
    on_conflict: OnConflict,
    now: Timestamp,
) -> Result<()> {
    let conflict = match on_conflict {
        OnConflict::Replace => dialect.upsert(
            "items",
            KEY,
            &[
                ("value", Update::Replace),
                ("data", Update::Replace),
                ("updated_at", Update::Replace),
                ("expires_at", Update::Replace),
            ],
        ),
        OnConflict::Keep => dialect.ignore_existing(KEY, "item_key"),
    };
    let sql = format!("{INSERT_ITEM} {conflict}");
    let now = now.timestamp_millis();
    for item in items {
        Statement::new(sql.clone())
            .bind(&item.tenant_id)
            .bind(join_namespace(&item.namespace))
            .bind(&item.key)
            .bind(to_json(&item.value)?)
            .bind(Param::OptionalBlob(item.blob.clone()))
            .bind(now)
            .bind(now)
            .bind(item.expires_at.map(|expires_at| expires_at.timestamp_millis()))
            .execute(connection, dialect)
            .await?;
    }
    Ok(())
}

pub(super) async fn scan(connection: &mut AnyConnection, dialect: Dialect, scan: &ItemScan) -> Result<Vec<Item>> {
    let query = item_scan_query(scan);
    let mut statement = Statement::new(query.sql);
    for param in query.params {
        statement.push(param);
    }
    let rows = statement.fetch_all(connection, dialect).await?;
    rows.iter().map(|row| read_item(&scan.tenant_id, &ServerRow { row, dialect })).collect()
}

pub(super) async fn remove(
    connection: &mut AnyConnection,
    dialect: Dialect,
    tenant_id: &str,
    keys: &[(String, String)],
) -> Result<Receipt> {
    let mut removed = 0;
    for (namespace, key) in keys {
        let result =
            Statement::new(DELETE_ITEM).bind(tenant_id).bind(namespace).bind(key).execute(connection, dialect).await?;
        removed += result.rows_affected();
    }
    let mut receipt = Receipt::default();
    receipt.add("items", removed);
    Ok(receipt)
}

pub(super) async fn remove_expired(
    connection: &mut AnyConnection,
    dialect: Dialect,
    now: Timestamp,
) -> Result<Receipt> {
    let result = Statement::new(DELETE_EXPIRED_ITEMS).bind(now.timestamp_millis()).execute(connection, dialect).await?;
    let mut receipt = Receipt::default();
    receipt.add("items", result.rows_affected());
    Ok(receipt)
}
