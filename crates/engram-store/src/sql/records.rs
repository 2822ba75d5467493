//! Episodes, procedures and insights, and removing a record's postings.

use engram_types::{Episode, Insight, InsightUpdate, Limits, Procedure, ProcedureInput, Scope};

use super::columns::{INSIGHT_COLUMNS, PROCEDURE_COLUMNS, table_info};
use super::connection::Connection;
use super::decode::{read_insight, read_procedure, stored_terms};
use super::encode::{millis, optional_millis, optional_vector_bytes, to_integer, to_json};
use super::index_changes::IndexChanges;
use super::spaces::{self, NewSpaces};
use super::statement::{Statement, insert_returning, placeholders};
use crate::error::{Error, Result};
use crate::prepare::{self, Prepared};
use crate::record::RecordKind;

pub(crate) fn append_episode(
    connection: &mut dyn Connection,
    prepared: &Prepared<Episode>,
    created: &mut NewSpaces,
) -> Result<()> {
    let episode = &prepared.record;
    let scope = &episode.scope;
    if id_taken(connection, RecordKind::Episode, &scope.tenant_id, &episode.episode_id)? {
        return Err(Error::Conflict {
            entity: "episode",
            id: episode.episode_id.clone(),
            detail: "episode_id already exists in the tenant".into(),
        });
    }
    let statement = Statement::new(
        "INSERT INTO episodes (tenant_id, episode_id, user_id, agent_id, session_id, run_id, space, scope_level, start_ts, end_ts, summary, highlights, tags, entities, sources, compression_level, importance, token_count, expires_at, lexical_length, lexical_terms, embedding)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&scope.tenant_id)
    .bind(&episode.episode_id)
    .bind(&scope.user_id)
    .bind(&scope.agent_id)
    .bind(&scope.session_id)
    .bind(&scope.run_id)
    .bind(&prepared.space)
    .bind(episode.scope_level.as_str())
    .bind(millis(episode.start_ts))
    .bind(millis(episode.end_ts))
    .bind(&episode.summary)
    .bind(to_json(&episode.highlights)?)
    .bind(to_json(&episode.tags)?)
    .bind(to_json(&episode.entities)?)
    .bind(to_json(&episode.sources)?)
    .bind(episode.compression_level.as_str())
    .bind(episode.importance)
    .bind(episode.token_count)
    .bind(optional_millis(episode.expires_at))
    .bind(prepared.terms.length)
    .bind(to_json(&prepared.terms.frequencies)?)
    .bind(optional_vector_bytes(episode.embedding.as_deref()));
    let sequence = insert_returning(statement, "seq", connection)?;
    let vector = episode.embedding.as_deref();
    let tenant_id = &scope.tenant_id;
    index(connection, RecordKind::Episode, sequence, tenant_id, prepared, vector, created)
}

/// Creates a procedure, or replaces the one with the same id in place: same sequence, use
/// count carried over, postings re-made. Checks ownership before validating the input, as the
/// in-memory store does.
pub(crate) fn upsert_procedure(
    connection: &mut dyn Connection,
    input: ProcedureInput,
    limits: &Limits,
    created: &mut NewSpaces,
) -> Result<Procedure> {
    let existing: Option<(i64, Procedure)> = match &input.procedure_id {
        Some(id) => Statement::new(format!(
            "SELECT {PROCEDURE_COLUMNS} FROM procedures WHERE tenant_id = ? AND procedure_id = ?"
        ))
        .bind(&input.scope.tenant_id)
        .bind(id)
        .first_row(connection, |row| Ok((row.integer(0)?, read_procedure(row)?)))?,
        None => None,
    };
    if let Some((_, old)) = &existing {
        prepare::check_procedure_owner(old, &input)?;
    }
    let use_count = existing.as_ref().map_or(0, |(_, old)| old.use_count);
    let prepared = prepare::procedure(input, prepare::now(), use_count, limits)?;
    let mut changes = IndexChanges::default();
    let sequence = match &existing {
        Some((sequence, _)) => {
            let had_vector = existing.as_ref().is_some_and(|(_, old)| old.embedding.is_some());
            unindex(connection, RecordKind::Procedure, *sequence, had_vector, &mut changes)?;
            Some(*sequence)
        }
        None => None,
    };
    write_procedure(connection, sequence, &prepared, &mut changes, created)?;
    changes.apply(connection)?;
    Ok(prepared.record)
}

/// Writes a procedure row (over the one at `sequence` when replacing it, keeping its sequence)
/// and queues its postings.
pub(crate) fn write_procedure(
    connection: &mut dyn Connection,
    sequence: Option<i64>,
    prepared: &Prepared<Procedure>,
    changes: &mut IndexChanges,
    created: &mut NewSpaces,
) -> Result<()> {
    let procedure = &prepared.record;
    let scope = &procedure.scope;
    // The same columns either way: SET for a replacement, VALUES for a new row.
    let columns = [
        "tenant_id",
        "procedure_id",
        "user_id",
        "agent_id",
        "session_id",
        "run_id",
        "space",
        "scope_level",
        "task_type",
        "title",
        "steps",
        "content",
        "text",
        "priority",
        "applicability",
        "tags",
        "entities",
        "use_count",
        "updated_at",
        "token_count",
        "expires_at",
        "lexical_length",
        "lexical_terms",
        "embedding",
    ];
    let mut statement = Statement::default()
        .bind(&scope.tenant_id)
        .bind(&procedure.procedure_id)
        .bind(&scope.user_id)
        .bind(&scope.agent_id)
        .bind(&scope.session_id)
        .bind(&scope.run_id)
        .bind(&prepared.space)
        .bind(procedure.scope_level.as_str())
        .bind(&procedure.task_type)
        .bind(&procedure.title)
        .bind(to_json(&procedure.steps)?)
        .bind(procedure.content.clone())
        .bind(&procedure.text)
        .bind(procedure.priority)
        .bind(procedure.applicability.clone())
        .bind(to_json(&procedure.tags)?)
        .bind(to_json(&procedure.entities)?)
        .bind(to_integer(procedure.use_count, "procedures.use_count")?)
        .bind(millis(procedure.updated_at))
        .bind(procedure.token_count)
        .bind(optional_millis(procedure.expires_at))
        .bind(prepared.terms.length)
        .bind(to_json(&prepared.terms.frequencies)?)
        .bind(optional_vector_bytes(procedure.embedding.as_deref()));
    let sequence = match sequence {
        Some(sequence) => {
            let assignments: Vec<String> = columns.iter().map(|column| format!("{column} = ?")).collect();
            statement.sql = format!("UPDATE procedures SET {} WHERE seq = ?", assignments.join(", "));
            statement.push(sequence);
            statement.execute(connection)?;
            sequence
        }
        None => {
            statement.sql =
                format!("INSERT INTO procedures ({}) VALUES ({})", columns.join(", "), placeholders(columns.len()));
            insert_returning(statement, "seq", connection)?
        }
    };
    let space_id = spaces::resolve(connection, &scope.tenant_id, RecordKind::Procedure, &prepared.space, created)?;
    changes.insert(RecordKind::Procedure, sequence, &scope.tenant_id, space_id, &prepared.terms);
    let embedding = procedure.embedding.as_deref();
    changes.insert_vector(RecordKind::Procedure, sequence, &scope.tenant_id, &prepared.space, embedding);
    Ok(())
}

pub(crate) fn append_insight(
    connection: &mut dyn Connection,
    prepared: &Prepared<Insight>,
    created: &mut NewSpaces,
) -> Result<()> {
    let insight = &prepared.record;
    let scope = &insight.scope;
    if id_taken(connection, RecordKind::Insight, &scope.tenant_id, &insight.insight_id)? {
        return Err(Error::Conflict {
            entity: "insight",
            id: insight.insight_id.clone(),
            detail: "insight_id already exists in the tenant".into(),
        });
    }
    let statement = Statement::new(
        "INSERT INTO insights (tenant_id, insight_id, user_id, agent_id, session_id, run_id, space, kind, text, confidence, validation, tags, entities, sources, created_at, expires_at, token_count, lexical_length, lexical_terms, promoted_to)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&scope.tenant_id)
    .bind(&insight.insight_id)
    .bind(&scope.user_id)
    .bind(&scope.agent_id)
    .bind(&scope.session_id)
    .bind(&scope.run_id)
    .bind(&prepared.space)
    .bind(insight.kind.as_str())
    .bind(&insight.text)
    .bind(insight.confidence)
    .bind(insight.validation.as_str())
    .bind(to_json(&insight.tags)?)
    .bind(to_json(&insight.entities)?)
    .bind(to_json(&insight.sources)?)
    .bind(millis(insight.created_at))
    .bind(optional_millis(insight.expires_at))
    .bind(insight.token_count)
    .bind(prepared.terms.length)
    .bind(to_json(&prepared.terms.frequencies)?)
    .bind(insight.promoted_to.clone());
    let sequence = insert_returning(statement, "seq", connection)?;
    let tenant_id = &scope.tenant_id;
    index(connection, RecordKind::Insight, sequence, tenant_id, prepared, None, created)
}

/// Changes validation and confidence; `NotFound` unless the insight belongs to the update's run.
pub(crate) fn update_insight(connection: &mut dyn Connection, update: &InsightUpdate) -> Result<Insight> {
    let not_found = || Error::NotFound { entity: "insight", id: update.insight_id.clone() };
    // Locked: two racing promotions apply one after the other, so the second sees the first.
    let lock = connection.dialect().update_lock();
    let (sequence, mut insight) =
        Statement::new(format!("SELECT {INSIGHT_COLUMNS} FROM insights WHERE tenant_id = ? AND insight_id = ?{lock}"))
            .bind(&update.scope.tenant_id)
            .bind(&update.insight_id)
            .first_row(connection, |row| Ok((row.integer(0)?, read_insight(row)?)))?
            .ok_or_else(not_found)?;
    if !same_run(&insight.scope, &update.scope) {
        return Err(not_found());
    }
    prepare::update_insight(update, &mut insight)?;
    Statement::new("UPDATE insights SET validation = ?, confidence = ?, expires_at = ?, promoted_to = ? WHERE seq = ?")
        .bind(insight.validation.as_str())
        .bind(insight.confidence)
        .bind(optional_millis(insight.expires_at))
        .bind(insight.promoted_to.clone())
        .bind(sequence)
        .execute(connection)?;
    Ok(insight)
}

/// Removes a stored record's postings and, when it has one, its vector row (the record's row
/// stays), from the terms stored with it.
pub(crate) fn unindex(
    connection: &mut dyn Connection,
    kind: RecordKind,
    sequence: i64,
    has_vector: bool,
    changes: &mut IndexChanges,
) -> Result<()> {
    let sql =
        format!("SELECT tenant_id, space, lexical_terms, lexical_length FROM {} WHERE seq = ?", table_info(kind).table);
    let backend = connection.dialect().backend();
    let stored = Statement::new(sql).bind(sequence).first_row(connection, |row| {
        Ok((row.text(0)?, row.text(1)?, stored_terms(backend, &row.text(2)?, row.integer(3)?)?))
    })?;
    let Some((tenant_id, space, terms)) = stored else {
        return Ok(());
    };
    if has_vector {
        changes.remove_vector(kind, sequence, &tenant_id, &space);
    }
    if let Some(space_id) = spaces::lookup(connection, &tenant_id, kind, &space)? {
        changes.remove(kind, sequence, &tenant_id, space_id, &terms);
    }
    Ok(())
}

/// Indexes a new record: its postings, and its vector row when it has a vector.
fn index<T: Sync>(
    connection: &mut dyn Connection,
    kind: RecordKind,
    sequence: i64,
    tenant_id: &str,
    prepared: &Prepared<T>,
    embedding: Option<&[f32]>,
    created: &mut NewSpaces,
) -> Result<()> {
    let mut changes = IndexChanges::default();
    let space_id = spaces::resolve(connection, tenant_id, kind, &prepared.space, created)?;
    changes.insert(kind, sequence, tenant_id, space_id, &prepared.terms);
    changes.insert_vector(kind, sequence, tenant_id, &prepared.space, embedding);
    changes.apply(connection).map(drop)
}

/// `Conflict` naming the id when it is taken in the tenant.
pub(crate) fn check_new_id(connection: &mut dyn Connection, kind: RecordKind, tenant_id: &str, id: &str) -> Result<()> {
    if id_taken(connection, kind, tenant_id, id)? {
        return Err(Error::Conflict {
            entity: kind.as_str(),
            id: id.to_string(),
            detail: format!("{}_id already exists in the tenant", kind.as_str()),
        });
    }
    Ok(())
}

pub(crate) fn id_taken(connection: &mut dyn Connection, kind: RecordKind, tenant_id: &str, id: &str) -> Result<bool> {
    let sql = format!("SELECT 1 FROM {} WHERE tenant_id = ? AND {}_id = ?", table_info(kind).table, kind.as_str());
    Ok(Statement::new(sql).bind(tenant_id).bind(id).first_row(connection, |_| Ok(()))?.is_some())
}

fn same_run(left: &Scope, right: &Scope) -> bool {
    left.tenant_id == right.tenant_id
        && left.user_id == right.user_id
        && left.agent_id == right.agent_id
        && left.session_id == right.session_id
        && left.run_id == right.run_id
}
