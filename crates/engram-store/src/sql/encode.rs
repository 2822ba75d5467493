//! engram values -> SQL column values, for every SQL backend.

use engram_types::{Event, Scope, Timestamp};
use serde::Serialize;

use super::statement::Param;
use crate::error::{Error, Result};
use crate::lexical::DocumentTerms;
use crate::prepare::Prepared;
use crate::record::Record;

/// The values of a record's row, in the order of `columns` (its kind's
/// [`written_columns`](super::columns::TableInfo::written_columns)).
pub(crate) fn written_values(prepared: &Prepared<Record>, columns: &[&str]) -> Result<Vec<Param>> {
    let Prepared { record, space, terms, line_tokens } = prepared;
    let mut values = field_values(record)?;
    let index = index_values(columns.get(values.len()..).unwrap_or_default(), space, terms, *line_tokens)?;
    values.extend(index);
    Ok(values)
}

/// The values of the columns that follow a record's fields in its row, by name: its stored
/// terms, line tokens and space, wherever its kind's column list puts them.
pub(crate) fn index_values(
    columns: &[&str],
    space: &str,
    terms: &DocumentTerms,
    line_tokens: u32,
) -> Result<Vec<Param>> {
    let value = |column: &str| {
        Ok(match column {
            "lexical_terms" => to_json(&terms.frequencies)?.into(),
            "lexical_length" => terms.length.into(),
            "line_tokens" => line_tokens.into(),
            "space" => space.into(),
            other => return Err(Error::storage("engram", format!("no value to write in column {other}"))),
        })
    };
    columns.iter().map(|column| value(column)).collect()
}

/// A record's fields, in the order of its kind's column list (`seq` left out).
pub(crate) fn field_values(record: &Record) -> Result<Vec<Param>> {
    Ok(match record {
        Record::Event(event) => return event_fields(event),
        Record::Fact(fact) => with_scope(
            &fact.scope,
            vec![
                fact.fact_id.as_str().into(),
                fact.scope_level.as_str().into(),
                fact.fact_key.as_str().into(),
                to_json(&fact.value)?.into(),
                fact.text.as_str().into(),
                fact.status.as_str().into(),
                millis(fact.valid_from).into(),
                optional_millis(fact.valid_to).into(),
                millis(fact.recorded_at).into(),
                fact.confidence.into(),
                fact.importance.into(),
                to_json(&fact.sources)?.into(),
                to_json(&fact.tags)?.into(),
                to_json(&fact.entities)?.into(),
                optional_millis(fact.expires_at).into(),
                fact.superseded_by.clone().into(),
                fact.token_count.into(),
                optional_vector_bytes(fact.embedding.as_deref()).into(),
                fact.supersedes.clone().into(),
            ],
        ),
        Record::Episode(episode) => with_scope(
            &episode.scope,
            vec![
                episode.episode_id.as_str().into(),
                episode.scope_level.as_str().into(),
                millis(episode.start_ts).into(),
                millis(episode.end_ts).into(),
                episode.summary.as_str().into(),
                to_json(&episode.highlights)?.into(),
                to_json(&episode.tags)?.into(),
                to_json(&episode.entities)?.into(),
                to_json(&episode.sources)?.into(),
                episode.compression_level.as_str().into(),
                episode.importance.into(),
                episode.token_count.into(),
                optional_millis(episode.expires_at).into(),
                optional_vector_bytes(episode.embedding.as_deref()).into(),
            ],
        ),
        Record::Procedure(procedure) => with_scope(
            &procedure.scope,
            vec![
                procedure.procedure_id.as_str().into(),
                procedure.scope_level.as_str().into(),
                procedure.task_type.as_str().into(),
                procedure.title.as_str().into(),
                to_json(&procedure.steps)?.into(),
                procedure.content.clone().into(),
                procedure.text.as_str().into(),
                procedure.priority.into(),
                procedure.applicability.clone().into(),
                to_json(&procedure.tags)?.into(),
                to_json(&procedure.entities)?.into(),
                to_integer(procedure.use_count, "procedures.use_count")?.into(),
                millis(procedure.updated_at).into(),
                procedure.token_count.into(),
                optional_millis(procedure.expires_at).into(),
                optional_vector_bytes(procedure.embedding.as_deref()).into(),
            ],
        ),
        Record::Insight(insight) => with_scope(
            &insight.scope,
            vec![
                insight.insight_id.as_str().into(),
                insight.kind.as_str().into(),
                insight.text.as_str().into(),
                insight.confidence.into(),
                insight.validation.as_str().into(),
                to_json(&insight.tags)?.into(),
                to_json(&insight.entities)?.into(),
                to_json(&insight.sources)?.into(),
                millis(insight.created_at).into(),
                optional_millis(insight.expires_at).into(),
                insight.token_count.into(),
                insight.promoted_to.clone().into(),
            ],
        ),
    })
}

/// [`field_values`] of an event, which the batch insert takes apart from any [`Record`].
pub(crate) fn event_fields(event: &Event) -> Result<Vec<Param>> {
    Ok(with_scope(
        &event.scope,
        vec![
            event.event_id.as_str().into(),
            millis(event.ts).into(),
            event.kind.as_str().into(),
            event.role.as_str().into(),
            event.text.as_str().into(),
            to_json(&event.payload)?.into(),
            to_json(&event.tags)?.into(),
            to_json(&event.entities)?.into(),
            event.importance.into(),
            event.token_count.into(),
            optional_millis(event.expires_at).into(),
            optional_vector_bytes(event.embedding.as_deref()).into(),
        ],
    ))
}

/// The scope's columns, then `fields`.
fn with_scope(scope: &Scope, fields: Vec<Param>) -> Vec<Param> {
    let owner = [&scope.tenant_id, &scope.user_id, &scope.agent_id, &scope.session_id, &scope.run_id];
    owner.into_iter().map(Param::from).chain(fields).collect()
}

/// Stored instants are unix milliseconds.
pub(crate) fn millis(instant: Timestamp) -> i64 {
    instant.timestamp_millis()
}

pub(crate) fn optional_millis(instant: Option<Timestamp>) -> Option<i64> {
    instant.map(millis)
}

/// Lists, payloads and values are stored as compact JSON text.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| Error::storage("engram", format!("cannot serialize to JSON: {error}")))
}

/// Counts and versions are u64 in engram, BIGINT (i64) in SQL.
pub(crate) fn to_integer(value: u64, column: &str) -> Result<i64> {
    i64::try_from(value).map_err(|error| Error::storage("engram", format!("{column} does not fit in 64 bits: {error}")))
}

/// A vector as stored: each value as 4 little-endian bytes (float32).
pub(crate) fn vector_bytes(embedding: &[f32]) -> Vec<u8> {
    embedding.iter().flat_map(|value| value.to_le_bytes()).collect()
}

/// [`vector_bytes`] of a record's optional vector (a column value).
pub(crate) fn optional_vector_bytes(embedding: Option<&[f32]>) -> Option<Vec<u8>> {
    embedding.map(vector_bytes)
}

/// The smallest whole millisecond at or after `instant` (`timestamp_millis` rounds down).
pub(crate) fn ceil_millis(instant: Timestamp) -> i64 {
    let millis = instant.timestamp_millis();
    if instant.timestamp_subsec_nanos().is_multiple_of(1_000_000) { millis } else { millis.saturating_add(1) }
}
