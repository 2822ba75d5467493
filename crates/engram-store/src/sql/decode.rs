//! Rows -> engram records, for every SQL backend (each field's conversion: `column_value.rs`).

use crate::error::Result;
use crate::lexical::IndexedTerms;
use crate::record::{Fetched, Record, RecordKind};

use super::column_reader::ColumnReader;
use super::columns::table_info;
use super::record_columns::{read_episode, read_event, read_fact, read_insight, read_procedure};

/// Reads a row selected with the kind's column list (`sql::table_info(kind).columns`).
pub(crate) fn read_record(kind: RecordKind, row: &(impl ColumnReader + ?Sized)) -> Result<Fetched> {
    let sequence = row.integer(0)?;
    let index = table_info(kind).terms_column;
    let mut json: Option<std::sync::Arc<str>> = None;
    row.lend_text(index, &mut |text| {
        json = text.map(std::sync::Arc::from);
        Ok(())
    })?;
    let terms = match (json, row.optional_integer(index + 1)?) {
        (Some(json), Some(length)) => {
            Some(IndexedTerms::Stored { json, length: u32::try_from(length).unwrap_or(u32::MAX) })
        }
        // Written before the column existed: analyzed when needed.
        _ => None,
    };
    // NULL for events written before the column existed: their lines are counted whole.
    let line_tokens = match table_info(kind).line_tokens_column {
        Some(index) => row.optional_integer(index)?.and_then(|count| u32::try_from(count).ok()),
        None => None,
    };
    let record = match kind {
        RecordKind::Event => Record::Event(read_event(row)?),
        RecordKind::Fact => Record::Fact(read_fact(row)?),
        RecordKind::Episode => Record::Episode(read_episode(row)?),
        RecordKind::Procedure => Record::Procedure(read_procedure(row)?),
        RecordKind::Insight => Record::Insight(read_insight(row)?),
    };
    Ok(Fetched { sequence, record: std::sync::Arc::new(record), terms, line_tokens })
}
