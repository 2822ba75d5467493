//! Bulk event append: one transaction, one insert per event, postings per event, df and
//! totals once per distinct key for the whole batch.

use std::collections::HashSet;

use engram_types::Event;
use rusqlite::{Connection, OptionalExtension, params};

use super::error::storage;
use super::postings::{self, IndexChanges, NewSpaces};
use super::rows::{millis, optional_millis, optional_vector_bytes, to_json};
use crate::error::{Error, Result};
use crate::prepare::Prepared;
use crate::record::RecordKind;

/// Inserts the batch inside the caller's transaction. Ids are not checked here: the unique
/// index rejects a taken one, and the caller then names it with [`first_conflict`] (checking
/// every id up front would cost a lookup per event on the hot path).
pub(super) fn insert(connection: &Connection, prepared: &[Prepared<Event>], created: &mut NewSpaces) -> Result<()> {
    let mut changes = IndexChanges::default();
    let mut last_space: Option<(&str, &str, i64)> = None;
    let mut statement = connection
        .prepare_cached(
            "INSERT INTO events (tenant_id, event_id, user_id, agent_id, session_id, run_id, space, ts, kind, role, text, payload, tags, entities, importance, token_count, expires_at, lexical_length, lexical_terms, embedding, line_tokens)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        )
        .map_err(storage)?;
    for item in prepared {
        let event = &item.record;
        let scope = &event.scope;
        statement
            .execute(params![
                scope.tenant_id,
                event.event_id,
                scope.user_id,
                scope.agent_id,
                scope.session_id,
                scope.run_id,
                item.space,
                millis(event.ts),
                event.kind.as_str(),
                event.role,
                event.text,
                to_json(&event.payload)?,
                to_json(&event.tags)?,
                to_json(&event.entities)?,
                event.importance,
                event.token_count,
                optional_millis(event.expires_at),
                item.terms.length,
                to_json(&item.terms.frequencies)?,
                optional_vector_bytes(event.embedding.as_deref()),
                item.line_tokens,
            ])
            .map_err(storage)?;
        let sequence = connection.last_insert_rowid();
        // Batches usually run in a few spaces, often one: skip the lookup for a repeat.
        let space_id = match last_space {
            Some((tenant_id, space, id)) if tenant_id == scope.tenant_id && space == item.space => id,
            _ => {
                let id = postings::resolve(connection, &scope.tenant_id, RecordKind::Event, &item.space, created)?;
                last_space = Some((&scope.tenant_id, &item.space, id));
                id
            }
        };
        changes.insert(RecordKind::Event, sequence, &scope.tenant_id, space_id, &item.terms);
        changes.insert_vector(RecordKind::Event, sequence, &scope.tenant_id, &item.space, event.embedding.as_deref());
    }
    changes.apply(connection).map(drop)
}

/// The error the in-memory store reports for this batch: the first event whose id is taken
/// in its tenant or repeats an earlier id of the batch. `None` when every id is free.
pub(super) fn first_conflict(connection: &Connection, prepared: &[Prepared<Event>]) -> Result<Option<Error>> {
    let mut batch_ids = HashSet::new();
    let mut statement =
        connection.prepare_cached("SELECT 1 FROM events WHERE tenant_id = ?1 AND event_id = ?2").map_err(storage)?;
    for (index, item) in prepared.iter().enumerate() {
        let event = &item.record;
        let taken = statement
            .query_row(params![event.scope.tenant_id, event.event_id], |_| Ok(()))
            .optional()
            .map_err(storage)?
            .is_some();
        if taken || !batch_ids.insert((&event.scope.tenant_id, &event.event_id)) {
            return Ok(Some(Error::Conflict {
                entity: "event",
                id: event.event_id.clone(),
                detail: format!("events[{index}].event_id already exists in the tenant"),
            }));
        }
    }
    Ok(None)
}
