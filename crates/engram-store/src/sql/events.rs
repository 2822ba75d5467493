//! Bulk event append: multi-row inserts, the new sequences read back, postings and df queued
//! with the transaction's other index changes.

use std::collections::HashMap;

use engram_types::Event;

use super::columns::table_info;
use super::connection::Connection;
use super::dialect::Dialect;
use super::encode::written_values;
use super::index_changes::IndexChanges;
use super::record_columns::event_fields;
use super::records::sequences_of;
use super::run::insert_returning;
use super::spaces::{self, SpaceIds};
use super::statement::{Statement, placeholders};
use crate::error::{Error, Result};
use crate::prepare::Prepared;
use crate::record::RecordKind;

/// Events per multi-row insert (21 parameters each).
const EVENTS_PER_INSERT: usize = 500;

/// Inserts the batch inside the caller's transaction. Ids are not checked first: the unique
/// index rejects a taken one, and the engine then names it.
pub(crate) fn insert(
    connection: &mut dyn Connection,
    prepared: &[Prepared<Event>],
    changes: &mut IndexChanges,
    known: &mut SpaceIds,
) -> Result<()> {
    let sequences = if connection.dialect() == Dialect::Sqlite {
        insert_one_by_one(connection, prepared)?
    } else {
        insert_in_chunks(connection, prepared)?
    };
    for (item, sequence) in prepared.iter().zip(sequences) {
        let tenant_id = &item.record.scope.tenant_id;
        let space_id = spaces::resolve(connection, tenant_id, RecordKind::Event, &item.space, known)?;
        let (space, embedding) = ((item.space.as_str(), space_id), item.record.embedding.as_deref());
        changes.insert(RecordKind::Event, sequence, tenant_id, space, &item.terms, embedding);
    }
    Ok(())
}

/// SQLite: one cached single-row statement per event, its sequence the last insert's rowid (a
/// long multi-row statement is prepared anew for every batch length, and costs more there).
fn insert_one_by_one(connection: &mut dyn Connection, prepared: &[Prepared<Event>]) -> Result<Vec<i64>> {
    let columns = table_info(RecordKind::Event).written_columns();
    let sql = insert_sql(&columns, 1);
    let mut sequences = Vec::with_capacity(prepared.len());
    for item in prepared {
        let mut statement = Statement::new(sql.as_str());
        statement.params.extend(written_values(event_fields(&item.record)?, item, &columns)?);
        sequences.push(insert_returning(statement, "seq", connection)?);
    }
    Ok(sequences)
}

/// The servers: multi-row inserts (a round trip per chunk), the sequences returned by the insert
/// (Postgres) or read back through the unique index (MySQL), in the batch's order.
fn insert_in_chunks(connection: &mut dyn Connection, prepared: &[Prepared<Event>]) -> Result<Vec<i64>> {
    let mut by_id: HashMap<(String, String), i64> = HashMap::with_capacity(prepared.len());
    let columns = table_info(RecordKind::Event).written_columns();
    for chunk in prepared.chunks(EVENTS_PER_INSERT) {
        let mut statement = Statement::new(insert_sql(&columns, chunk.len()));
        for item in chunk {
            statement.params.extend(written_values(event_fields(&item.record)?, item, &columns)?);
        }
        if connection.dialect().returns_inserted_rows() {
            statement.sql.push_str(" RETURNING tenant_id, event_id, seq");
            for (key, sequence) in
                statement.rows(connection, |row| Ok(((row.text(0)?, row.text(1)?), row.integer(2)?)))?
            {
                by_id.insert(key, sequence);
            }
        } else {
            statement.execute(connection)?;
            read_sequences(connection, chunk, &mut by_id)?;
        }
    }
    let missing = || Error::storage(connection.dialect().backend(), "an inserted event is not there");
    prepared
        .iter()
        .map(|item| {
            let key = (item.record.scope.tenant_id.clone(), item.record.event_id.clone());
            by_id.get(&key).copied().ok_or_else(missing)
        })
        .collect()
}

/// The insert of `rows` events, each of `columns`.
fn insert_sql(columns: &[&str], rows: usize) -> String {
    let row = format!("({})", placeholders(columns.len()));
    format!("INSERT INTO events ({}) VALUES {}", columns.join(", "), vec![row; rows].join(", "))
}

/// The sequences just given to `chunk` (MySQL cannot return them from the insert), by
/// (tenant, event id) through the unique index.
fn read_sequences(
    connection: &mut dyn Connection,
    chunk: &[Prepared<Event>],
    sequences: &mut HashMap<(String, String), i64>,
) -> Result<()> {
    let mut by_tenant: HashMap<&str, Vec<&str>> = HashMap::new();
    for item in chunk {
        by_tenant.entry(&item.record.scope.tenant_id).or_default().push(&item.record.event_id);
    }
    for (tenant_id, ids) in by_tenant {
        for (event_id, sequence) in sequences_of(connection, RecordKind::Event, tenant_id, &ids)? {
            sequences.insert((tenant_id.to_string(), event_id), sequence);
        }
    }
    Ok(())
}
