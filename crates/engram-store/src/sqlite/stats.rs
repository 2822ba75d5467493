//! `Store::stats`: counts over index ranges of the scope's visible spaces.

use engram_types::Scope;
use rusqlite::{Connection, params};

use super::error::storage;
use super::rows::{get, table_info, time};
use super::state::working_state_version;
use crate::error::Result;
use crate::record::{RecordKind, Stats, visible_spaces};

pub(super) fn stats(connection: &Connection, scope: &Scope) -> Result<Stats> {
    let mut stats = Stats { working_state_version: working_state_version(connection, scope)?, ..Stats::default() };
    for space in visible_spaces(scope, RecordKind::Event) {
        let mut statement = connection
            .prepare_cached("SELECT COUNT(*), MIN(ts), MAX(ts) FROM events WHERE tenant_id = ?1 AND space = ?2")
            .map_err(storage)?;
        let mut rows = statement.query(params![scope.tenant_id, space]).map_err(storage)?;
        if let Some(row) = rows.next().map_err(storage)? {
            stats.events += u64::try_from(get::<i64>(row, 0)?).unwrap_or(0);
            if let Some(oldest) = get::<Option<i64>>(row, 1)? {
                let oldest = time(oldest)?;
                stats.oldest_event = Some(stats.oldest_event.map_or(oldest, |known| known.min(oldest)));
            }
            if let Some(newest) = get::<Option<i64>>(row, 2)? {
                let newest = time(newest)?;
                stats.newest_event = Some(stats.newest_event.map_or(newest, |known| known.max(newest)));
            }
        }
    }
    for (kind, group) in [
        (RecordKind::Fact, Some("status")),
        (RecordKind::Episode, Some("compression_level")),
        (RecordKind::Procedure, None),
        (RecordKind::Insight, Some("validation")),
    ] {
        let table = table_info(kind).table;
        // An insight belongs to its session's run, as `list_insights` reads it; the space is the
        // run's. `?3 IS NULL` keeps every other kind to its space.
        let session = (kind == RecordKind::Insight).then_some(&scope.session_id);
        let filter = "tenant_id = ?1 AND space = ?2 AND (?3 IS NULL OR session_id = ?3)";
        let sql = match group {
            Some(column) => format!("SELECT {column}, COUNT(*) FROM {table} WHERE {filter} GROUP BY {column}"),
            None => format!("SELECT '', COUNT(*) FROM {table} WHERE {filter}"),
        };
        let mut statement = connection.prepare_cached(&sql).map_err(storage)?;
        for space in visible_spaces(scope, kind) {
            let mut rows = statement.query(params![scope.tenant_id, space, session]).map_err(storage)?;
            while let Some(row) = rows.next().map_err(storage)? {
                let (label, count): (String, i64) = (get(row, 0)?, get(row, 1)?);
                stats.add(kind, label, u64::try_from(count).unwrap_or(0));
            }
        }
    }
    let bytes: i64 = connection
        .query_row("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", [], |row| row.get(0))
        .map_err(storage)?;
    stats.database_bytes = u64::try_from(bytes).ok();
    Ok(stats)
}
