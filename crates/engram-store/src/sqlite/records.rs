//! Episodes, procedures and insights, and removing a record's postings.

use engram_types::{Episode, Insight, InsightUpdate, Procedure, ProcedureInput, Scope};
use rusqlite::{Connection, OptionalExtension, params};

use super::error::BACKEND;
use super::error::storage;
use super::postings::{self, IndexChanges, NewSpaces};
use super::rows::{
    INSIGHT_COLUMNS, PROCEDURE_COLUMNS, get, millis, optional_millis, optional_vector_bytes, read_insight,
    read_procedure, table_info, to_integer, to_json,
};
use crate::error::{Error, Result};
use crate::prepare::{self, Prepared};
use crate::record::RecordKind;
use engram_types::Limits;

pub(super) fn append_episode(
    connection: &Connection,
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
    let (highlights, tags, entities, sources) = (
        to_json(&episode.highlights)?,
        to_json(&episode.tags)?,
        to_json(&episode.entities)?,
        to_json(&episode.sources)?,
    );
    let terms = to_json(&prepared.terms.frequencies)?;
    connection
        .prepare_cached(
            "INSERT INTO episodes (tenant_id, episode_id, user_id, agent_id, session_id, run_id, space, scope_level, start_ts, end_ts, summary, highlights, tags, entities, sources, compression_level, importance, token_count, expires_at, lexical_length, lexical_terms, embedding)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                scope.tenant_id,
                episode.episode_id,
                scope.user_id,
                scope.agent_id,
                scope.session_id,
                scope.run_id,
                prepared.space,
                episode.scope_level.as_str(),
                millis(episode.start_ts),
                millis(episode.end_ts),
                episode.summary,
                highlights,
                tags,
                entities,
                sources,
                episode.compression_level.as_str(),
                episode.importance,
                episode.token_count,
                optional_millis(episode.expires_at),
                prepared.terms.length,
                terms,
                optional_vector_bytes(episode.embedding.as_deref()),
            ])
        })
        .map_err(storage)?;
    let sequence = connection.last_insert_rowid();
    let embedding = episode.embedding.as_deref();
    index(connection, RecordKind::Episode, sequence, &scope.tenant_id, prepared, embedding, created)
}

/// Creates a procedure, or replaces the one with the same id in place: same sequence (rowid),
/// use count carried over, postings re-made. Checks ownership before validating the input,
/// as the in-memory store does.
pub(super) fn upsert_procedure(
    connection: &Connection,
    input: ProcedureInput,
    limits: &Limits,
    created: &mut NewSpaces,
) -> Result<Procedure> {
    let existing: Option<(i64, Procedure)> = match &input.procedure_id {
        Some(id) => connection
            .prepare_cached(&format!(
                "SELECT {PROCEDURE_COLUMNS} FROM procedures WHERE tenant_id = ?1 AND procedure_id = ?2"
            ))
            .and_then(|mut statement| {
                statement
                    .query_row(params![input.scope.tenant_id, id], |row| Ok((row.get(0)?, read_procedure(row))))
                    .optional()
            })
            .map_err(storage)?
            .map(|(sequence, procedure)| procedure.map(|procedure| (sequence, procedure)))
            .transpose()?,
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
            // INSERT OR REPLACE at the old rowid: the row is rewritten whole, its sequence kept.
            Some(*sequence)
        }
        None => None,
    };
    write_procedure(connection, sequence, &prepared, &mut changes, created)?;
    changes.apply(connection)?;
    Ok(prepared.record)
}

/// Writes a procedure row (at `sequence` when replacing one) and queues its postings.
pub(super) fn write_procedure(
    connection: &Connection,
    sequence: Option<i64>,
    prepared: &Prepared<Procedure>,
    changes: &mut IndexChanges,
    created: &mut NewSpaces,
) -> Result<()> {
    let procedure = &prepared.record;
    let scope = &procedure.scope;
    let (steps, tags, entities) =
        (to_json(&procedure.steps)?, to_json(&procedure.tags)?, to_json(&procedure.entities)?);
    let terms = to_json(&prepared.terms.frequencies)?;
    let use_count = to_integer(procedure.use_count, "procedures.use_count")?;
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO procedures (seq, tenant_id, procedure_id, user_id, agent_id, session_id, run_id, space, scope_level, task_type, title, steps, content, text, priority, applicability, tags, entities, use_count, updated_at, token_count, expires_at, lexical_length, lexical_terms, embedding)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                sequence,
                scope.tenant_id,
                procedure.procedure_id,
                scope.user_id,
                scope.agent_id,
                scope.session_id,
                scope.run_id,
                prepared.space,
                procedure.scope_level.as_str(),
                procedure.task_type,
                procedure.title,
                steps,
                procedure.content,
                procedure.text,
                procedure.priority,
                procedure.applicability,
                tags,
                entities,
                use_count,
                millis(procedure.updated_at),
                procedure.token_count,
                optional_millis(procedure.expires_at),
                prepared.terms.length,
                terms,
                optional_vector_bytes(procedure.embedding.as_deref()),
            ])
        })
        .map_err(storage)?;
    let sequence = sequence.unwrap_or_else(|| connection.last_insert_rowid());
    let space_id = postings::resolve(connection, &scope.tenant_id, RecordKind::Procedure, &prepared.space, created)?;
    changes.insert(RecordKind::Procedure, sequence, &scope.tenant_id, space_id, &prepared.terms);
    let embedding = procedure.embedding.as_deref();
    changes.insert_vector(RecordKind::Procedure, sequence, &scope.tenant_id, &prepared.space, embedding);
    Ok(())
}

pub(super) fn append_insight(
    connection: &Connection,
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
    let (tags, entities, sources) = (to_json(&insight.tags)?, to_json(&insight.entities)?, to_json(&insight.sources)?);
    let terms = to_json(&prepared.terms.frequencies)?;
    connection
        .prepare_cached(
            "INSERT INTO insights (tenant_id, insight_id, user_id, agent_id, session_id, run_id, space, kind, text, confidence, validation, tags, entities, sources, created_at, expires_at, token_count, lexical_length, lexical_terms, promoted_to)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                scope.tenant_id,
                insight.insight_id,
                scope.user_id,
                scope.agent_id,
                scope.session_id,
                scope.run_id,
                prepared.space,
                insight.kind.as_str(),
                insight.text,
                insight.confidence,
                insight.validation.as_str(),
                tags,
                entities,
                sources,
                millis(insight.created_at),
                optional_millis(insight.expires_at),
                insight.token_count,
                prepared.terms.length,
                terms,
                insight.promoted_to,
            ])
        })
        .map_err(storage)?;
    let sequence = connection.last_insert_rowid();
    index(connection, RecordKind::Insight, sequence, &scope.tenant_id, prepared, None, created)
}

/// Changes validation and confidence; `NotFound` unless the insight belongs to the update's run.
pub(super) fn update_insight(connection: &Connection, update: &InsightUpdate) -> Result<Insight> {
    let not_found = || Error::NotFound { entity: "insight", id: update.insight_id.clone() };
    let found: Option<(i64, Insight)> = connection
        .prepare_cached(&format!("SELECT {INSIGHT_COLUMNS} FROM insights WHERE tenant_id = ?1 AND insight_id = ?2"))
        .and_then(|mut statement| {
            statement
                .query_row(params![update.scope.tenant_id, update.insight_id], |row| {
                    Ok((row.get(0)?, read_insight(row)))
                })
                .optional()
        })
        .map_err(storage)?
        .map(|(sequence, insight)| insight.map(|insight| (sequence, insight)))
        .transpose()?;
    let (sequence, mut insight) = found.ok_or_else(not_found)?;
    if !same_run(&insight.scope, &update.scope) {
        return Err(not_found());
    }
    prepare::update_insight(update, &mut insight)?;
    connection
        .prepare_cached(
            "UPDATE insights SET validation = ?2, confidence = ?3, expires_at = ?4, promoted_to = ?5 WHERE seq = ?1",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                sequence,
                insight.validation.as_str(),
                insight.confidence,
                optional_millis(insight.expires_at),
                insight.promoted_to,
            ])
        })
        .map_err(storage)?;
    Ok(insight)
}

/// Removes a stored record's postings and, when it has one, its vector row (the record's row
/// stays), from the terms stored with it.
pub(super) fn unindex(
    connection: &Connection,
    kind: RecordKind,
    sequence: i64,
    has_vector: bool,
    changes: &mut IndexChanges,
) -> Result<()> {
    let sql = format!(
        "SELECT tenant_id, space, lexical_terms, lexical_length FROM {} WHERE seq = ?1",
        table_info(kind).table
    );
    let mut statement = connection.prepare_cached(&sql).map_err(storage)?;
    let mut rows = statement.query(params![sequence]).map_err(storage)?;
    let Some(row) = rows.next().map_err(storage)? else { return Ok(()) };
    let (tenant_id, space): (String, String) = (get(row, 0)?, get(row, 1)?);
    let terms = crate::sql::stored_terms(BACKEND, &get::<String>(row, 2)?, get(row, 3)?)?;
    if has_vector {
        changes.remove_vector(connection, kind, sequence, &tenant_id, &space)?;
    }
    if let Some(space_id) = postings::lookup(connection, &tenant_id, kind, &space)? {
        changes.remove(connection, kind, sequence, &tenant_id, space_id, &terms)?;
    }
    Ok(())
}

/// Indexes a new record: its postings, and its vector row when it has a vector.
fn index<T>(
    connection: &Connection,
    kind: RecordKind,
    sequence: i64,
    tenant_id: &str,
    prepared: &Prepared<T>,
    embedding: Option<&[f32]>,
    created: &mut NewSpaces,
) -> Result<()> {
    let mut changes = IndexChanges::default();
    let space_id = postings::resolve(connection, tenant_id, kind, &prepared.space, created)?;
    changes.insert(kind, sequence, tenant_id, space_id, &prepared.terms);
    changes.insert_vector(kind, sequence, tenant_id, &prepared.space, embedding);
    changes.apply(connection).map(drop)
}

/// `Conflict` when the id is taken in the tenant.
pub(super) fn check_new_id(connection: &Connection, kind: RecordKind, tenant_id: &str, id: &str) -> Result<()> {
    if id_taken(connection, kind, tenant_id, id)? {
        return Err(Error::Conflict {
            entity: kind.as_str(),
            id: id.to_string(),
            detail: format!("{}_id already exists in the tenant", kind.as_str()),
        });
    }
    Ok(())
}

fn id_taken(connection: &Connection, kind: RecordKind, tenant_id: &str, id: &str) -> Result<bool> {
    let info = table_info(kind);
    let sql = format!("SELECT 1 FROM {} WHERE tenant_id = ?1 AND {}_id = ?2", info.table, kind.as_str());
    Ok(connection
        .prepare_cached(&sql)
        .and_then(|mut statement| statement.query_row(params![tenant_id, id], |_| Ok(())).optional())
        .map_err(storage)?
        .is_some())
}

fn same_run(left: &Scope, right: &Scope) -> bool {
    left.tenant_id == right.tenant_id
        && left.user_id == right.user_id
        && left.agent_id == right.agent_id
        && left.session_id == right.session_id
        && left.run_id == right.run_id
}
