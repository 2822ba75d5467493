//! Facts: upsert (create, supersede, refresh) and history.

use engram_types::{Fact, FactStatus, Scope};

use super::columns::FACT_COLUMNS;
use super::connection::Connection;
use super::decode::read_fact;
use super::encode::{millis, optional_millis, optional_vector_bytes, to_json};
use super::index_changes::IndexChanges;
use super::run::insert_returning;
use super::spaces::{self, NewSpaces};
use super::statement::{Statement, placeholders};
use crate::error::{Error, Result};
use crate::prepare::Prepared;
use crate::record::{RecordKind, visible_spaces};

/// The active fact of a key in one space, with its sequence.
pub(crate) fn active(
    connection: &mut dyn Connection,
    tenant_id: &str,
    space: &str,
    fact_key: &str,
) -> Result<Option<(i64, Fact)>> {
    Statement::new(format!(
        "SELECT {FACT_COLUMNS} FROM facts WHERE tenant_id = ? AND space = ? AND fact_key = ? AND status = 'active' ORDER BY seq DESC LIMIT 1"
    ))
    .bind(tenant_id)
    .bind(space)
    .bind(fact_key)
    .first_row(connection, |row| Ok((row.integer(0)?, read_fact(row)?)))
}

/// Every version of the key in the scope's visible spaces, with sequences.
pub(crate) fn versions(connection: &mut dyn Connection, scope: &Scope, fact_key: &str) -> Result<Vec<(i64, Fact)>> {
    let spaces = visible_spaces(scope, RecordKind::Fact);
    let mut statement = Statement::new(format!(
        "SELECT {FACT_COLUMNS} FROM facts WHERE tenant_id = ? AND space IN ({}) AND fact_key = ?",
        placeholders(spaces.len())
    ))
    .bind(&scope.tenant_id);
    for space in spaces {
        statement.push(space);
    }
    statement.push(fact_key);
    statement.rows(connection, |row| Ok((row.integer(0)?, read_fact(row)?)))
}

/// Stores an exported fact as it was (imports). Its id must be new, and an active fact must not
/// meet another active version of its key.
pub(crate) fn restore(
    connection: &mut dyn Connection,
    prepared: &Prepared<Fact>,
    changes: &mut IndexChanges,
    created: &mut NewSpaces,
) -> Result<()> {
    let fact = &prepared.record;
    check_new_id(connection, fact)?;
    if fact.status == FactStatus::Active {
        let active = Statement::new(
            "SELECT fact_id FROM facts WHERE tenant_id = ? AND space = ? AND fact_key = ? AND status = 'active' LIMIT 1",
        )
        .bind(&fact.scope.tenant_id)
        .bind(&prepared.space)
        .bind(&fact.fact_key)
        .first_row(connection, |row| row.text(0))?;
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

fn check_new_id(connection: &mut dyn Connection, fact: &Fact) -> Result<()> {
    super::records::check_new_id(connection, RecordKind::Fact, &fact.scope.tenant_id, &fact.fact_id)
}

pub(crate) fn insert(
    connection: &mut dyn Connection,
    prepared: &Prepared<Fact>,
    changes: &mut IndexChanges,
    created: &mut NewSpaces,
) -> Result<()> {
    let fact = &prepared.record;
    let scope = &fact.scope;
    let statement = Statement::new(
        "INSERT INTO facts (tenant_id, fact_id, user_id, agent_id, session_id, run_id, space, scope_level, fact_key, value, text, status, valid_from, valid_to, recorded_at, confidence, importance, sources, tags, entities, expires_at, superseded_by, token_count, lexical_length, lexical_terms, embedding, supersedes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&scope.tenant_id)
    .bind(&fact.fact_id)
    .bind(&scope.user_id)
    .bind(&scope.agent_id)
    .bind(&scope.session_id)
    .bind(&scope.run_id)
    .bind(&prepared.space)
    .bind(fact.scope_level.as_str())
    .bind(&fact.fact_key)
    .bind(to_json(&fact.value)?)
    .bind(&fact.text)
    .bind(fact.status.as_str())
    .bind(millis(fact.valid_from))
    .bind(optional_millis(fact.valid_to))
    .bind(millis(fact.recorded_at))
    .bind(fact.confidence)
    .bind(fact.importance)
    .bind(to_json(&fact.sources)?)
    .bind(to_json(&fact.tags)?)
    .bind(to_json(&fact.entities)?)
    .bind(optional_millis(fact.expires_at))
    .bind(fact.superseded_by.clone())
    .bind(fact.token_count)
    .bind(prepared.terms.length)
    .bind(to_json(&prepared.terms.frequencies)?)
    .bind(optional_vector_bytes(fact.embedding.as_deref()))
    .bind(fact.supersedes.clone());
    let sequence = insert_returning(statement, "seq", connection)?;
    if fact.status == FactStatus::Superseded {
        // Only restores write superseded versions; those are not in the lexical index.
        return Ok(());
    }
    let space_id = spaces::resolve(connection, &scope.tenant_id, RecordKind::Fact, &prepared.space, created)?;
    changes.insert(RecordKind::Fact, sequence, &scope.tenant_id, space_id, &prepared.terms);
    changes.insert_vector(RecordKind::Fact, sequence, &scope.tenant_id, &prepared.space, fact.embedding.as_deref());
    Ok(())
}

/// Writes the fields an upsert changes on an existing version.
pub(crate) fn update(connection: &mut dyn Connection, sequence: i64, fact: &Fact) -> Result<()> {
    Statement::new(
        "UPDATE facts SET status = ?, valid_to = ?, superseded_by = ?, confidence = ?, sources = ? WHERE seq = ?",
    )
    .bind(fact.status.as_str())
    .bind(optional_millis(fact.valid_to))
    .bind(fact.superseded_by.clone())
    .bind(fact.confidence)
    .bind(to_json(&fact.sources)?)
    .bind(sequence)
    .execute(connection)?;
    Ok(())
}
