//! Bulk event append: multi-row inserts, the new sequences read back, postings and df written
//! once per batch.

use std::collections::HashMap;

use engram_types::Event;

use super::connection::Connection;
use super::dialect::Dialect;
use super::encode::{millis, optional_millis, optional_vector_bytes, to_json};
use super::index_changes::IndexChanges;
use super::run::insert_returning;
use super::spaces::{self, NewSpaces};
use super::statement::{Statement, placeholders};
use crate::error::{Error, Result};
use crate::prepare::Prepared;
use crate::record::RecordKind;

/// Events per multi-row insert (21 parameters each).
const EVENTS_PER_INSERT: usize = 500;

const INSERT: &str = "INSERT INTO events (tenant_id, event_id, user_id, agent_id, session_id, run_id, space, ts, kind, role, text, payload, tags, entities, importance, token_count, expires_at, lexical_length, lexical_terms, embedding, line_tokens) VALUES ";
const ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// Inserts the batch inside the caller's transaction. Ids are not checked first: the unique
/// index rejects a taken one, and the engine then names it.
pub(crate) fn insert(
    connection: &mut dyn Connection,
    prepared: &[Prepared<Event>],
    created: &mut NewSpaces,
) -> Result<()> {
    let sequences = if connection.dialect() == Dialect::Sqlite {
        insert_one_by_one(connection, prepared)?
    } else {
        insert_in_chunks(connection, prepared)?
    };
    let mut changes = IndexChanges::default();
    let mut last_space: Option<(&str, &str, i64)> = None;
    for (item, sequence) in prepared.iter().zip(sequences) {
        let scope = &item.record.scope;
        // Batches usually run in a few spaces, often one: skip the lookup for a repeat.
        let space_id = match last_space {
            Some((tenant_id, space, id)) if tenant_id == scope.tenant_id && space == item.space => id,
            _ => {
                let id = spaces::resolve(connection, &scope.tenant_id, RecordKind::Event, &item.space, created)?;
                last_space = Some((&scope.tenant_id, &item.space, id));
                id
            }
        };
        changes.insert(RecordKind::Event, sequence, &scope.tenant_id, space_id, &item.terms);
        let embedding = item.record.embedding.as_deref();
        changes.insert_vector(RecordKind::Event, sequence, &scope.tenant_id, &item.space, embedding);
    }
    changes.apply(connection).map(drop)
}

/// SQLite: one cached single-row statement per event, its sequence the last insert's rowid (a
/// long multi-row statement is prepared anew for every batch length, and costs more there).
fn insert_one_by_one(connection: &mut dyn Connection, prepared: &[Prepared<Event>]) -> Result<Vec<i64>> {
    let mut sequences = Vec::with_capacity(prepared.len());
    for item in prepared {
        let mut statement = Statement::new(format!("{INSERT}{ROW}"));
        bind_row(&mut statement, item)?;
        sequences.push(insert_returning(statement, "seq", connection)?);
    }
    Ok(sequences)
}

/// The servers: multi-row inserts (a round trip per chunk), the sequences returned by the insert
/// (Postgres) or read back through the unique index (MySQL), in the batch's order.
fn insert_in_chunks(connection: &mut dyn Connection, prepared: &[Prepared<Event>]) -> Result<Vec<i64>> {
    let mut by_id: HashMap<(String, String), i64> = HashMap::with_capacity(prepared.len());
    for chunk in prepared.chunks(EVENTS_PER_INSERT) {
        let mut statement = Statement::new(format!("{INSERT}{}", vec![ROW; chunk.len()].join(", ")));
        for item in chunk {
            bind_row(&mut statement, item)?;
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

/// Binds one event's row (the columns of [`INSERT`], in order).
fn bind_row(statement: &mut Statement, item: &Prepared<Event>) -> Result<()> {
    let event = &item.record;
    let scope = &event.scope;
    statement.push(&scope.tenant_id);
    statement.push(&event.event_id);
    statement.push(&scope.user_id);
    statement.push(&scope.agent_id);
    statement.push(&scope.session_id);
    statement.push(&scope.run_id);
    statement.push(&item.space);
    statement.push(millis(event.ts));
    statement.push(event.kind.as_str());
    statement.push(&event.role);
    statement.push(&event.text);
    statement.push(to_json(&event.payload)?);
    statement.push(to_json(&event.tags)?);
    statement.push(to_json(&event.entities)?);
    statement.push(event.importance);
    statement.push(event.token_count);
    statement.push(optional_millis(event.expires_at));
    statement.push(item.terms.length);
    statement.push(to_json(&item.terms.frequencies)?);
    statement.push(optional_vector_bytes(event.embedding.as_deref()));
    statement.push(item.line_tokens);
    Ok(())
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
        let mut statement = Statement::new(format!(
            "SELECT event_id, seq FROM events WHERE tenant_id = ? AND event_id IN ({})",
            placeholders(ids.len())
        ))
        .bind(tenant_id);
        for id in ids {
            statement.push(id);
        }
        for (event_id, sequence) in statement.rows(connection, |row| Ok((row.text(0)?, row.integer(1)?)))? {
            sequences.insert((tenant_id.to_string(), event_id), sequence);
        }
    }
    Ok(())
}
