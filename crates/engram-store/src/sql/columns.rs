//! Table and column names of the SQL backends. Every SELECT of a record uses its kind's column
//! list, so [`super::read_record`] reads the same positions on every backend. A record's vector
//! (`embedding`, float32 bytes or NULL) follows its fields; the stored terms
//! (`lexical_terms`, `lexical_length`) and an event's line tokens (`line_tokens`) come last.

use super::record_columns::{
    EPISODE_COLUMNS, EVENT_COLUMNS, FACT_COLUMNS, INSIGHT_COLUMNS, PROCEDURE_COLUMNS, episode_classes, event_classes,
    fact_classes, insight_classes, procedure_classes,
};
use super::select::ColumnClass;
use crate::maintenance::{TableNames, table_names};
use crate::record::RecordKind;

/// Where each kind lives and which columns its orderings use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableInfo {
    pub table: &'static str,
    pub postings: &'static str,
    pub columns: &'static str,
    /// The class of each of `columns`, in order.
    pub classes: fn() -> Vec<ColumnClass>,
    /// The column `Selector::Newest` orders by (`Record::time`).
    pub time: &'static str,
    /// The column `Selector::MostImportant` orders by (`Record::weight`).
    pub weight: &'static str,
    /// Position of `lexical_terms` (then `lexical_length`) in `columns`: a packet scores the
    /// records it fetches from the terms they were indexed with, not from their text analyzed
    /// again.
    pub terms_column: usize,
    /// Position of `line_tokens` in `columns`, when the fetch reads it (events, for the same
    /// reason).
    pub line_tokens_column: Option<usize>,
}

impl TableInfo {
    /// The columns a write stores, in the order of [`super::encode::written_values`]: those a
    /// fetch reads but the generated `seq`, then the space.
    pub(crate) fn written_columns(&self) -> Vec<&'static str> {
        let mut columns: Vec<&'static str> = self.columns.split(", ").skip(1).collect();
        columns.push("space");
        columns
    }
}

pub(crate) const fn table_info(kind: RecordKind) -> TableInfo {
    let TableNames { table, postings } = table_names(kind);
    let (columns, classes, time, weight): (_, fn() -> Vec<ColumnClass>, _, _) = match kind {
        RecordKind::Event => (EVENT_COLUMNS, event_classes, "ts", "importance"),
        RecordKind::Fact => (FACT_COLUMNS, fact_classes, "recorded_at", "importance"),
        RecordKind::Episode => (EPISODE_COLUMNS, episode_classes, "end_ts", "importance"),
        RecordKind::Procedure => (PROCEDURE_COLUMNS, procedure_classes, "updated_at", "priority"),
        RecordKind::Insight => (INSIGHT_COLUMNS, insight_classes, "created_at", "confidence"),
    };
    let (terms_column, line_tokens_column) = match kind {
        RecordKind::Event => (18, Some(20)),
        RecordKind::Fact => (25, None),
        RecordKind::Episode => (20, None),
        RecordKind::Procedure => (22, None),
        RecordKind::Insight => (18, None),
    };
    TableInfo { table, postings, columns, classes, time, weight, terms_column, line_tokens_column }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_columns_are_where_the_table_info_says() {
        for kind in
            [RecordKind::Event, RecordKind::Fact, RecordKind::Episode, RecordKind::Procedure, RecordKind::Insight]
        {
            let info = table_info(kind);
            let columns: Vec<&str> = info.columns.split(", ").collect();
            let position = columns.iter().position(|column| *column == "lexical_terms");
            assert_eq!(Some(info.terms_column), position, "{kind:?}");
            assert_eq!(columns.get(info.terms_column + 1), Some(&"lexical_length"), "{kind:?}");
            let line_tokens = columns.iter().position(|column| *column == "line_tokens");
            assert_eq!(info.line_tokens_column, line_tokens, "{kind:?}");
            assert_eq!((info.classes)().len(), columns.len(), "{kind:?}");
        }
    }
}
