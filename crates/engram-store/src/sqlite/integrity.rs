//! The file's own consistency checks, for `Store::check_integrity`.

use rusqlite::Connection;

use super::statements::SqliteConnection;
use crate::error::Result;
use crate::record::RecordKind;
use crate::sql::{Statement, table_info};

/// SQLite's `integrity_check` (every table and B-tree index), then FTS5's `integrity-check` of
/// each postings index, which the pragma does not look inside before SQLite 3.44. Problems as
/// SQLite words them, each prefixed with where; empty when the file is sound.
pub(super) fn check(connection: &Connection) -> Result<Vec<String>> {
    let lines = Statement::new("PRAGMA integrity_check").rows(&mut SqliteConnection(connection), |row| row.text(0))?;
    let mut problems: Vec<String> =
        lines.into_iter().filter(|line| line != "ok").map(|line| format!("integrity_check: {line}")).collect();
    for kind in RecordKind::ALL {
        let postings = table_info(kind).postings;
        // A damaged index fails this statement (SQLITE_CORRUPT_VTAB): that is the finding.
        if let Err(error) =
            connection.execute(&format!("INSERT INTO {postings} ({postings}) VALUES ('integrity-check')"), [])
        {
            problems.push(format!("{postings}: {error}"));
        }
    }
    Ok(problems)
}
