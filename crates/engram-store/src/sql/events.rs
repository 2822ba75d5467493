//! Bulk event append: multi-row inserts, the new sequences read back, postings and df written
//! once per batch.

use std::collections::HashMap;

use engram_types::Event;

use super::connection::Connection;
use super::encode::{millis, optional_millis, optional_vector_bytes, to_json};
use super::index_changes::IndexChanges;
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
/// index rejects a taken one, and the caller then names it with [`first_conflict`].
pub(crate) fn insert(
    connection: &mut dyn Connection,
    prepared: &[Prepared<Event>],
    created: &mut NewSpaces,
) -> Result<()> {
    let mut sequences: HashMap<(String, String), i64> = HashMap::with_capacity(prepared.len());
    for chunk in prepared.chunks(EVENTS_PER_INSERT) {
        let mut statement = Statement::new(format!("{INSERT}{}", vec![ROW; chunk.len()].join(", ")));
        for item in chunk {
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
        }
        if connection.dialect().returns_inserted_rows() {
            statement.sql.push_str(" RETURNING tenant_id, event_id, seq");
            for (key, sequence) in
                statement.rows(connection, |row| Ok(((row.text(0)?, row.text(1)?), row.integer(2)?)))?
            {
                sequences.insert(key, sequence);
            }
        } else {
            statement.execute(connection)?;
            read_sequences(connection, chunk, &mut sequences)?;
        }
    }
    let mut changes = IndexChanges::default();
    let mut last_space: Option<(&str, &str, i64)> = None;
    for item in prepared {
        let scope = &item.record.scope;
        let Some(&sequence) = sequences.get(&(scope.tenant_id.clone(), item.record.event_id.clone())) else {
            return Err(Error::storage(connection.dialect().backend(), "an inserted event is not there"));
        };
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
