//! Writing and updating facts, episodes, procedures and insights (events go by the batch:
//! `events.rs`), and removing a record's postings.

use super::columns::table_info;
use super::connection::Connection;
use super::encode::{field_values, written_values};
use super::index_changes::IndexChanges;
use super::run::insert_returning;
use super::spaces::{self, SpaceIds};
use super::statement::{Statement, placeholders};
use super::stored_values::stored_terms;
use crate::error::Result;
use crate::prepare::{self, Prepared};
use crate::record::{Record, RecordKind};

/// Writes a fact, episode, procedure or insight row (over the one at `sequence` when replacing
/// it, keeping its sequence) and queues its postings and vector row.
pub(crate) fn write(
    connection: &mut dyn Connection,
    sequence: Option<i64>,
    prepared: &Prepared<Record>,
    changes: &mut IndexChanges,
    known: &mut SpaceIds,
) -> Result<()> {
    let record = &prepared.record;
    let kind = record.kind();
    let info = table_info(kind);
    let columns = info.written_columns();
    let mut statement =
        Statement { sql: String::new(), params: written_values(field_values(record)?, prepared, &columns)? };
    let tenant_id = &record.scope().tenant_id;
    let sequence = match sequence {
        Some(sequence) => {
            statement.sql = update_sql(info.table, &columns);
            statement.push(tenant_id);
            statement.push(sequence);
            statement.execute(connection)?;
            sequence
        }
        None => {
            let (table, values) = (info.table, placeholders(columns.len()));
            statement.sql = format!("INSERT INTO {table} ({}) VALUES ({values})", columns.join(", "));
            insert_returning(statement, "seq", connection)?
        }
    };
    // Only restores write superseded facts; those are not in the lexical index.
    if prepare::is_indexed(record) {
        let space_id = spaces::resolve(connection, tenant_id, kind, &prepared.space, known)?;
        let space = (prepared.space.as_str(), space_id);
        changes.insert(kind, sequence, tenant_id, space, &prepared.terms, record.embedding());
    }
    Ok(())
}

/// Writes what an update changes on a stored record (a fact's status, an insight's
/// validation): its fields, over the stored ones; its space and index stay.
pub(crate) fn update(connection: &mut dyn Connection, sequence: i64, record: &Record) -> Result<()> {
    let info = table_info(record.kind());
    let mut statement = Statement { sql: String::new(), params: field_values(record)? };
    let columns: Vec<&str> = info.columns.split(", ").skip(1).take(statement.params.len()).collect();
    statement.sql = update_sql(info.table, &columns);
    statement.push(&record.scope().tenant_id);
    statement.push(sequence);
    statement.execute(connection).map(drop)
}

/// `UPDATE` of `columns` of the row at a tenant's sequence (the tenant and the sequence bound
/// last).
fn update_sql(table: &str, columns: &[&str]) -> String {
    let assignments: Vec<String> = columns.iter().map(|column| format!("{column} = ?")).collect();
    format!("UPDATE {table} SET {} WHERE tenant_id = ? AND seq = ?", assignments.join(", "))
}

/// Removes a tenant's stored record's postings and, when it has one, its vector row (the
/// record's row stays), from the terms stored with it.
pub(crate) fn unindex(
    connection: &mut dyn Connection,
    kind: RecordKind,
    tenant_id: &str,
    sequence: i64,
    changes: &mut IndexChanges,
) -> Result<()> {
    let info = table_info(kind);
    // Insights carry no vector.
    let has_vector = if kind == RecordKind::Insight { "0 = 1" } else { "embedding IS NOT NULL" };
    let sql = format!(
        "SELECT space, lexical_terms, lexical_length, CASE WHEN {has_vector} THEN 1 ELSE 0 END FROM {} WHERE tenant_id = ? AND seq = ?",
        info.table
    );
    let backend = connection.dialect().backend();
    let stored = Statement::new(sql).bind(tenant_id).bind(sequence).first_row(connection, |row| {
        let terms = stored_terms(backend, &row.text(1)?, row.integer(2)?)?;
        Ok((row.text(0)?, terms, row.integer(3)? == 1))
    })?;
    let Some((space, terms, has_vector)) = stored else {
        return Ok(());
    };
    let space_id = spaces::lookup(connection, tenant_id, kind, &space, false)?;
    changes.remove(kind, sequence, tenant_id, (&space, space_id), &terms, has_vector);
    Ok(())
}

/// The records of `kind` the tenant holds among `ids`: (id, sequence) pairs, through the
/// unique (tenant, id) index.
pub(crate) fn sequences_of(
    connection: &mut dyn Connection,
    kind: RecordKind,
    tenant_id: &str,
    ids: &[&str],
) -> Result<Vec<(String, i64)>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let sql = format!(
            "SELECT {kind}_id, seq FROM {} WHERE tenant_id = ? AND {kind}_id IN ({})",
            table_info(kind).table,
            placeholders(chunk.len()),
            kind = kind.as_str(),
        );
        let mut statement = Statement::new(sql).bind(tenant_id);
        statement.push_all(chunk.iter().copied());
        found.extend(statement.rows(connection, |row| Ok((row.text(0)?, row.integer(1)?)))?);
    }
    Ok(found)
}

/// Ids per lookup statement, well under every database's parameter limit.
const IDS_PER_LOOKUP: usize = 1000;
