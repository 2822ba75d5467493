//! `Store::stats`: counts over index ranges of the scope's visible spaces.

use engram_types::Scope;
use sqlx::AnyConnection;

use super::dialect::Dialect;
use super::rows::get;
use super::state::working_state_version;
use super::statement::{Statement, placeholders};
use crate::error::Result;
use crate::record::{RecordKind, Stats, visible_spaces};
use crate::sql::{table_info, time};

pub(super) async fn stats(connection: &mut AnyConnection, dialect: Dialect, scope: &Scope) -> Result<Stats> {
    let backend = dialect.backend();
    let mut stats =
        Stats { working_state_version: working_state_version(connection, dialect, scope).await?, ..Stats::default() };
    let spaces = visible_spaces(scope, RecordKind::Event);
    let mut statement = Statement::new(format!(
        "SELECT COUNT(*), MIN(ts), MAX(ts) FROM events WHERE tenant_id = ? AND space IN ({})",
        placeholders(spaces.len())
    ))
    .bind(&scope.tenant_id);
    for space in spaces {
        statement.push(space);
    }
    if let Some(row) = statement.fetch_optional(connection, dialect).await? {
        stats.events = u64::try_from(get::<i64>(&row, dialect, 0)?).unwrap_or(0);
        stats.oldest_event = get::<Option<i64>>(&row, dialect, 1)?.map(|millis| time(backend, millis)).transpose()?;
        stats.newest_event = get::<Option<i64>>(&row, dialect, 2)?.map(|millis| time(backend, millis)).transpose()?;
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
        for space in spaces {
            statement.push(space);
        }
        if let Some(session) = session {
            statement.push(session);
        }
        for row in statement.fetch_all(connection, dialect).await? {
            let (label, count): (String, i64) = (get(&row, dialect, 0)?, get(&row, dialect, 1)?);
            stats.add(kind, label, u64::try_from(count).unwrap_or(0));
        }
    }
    let size = match dialect {
        Dialect::Postgres => "SELECT CAST(pg_database_size(current_database()) AS BIGINT)",
        Dialect::MySql => {
            "SELECT CAST(COALESCE(SUM(data_length + index_length), 0) AS SIGNED) FROM information_schema.tables WHERE table_schema = DATABASE()"
        }
    };
    if let Some(row) = Statement::new(size).fetch_optional(connection, dialect).await? {
        stats.database_bytes = u64::try_from(get::<i64>(&row, dialect, 0)?).ok();
    }
    Ok(stats)
}
