//! Facts: upsert (create, supersede, refresh) and history.

use engram_types::{Fact, FactStatus, FactWrite, FactWriteOutcome, Scope};
use rusqlite::{Connection, OptionalExtension, params};

use super::error::storage;
use super::postings::{self, IndexChanges, NewSpaces};
use super::records::unindex;
use super::rows::{FACT_COLUMNS, get, millis, optional_millis, optional_vector_bytes, read_fact, to_json};
use crate::error::{Error, Result};
use crate::prepare::{self, FactPlan, Prepared};
use crate::record::{RecordKind, visible_spaces};

/// Applies the upsert plan of `prepare::plan_fact` inside the caller's transaction.
pub(super) fn upsert(connection: &Connection, prepared: Prepared<Fact>, created: &mut NewSpaces) -> Result<FactWrite> {
    let scope = &prepared.record.scope;
    let active: Option<(i64, Fact)> = connection
        .prepare_cached(&format!(
            "SELECT {FACT_COLUMNS} FROM facts WHERE tenant_id = ?1 AND space = ?2 AND fact_key = ?3 AND status = 'active' ORDER BY seq DESC LIMIT 1"
        ))
        .and_then(|mut statement| {
            statement.query_row(params![scope.tenant_id, prepared.space, prepared.record.fact_key], |row| Ok((row.get(0)?, read_fact(row)))).optional()
        })
        .map_err(storage)?
        .map(|(sequence, fact)| fact.map(|fact| (sequence, fact)))
        .transpose()?;
    let (active_sequence, active) = match active {
        Some((sequence, fact)) => (Some(sequence), Some(fact)),
        None => (None, None),
    };
    let mut changes = IndexChanges::default();
    let write = match prepare::plan_fact(active, prepared) {
        FactPlan::Create(new) => {
            check_new_id(connection, &new.record)?;
            let fact = new.record.clone();
            insert(connection, &new, &mut changes, created)?;
            FactWrite { fact, outcome: FactWriteOutcome::Created, superseded: None }
        }
        FactPlan::Supersede { previous, new } => {
            check_new_id(connection, &new.record)?;
            if let Some(sequence) = active_sequence {
                let had_vector = previous.embedding.is_some();
                unindex(connection, RecordKind::Fact, sequence, had_vector, &mut changes)?;
                update(connection, sequence, &previous)?;
            }
            let fact = new.record.clone();
            insert(connection, &new, &mut changes, created)?;
            FactWrite { fact, outcome: FactWriteOutcome::Superseded, superseded: Some(previous.fact_id) }
        }
        FactPlan::Refresh(fact) => {
            if let Some(sequence) = active_sequence {
                update(connection, sequence, &fact)?;
            }
            FactWrite { fact, outcome: FactWriteOutcome::Refreshed, superseded: None }
        }
    };
    changes.apply(connection)?;
    Ok(write)
}

/// Every version of the key in the scope's visible spaces, oldest first (by recorded_at,
/// then insertion order).
pub(super) fn history(connection: &Connection, scope: &Scope, fact_key: &str) -> Result<Vec<Fact>> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {FACT_COLUMNS} FROM facts WHERE tenant_id = ?1 AND space = ?2 AND fact_key = ?3"
        ))
        .map_err(storage)?;
    let mut history: Vec<(i64, Fact)> = Vec::new();
    for space in visible_spaces(scope, RecordKind::Fact) {
        let mut rows = statement.query(params![scope.tenant_id, space, fact_key]).map_err(storage)?;
        while let Some(row) = rows.next().map_err(storage)? {
            history.push((get(row, 0)?, read_fact(row)?));
        }
    }
    history.sort_by_key(|(sequence, fact)| (fact.recorded_at, *sequence));
    Ok(history.into_iter().map(|(_, fact)| fact).collect())
}

/// Stores an exported fact as it was (imports). Its id must be new, and an active fact must
/// not meet another active version of its key.
pub(super) fn restore(
    connection: &Connection,
    prepared: &Prepared<Fact>,
    changes: &mut IndexChanges,
    created: &mut NewSpaces,
) -> Result<()> {
    let fact = &prepared.record;
    check_new_id(connection, fact)?;
    if fact.status == FactStatus::Active {
        let active = connection
            .prepare_cached("SELECT fact_id FROM facts WHERE tenant_id = ?1 AND space = ?2 AND fact_key = ?3 AND status = 'active' LIMIT 1")
            .and_then(|mut statement| {
                statement.query_row(params![fact.scope.tenant_id, prepared.space, fact.fact_key], |row| row.get::<_, String>(0)).optional()
            })
            .map_err(storage)?;
        if let Some(active) = active {
            return Err(Error::Conflict {
                entity: "fact",
                id: fact.fact_id.clone(),
                detail: format!("fact_key {:?} already has an active fact ({active})", fact.fact_key),
            });
        }
    }
    insert(connection, prepared, changes, created)
}

fn check_new_id(connection: &Connection, fact: &Fact) -> Result<()> {
    super::records::check_new_id(connection, RecordKind::Fact, &fact.scope.tenant_id, &fact.fact_id)
}

fn insert(
    connection: &Connection,
    prepared: &Prepared<Fact>,
    changes: &mut IndexChanges,
    created: &mut NewSpaces,
) -> Result<()> {
    let fact = &prepared.record;
    let scope = &fact.scope;
    let (value, sources, tags, entities) =
        (to_json(&fact.value)?, to_json(&fact.sources)?, to_json(&fact.tags)?, to_json(&fact.entities)?);
    let terms = to_json(&prepared.terms.frequencies)?;
    connection
        .prepare_cached(
            "INSERT INTO facts (tenant_id, fact_id, user_id, agent_id, session_id, run_id, space, scope_level, fact_key, value, text, status, valid_from, valid_to, recorded_at, confidence, importance, sources, tags, entities, expires_at, superseded_by, token_count, lexical_length, lexical_terms, embedding, supersedes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                scope.tenant_id,
                fact.fact_id,
                scope.user_id,
                scope.agent_id,
                scope.session_id,
                scope.run_id,
                prepared.space,
                fact.scope_level.as_str(),
                fact.fact_key,
                value,
                fact.text,
                fact.status.as_str(),
                millis(fact.valid_from),
                optional_millis(fact.valid_to),
                millis(fact.recorded_at),
                fact.confidence,
                fact.importance,
                sources,
                tags,
                entities,
                optional_millis(fact.expires_at),
                fact.superseded_by,
                fact.token_count,
                prepared.terms.length,
                terms,
                optional_vector_bytes(fact.embedding.as_deref()),
                fact.supersedes,
            ])
        })
        .map_err(storage)?;
    if fact.status == FactStatus::Superseded {
        // Only restores write superseded versions; those are not in the lexical index.
        return Ok(());
    }
    let sequence = connection.last_insert_rowid();
    let space_id = postings::resolve(connection, &scope.tenant_id, RecordKind::Fact, &prepared.space, created)?;
    changes.insert(RecordKind::Fact, sequence, &scope.tenant_id, space_id, &prepared.terms);
    changes.insert_vector(RecordKind::Fact, sequence, &scope.tenant_id, &prepared.space, fact.embedding.as_deref());
    Ok(())
}

/// Writes the fields an upsert changes on an existing version.
fn update(connection: &Connection, sequence: i64, fact: &Fact) -> Result<()> {
    let sources = to_json(&fact.sources)?;
    connection
        .prepare_cached("UPDATE facts SET status = ?2, valid_to = ?3, superseded_by = ?4, confidence = ?5, sources = ?6 WHERE seq = ?1")
        .and_then(|mut statement| {
            statement.execute(params![sequence, fact.status.as_str(), optional_millis(fact.valid_to), fact.superseded_by, fact.confidence, sources])
        })
        .map_err(storage)?;
    Ok(())
}
