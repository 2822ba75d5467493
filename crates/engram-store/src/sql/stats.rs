//! `Store::stats`: counts over index ranges of the scope's visible spaces.

use engram_types::Scope;

use super::columns::table_info;
use super::connection::Connection;
use super::dialect::Dialect;
use super::state::working_state_version;
use super::statement::{Statement, placeholders};
use super::stored_values::time;
use crate::error::Result;
use crate::record::{RecordKind, Stats, visible_spaces};

pub(crate) fn stats(connection: &mut dyn Connection, scope: &Scope) -> Result<Stats> {
    let dialect = connection.dialect();
    let backend = dialect.backend();
    let mut stats = Stats { working_state_version: working_state_version(connection, scope)?, ..Stats::default() };
    let spaces = visible_spaces(scope, RecordKind::Event);
    let mut statement = Statement::new(format!(
        "SELECT COUNT(*), MIN(ts), MAX(ts) FROM events WHERE tenant_id = ? AND space IN ({})",
        placeholders(spaces.len())
    ))
    .bind(&scope.tenant_id);
    statement.push_all(spaces);
    let events = statement
        .first_row(connection, |row| Ok((row.integer(0)?, row.optional_integer(1)?, row.optional_integer(2)?)))?;
    if let Some((count, oldest, newest)) = events {
        stats.events = u64::try_from(count).unwrap_or(0);
        stats.oldest_event = oldest.map(|millis| time(backend, millis)).transpose()?;
        stats.newest_event = newest.map(|millis| time(backend, millis)).transpose()?;
    }
    for (kind, group) in [
        (RecordKind::Fact, Some("status")),
        (RecordKind::Episode, Some("compression_level")),
        (RecordKind::Procedure, None),
        (RecordKind::Insight, Some("validation")),
    ] {
        let table = table_info(kind).table;
        let spaces = visible_spaces(scope, kind);
        let mut filter = format!("tenant_id = ? AND space IN ({})", placeholders(spaces.len()));
        // An insight belongs to its session's run, as `list_insights` reads it; the space is the run's.
        let session = (kind == RecordKind::Insight).then_some(&scope.session_id);
        if session.is_some() {
            filter.push_str(" AND session_id = ?");
        }
        let sql = match group {
            Some(column) => format!("SELECT {column}, COUNT(*) FROM {table} WHERE {filter} GROUP BY {column}"),
            None => format!("SELECT 'all', COUNT(*) FROM {table} WHERE {filter}"),
        };
        let mut statement = Statement::new(sql).bind(&scope.tenant_id);
        statement.push_all(spaces);
        if let Some(session) = session {
            statement.push(session);
        }
        for (label, count) in statement.rows(connection, |row| Ok((row.text(0)?, row.integer(1)?)))? {
            stats.add(kind, label, u64::try_from(count).unwrap_or(0));
        }
    }
    let size = match dialect {
        Dialect::Sqlite => "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        Dialect::Postgres => "SELECT CAST(pg_database_size(current_database()) AS BIGINT)",
        Dialect::MySql => {
            "SELECT CAST(COALESCE(SUM(data_length + index_length), 0) AS SIGNED) FROM information_schema.tables WHERE table_schema = DATABASE()"
        }
    };
    stats.database_bytes =
        Statement::new(size).first_row(connection, |row| row.integer(0))?.and_then(|bytes| u64::try_from(bytes).ok());
    Ok(stats)
}
