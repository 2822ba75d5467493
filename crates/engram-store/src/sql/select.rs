//! A `SELECT` kept in parts: its columns, each with the class of value it holds, and the rest of
//! the statement. Run alone it is one statement; on a server, the selects of many reads become
//! branches of one `UNION ALL` (`batch.rs`), which needs to know what each column holds.

use super::statement::{Param, Statement};

/// The kind of value a column holds, as engram reads it (`ColumnReader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ColumnClass {
    Integer,
    Real,
    Text,
    Blob,
}

impl ColumnClass {
    /// Every class, in the order a batch lays their columns out.
    pub(crate) const ALL: [Self; 4] = [Self::Integer, Self::Real, Self::Text, Self::Blob];
}

/// `SELECT {columns} {rest}`: `rest` is everything after the column list (`FROM ... LIMIT n`),
/// with `params` for its placeholders (the column list binds none).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Select {
    pub columns: Vec<(String, ColumnClass)>,
    pub rest: String,
    pub params: Vec<Param>,
}

impl Select {
    /// A select of `columns` (a comma-separated list) whose classes are `classes`, in order.
    pub(crate) fn new(columns: &str, classes: &[ColumnClass], rest: String, params: Vec<Param>) -> Self {
        let columns = columns.split(", ").map(str::to_string).zip(classes.iter().copied()).collect();
        Self { columns, rest, params }
    }

    /// A select of columns given one by one (expressions that hold commas).
    pub(crate) fn of(columns: &[(&str, ColumnClass)], rest: String, params: Vec<Param>) -> Self {
        let columns = columns.iter().map(|(column, class)| ((*column).to_string(), *class)).collect();
        Self { columns, rest, params }
    }

    /// The select as one statement.
    pub(crate) fn statement(self) -> Statement {
        let columns: Vec<&str> = self.columns.iter().map(|(column, _)| column.as_str()).collect();
        Statement { sql: format!("SELECT {} {}", columns.join(", "), self.rest), params: self.params }
    }
}
