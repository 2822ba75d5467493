//! Each kind's columns, listed once: the fields after `seq` and the scope, named like the
//! columns that store them, in table order. One list gives the SELECT column list, the values a
//! write binds and the reader of a row, so the three cannot disagree on a position; each field's
//! type picks its conversion ([`ColumnValue`]).

use engram_types::{Episode, Event, Fact, Insight, Procedure, Scope};

use super::column_reader::ColumnReader;
use super::column_value::ColumnValue;
use super::select::ColumnClass;
use super::statement::Param;
use crate::error::Result;

/// Defines a kind's column list `$columns` (then `$index_columns`, the stored index columns a
/// fetch reads), `$fields` (its fields' values, `seq` left out) and `$read` (a row selected with
/// `$columns` back into the record; `$unstored` fields get their given value).
macro_rules! record_columns {
    (
        $record:ident in $table:literal: $columns:ident, $classes:ident, $fields:ident, $read:ident,
        $index_columns:literal [$($index_class:ident),*],
        [$($field:ident),* $(,)?] $(, $unstored:ident: $value:expr)*
    ) => {
        pub(crate) const $columns: &str = concat!(
            "seq, tenant_id, user_id, agent_id, session_id, run_id",
            $(", ", stringify!($field),)*
            $index_columns
        );

        /// The class of each of the column list's columns, in order (`seq`, the scope, each
        /// field's by its type, the index columns).
        pub(crate) fn $classes() -> Vec<ColumnClass> {
            let mut classes = vec![ColumnClass::Integer];
            classes.extend([ColumnClass::Text; 5]);
            $(classes.push(class_of(|record: &$record| &record.$field));)*
            $(classes.push(ColumnClass::$index_class);)*
            classes
        }

        pub(crate) fn $fields(record: &$record) -> Result<Vec<Param>> {
            let Scope { tenant_id, user_id, agent_id, session_id, run_id } = &record.scope;
            let mut values = Vec::with_capacity(5 + [$(stringify!($field)),*].len());
            values.extend([tenant_id, user_id, agent_id, session_id, run_id].map(Param::from));
            $(values.push(record.$field.param(concat!($table, ".", stringify!($field)))?);)*
            Ok(values)
        }

        pub(crate) fn $read(row: &(impl ColumnReader + ?Sized)) -> Result<$record> {
            // Columns 1 to 5 are the scope's; the fields follow in list order.
            let mut index = 5;
            let mut next = || {
                index += 1;
                index
            };
            Ok($record {
                scope: read_scope(row)?,
                $($field: ColumnValue::read(row, next(), concat!($table, ".", stringify!($field)))?,)*
                $($unstored: $value,)*
            })
        }
    };
}

record_columns! {
    Event in "events": EVENT_COLUMNS, event_classes, event_fields, read_event,
    ", lexical_terms, lexical_length, line_tokens" [Text, Integer, Integer],
    [event_id, ts, kind, role, text, payload, tags, entities, importance, token_count, expires_at, embedding],
    sequence: None
}

record_columns! {
    Fact in "facts": FACT_COLUMNS, fact_classes, fact_fields, read_fact, ", lexical_terms, lexical_length" [Text, Integer],
    [
        fact_id, scope_level, fact_key, value, text, status, valid_from, valid_to, recorded_at, confidence,
        importance, sources, tags, entities, expires_at, superseded_by, token_count, embedding, supersedes,
    ]
}

record_columns! {
    Episode in "episodes": EPISODE_COLUMNS, episode_classes, episode_fields, read_episode, ", lexical_terms, lexical_length" [Text, Integer],
    [
        episode_id, scope_level, start_ts, end_ts, summary, highlights, tags, entities, sources,
        compression_level, importance, token_count, expires_at, embedding,
    ]
}

record_columns! {
    Procedure in "procedures": PROCEDURE_COLUMNS, procedure_classes, procedure_fields, read_procedure, ", lexical_terms, lexical_length" [Text, Integer],
    [
        procedure_id, scope_level, task_type, title, steps, content, text, priority, applicability, tags,
        entities, use_count, updated_at, token_count, expires_at, embedding,
    ]
}

record_columns! {
    Insight in "insights": INSIGHT_COLUMNS, insight_classes, insight_fields, read_insight, ", lexical_terms, lexical_length" [Text, Integer],
    [
        insight_id, kind, text, confidence, validation, tags, entities, sources, created_at, expires_at,
        token_count, promoted_to,
    ]
}

/// The class of the column a field is stored in, from the field's type (`record.field`).
fn class_of<R, T: ColumnValue>(_field: fn(&R) -> &T) -> ColumnClass {
    T::CLASS
}

fn read_scope(row: &(impl ColumnReader + ?Sized)) -> Result<Scope> {
    Ok(Scope {
        tenant_id: row.text(1)?,
        user_id: row.text(2)?,
        agent_id: row.text(3)?,
        session_id: row.text(4)?,
        run_id: row.text(5)?,
    })
}
