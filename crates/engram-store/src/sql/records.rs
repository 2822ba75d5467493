//! Episodes, procedures and insights, and removing a record's postings.

use std::collections::HashSet;

use engram_types::{Episode, Insight, Procedure};

use super::columns::table_info;
use super::connection::Connection;
use super::decode::stored_terms;
use super::encode::{millis, optional_millis, optional_vector_bytes, to_integer, to_json};
use super::index_changes::IndexChanges;
use super::run::insert_returning;
use super::spaces::{self, NewSpaces};
use super::statement::{Statement, placeholders};
use crate::error::{Error, Result};
use crate::prepare::Prepared;
use crate::record::RecordKind;

pub(crate) fn append_episode(
    connection: &mut dyn Connection,
    prepared: &Prepared<Episode>,
    created: &mut NewSpaces,
) -> Result<()> {
    let episode = &prepared.record;
    let scope = &episode.scope;
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

/// Writes what an update changes on a stored insight.
pub(crate) fn update_insight(connection: &mut dyn Connection, sequence: i64, insight: &Insight) -> Result<()> {
    Statement::new("UPDATE insights SET validation = ?, confidence = ?, expires_at = ?, promoted_to = ? WHERE seq = ?")
        .bind(insight.validation.as_str())
        .bind(insight.confidence)
        .bind(optional_millis(insight.expires_at))
        .bind(insight.promoted_to.clone())
        .bind(sequence)
        .execute(connection)?;
    Ok(())
}

/// Removes a stored record's postings and, when it has one, its vector row (the record's row
/// stays), from the terms stored with it.
pub(crate) fn unindex(
    connection: &mut dyn Connection,
    kind: RecordKind,
    sequence: i64,
    changes: &mut IndexChanges,
) -> Result<()> {
    let info = table_info(kind);
    // Insights carry no vector.
    let has_vector = if kind == RecordKind::Insight { "0 = 1" } else { "embedding IS NOT NULL" };
    let sql = format!(
        "SELECT tenant_id, space, lexical_terms, lexical_length, CASE WHEN {has_vector} THEN 1 ELSE 0 END FROM {} WHERE seq = ?",
        info.table
    );
    let backend = connection.dialect().backend();
    let stored = Statement::new(sql).bind(sequence).first_row(connection, |row| {
        let terms = stored_terms(backend, &row.text(2)?, row.integer(3)?)?;
        Ok((row.text(0)?, row.text(1)?, terms, row.integer(4)? == 1))
    })?;
    let Some((tenant_id, space, terms, has_vector)) = stored else {
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

fn id_taken(connection: &mut dyn Connection, kind: RecordKind, tenant_id: &str, id: &str) -> Result<bool> {
    Ok(!taken_ids(connection, kind, tenant_id, &[id])?.is_empty())
}

/// Which of `ids` the tenant holds for `kind`.
pub(crate) fn taken_ids(
    connection: &mut dyn Connection,
    kind: RecordKind,
    tenant_id: &str,
    ids: &[&str],
) -> Result<HashSet<String>> {
    let mut taken = HashSet::new();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let sql = format!(
            "SELECT {kind}_id FROM {} WHERE tenant_id = ? AND {kind}_id IN ({})",
            table_info(kind).table,
            placeholders(chunk.len()),
            kind = kind.as_str(),
        );
        let mut statement = Statement::new(sql).bind(tenant_id);
        for id in chunk {
            statement.push(*id);
        }
        taken.extend(statement.rows(connection, |row| row.text(0))?);
    }
    Ok(taken)
}

/// Ids per lookup statement, well under every database's parameter limit.
const IDS_PER_LOOKUP: usize = 1000;
