//! engram values -> SQL column values, for every SQL backend.

use super::record_columns::{episode_fields, event_fields, fact_fields, insight_fields, procedure_fields};
use super::statement::Param;
use super::stored_values::to_json;
use crate::error::{Error, Result};
use crate::prepare::Prepared;
use crate::record::Record;

/// The values of a record's row, in the order of `columns` (its kind's
/// [`written_columns`](super::columns::TableInfo::written_columns)): its `fields`, then by name
/// the columns that follow them, its stored terms, line tokens and space, wherever its kind's
/// column list puts them.
pub(crate) fn written_values<T>(fields: Vec<Param>, prepared: &Prepared<T>, columns: &[&str]) -> Result<Vec<Param>> {
    let Prepared { space, terms, line_tokens, .. } = prepared;
    let mut values = fields;
    let rest = columns.get(values.len()..).unwrap_or_default();
    values.reserve(rest.len());
    for column in rest {
        values.push(match *column {
            "lexical_terms" => to_json(&terms.frequencies)?.into(),
            "lexical_length" => terms.length.into(),
            "line_tokens" => (*line_tokens).into(),
            "space" => space.as_str().into(),
            other => return Err(Error::storage("engram", format!("no value to write in column {other}"))),
        });
    }
    Ok(values)
}

/// A record's fields, in the order of its kind's column list (`seq` left out).
pub(crate) fn field_values(record: &Record) -> Result<Vec<Param>> {
    match record {
        Record::Event(event) => event_fields(event),
        Record::Fact(fact) => fact_fields(fact),
        Record::Episode(episode) => episode_fields(episode),
        Record::Procedure(procedure) => procedure_fields(procedure),
        Record::Insight(insight) => insight_fields(insight),
    }
}
