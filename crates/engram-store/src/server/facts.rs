//! Facts: upsert (create, supersede, refresh) and history.

use engram_types::{Fact, FactStatus, FactWrite, FactWriteOutcome, Scope};
use sqlx::AnyConnection;

use super::dialect::Dialect;
use super::postings::{self, IndexChanges};
use super::records::unindex;
use super::rows::{ServerRow, get};
use super::statement::{Statement, insert_returning};
use crate::error::{Error, Result};
use crate::prepare::{self, FactPlan, Prepared};
use crate::record::{RecordKind, visible_spaces};
use crate::sql::{FACT_COLUMNS, NewSpaces, millis, optional_millis, optional_vector_bytes, read_fact, to_json};

/// Applies the upsert plan of `prepare::plan_fact` inside the caller's transaction.
pub(super) async fn upsert(
    connection: &mut AnyConnection,
    dialect: Dialect,
    prepared: Prepared<Fact>,
    created: &mut NewSpaces,
) -> Result<FactWrite> {
    let scope = &prepared.record.scope;
    let row = Statement::new(format!(
        "SELECT {FACT_COLUMNS} FROM facts WHERE tenant_id = ? AND space = ? AND fact_key = ? AND status = 'active' ORDER BY seq DESC LIMIT 1"
    ))
    .bind(&scope.tenant_id)
    .bind(&prepared.space)
    .bind(&prepared.record.fact_key)
    .fetch_optional(connection, dialect)
    .await?;
    let (active_sequence, active) = match row {
        Some(row) => (Some(get::<i64>(&row, dialect, 0)?), Some(read_fact(&ServerRow { row: &row, dialect })?)),
        None => (None, None),
    };
    let mut changes = IndexChanges::default();
    let write = match prepare::plan_fact(active, prepared) {
        FactPlan::Create(new) => {
            check_new_id(connection, dialect, &new.record).await?;
            let fact = new.record.clone();
            insert(connection, dialect, &new, &mut changes, created).await?;
            FactWrite { fact, outcome: FactWriteOutcome::Created, superseded: None }
        }
        FactPlan::Supersede { previous, new } => {
            check_new_id(connection, dialect, &new.record).await?;
            if let Some(sequence) = active_sequence {
                let had_vector = previous.embedding.is_some();
                unindex(connection, dialect, RecordKind::Fact, sequence, had_vector, &mut changes).await?;
                update(connection, dialect, sequence, &previous).await?;
            }
            let fact = new.record.clone();
            insert(connection, dialect, &new, &mut changes, created).await?;
            FactWrite { fact, outcome: FactWriteOutcome::Superseded, superseded: Some(previous.fact_id) }
        }
        FactPlan::Refresh(fact) => {
            if let Some(sequence) = active_sequence {
                update(connection, dialect, sequence, &fact).await?;
            }
            FactWrite { fact, outcome: FactWriteOutcome::Refreshed, superseded: None }
        }
    };
    changes.apply(connection, dialect).await?;
    Ok(write)
}

/// Every version of the key in the scope's visible spaces, oldest first (by recorded_at, then
/// insertion order).
pub(super) async fn history(
    connection: &mut AnyConnection,
    dialect: Dialect,
    scope: &Scope,
    fact_key: &str,
) -> Result<Vec<Fact>> {
    let spaces = visible_spaces(scope, RecordKind::Fact);
    let mut statement = Statement::new(format!(
        "SELECT {FACT_COLUMNS} FROM facts WHERE tenant_id = ? AND space IN ({}) AND fact_key = ?",
        super::statement::placeholders(spaces.len())
    ))
    .bind(&scope.tenant_id);
    for space in spaces {
        statement.push(space);
    }
    statement.push(fact_key);
    let mut history: Vec<(i64, Fact)> = Vec::new();
    for row in statement.fetch_all(connection, dialect).await? {
        history.push((get(&row, dialect, 0)?, read_fact(&ServerRow { row: &row, dialect })?));
    }
    history.sort_by_key(|(sequence, fact)| (fact.recorded_at, *sequence));
    Ok(history.into_iter().map(|(_, fact)| fact).collect())
}

/// Stores an exported fact as it was (imports). Its id must be new, and an active fact must not
/// meet another active version of its key.
pub(super) async fn restore(
    connection: &mut AnyConnection,
    dialect: Dialect,
    prepared: &Prepared<Fact>,
    changes: &mut IndexChanges,
    created: &mut NewSpaces,
) -> Result<()> {
    let fact = &prepared.record;
    check_new_id(connection, dialect, fact).await?;
    if fact.status == FactStatus::Active {
        let active = Statement::new(
            "SELECT fact_id FROM facts WHERE tenant_id = ? AND space = ? AND fact_key = ? AND status = 'active' LIMIT 1",
        )
        .bind(&fact.scope.tenant_id)
        .bind(&prepared.space)
        .bind(&fact.fact_key)
        .fetch_optional(connection, dialect)
        .await?;
        if let Some(row) = active {
            let active: String = get(&row, dialect, 0)?;
            return Err(Error::Conflict {
                entity: "fact",
                id: fact.fact_id.clone(),
                detail: format!("fact_key {:?} already has an active fact ({active})", fact.fact_key),
            });
        }
    }
    insert(connection, dialect, prepared, changes, created).await
}

async fn check_new_id(connection: &mut AnyConnection, dialect: Dialect, fact: &Fact) -> Result<()> {
    super::records::check_new_id(connection, dialect, RecordKind::Fact, &fact.scope.tenant_id, &fact.fact_id).await
}

async fn insert(
    connection: &mut AnyConnection,
    dialect: Dialect,
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
    let sequence = insert_returning(statement, "seq", connection, dialect).await?;
    if fact.status == FactStatus::Superseded {
        // Only restores write superseded versions; those are not in the lexical index.
        return Ok(());
    }
    let space_id =
        postings::resolve(connection, dialect, &scope.tenant_id, RecordKind::Fact, &prepared.space, created).await?;
    changes.insert(RecordKind::Fact, sequence, &scope.tenant_id, space_id, &prepared.terms);
    changes.insert_vector(RecordKind::Fact, sequence, &scope.tenant_id, &prepared.space, fact.embedding.as_deref());
    Ok(())
}

/// Writes the fields an upsert changes on an existing version.
async fn update(connection: &mut AnyConnection, dialect: Dialect, sequence: i64, fact: &Fact) -> Result<()> {
    Statement::new(
        "UPDATE facts SET status = ?, valid_to = ?, superseded_by = ?, confidence = ?, sources = ? WHERE seq = ?",
    )
    .bind(fact.status.as_str())
    .bind(optional_millis(fact.valid_to))
    .bind(fact.superseded_by.clone())
    .bind(fact.confidence)
    .bind(to_json(&fact.sources)?)
    .bind(sequence)
    .execute(connection, dialect)
    .await?;
    Ok(())
}
