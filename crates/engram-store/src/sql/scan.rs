//! The maintenance scans of SQL backends (`Store::scan`, `Store::scan_states`) as one statement
//! each, with `?` placeholders.

use super::columns::table_info;
use super::select::Select;
use super::statement::Param;
use super::stored_values::ceil_millis;
use crate::maintenance::{ScanRequest, StateScan};

/// `SELECT` of a record scan: the filters given, oldest sequence first, limited.
pub(crate) fn scan_query(request: &ScanRequest) -> Select {
    let info = table_info(request.kind);
    let mut conditions = vec!["seq > ?".to_string()];
    let mut params = vec![Param::Integer(request.after_sequence)];
    for (column, value) in [
        ("tenant_id", &request.tenant_id),
        ("user_id", &request.user_id),
        ("agent_id", &request.agent_id),
        ("session_id", &request.session_id),
        ("run_id", &request.run_id),
    ] {
        if let Some(value) = value {
            conditions.push(format!("{column} = ?"));
            params.push(Param::Text(value.clone()));
        }
    }
    if !request.ids.is_empty() {
        conditions.push(format!("{}_id IN ({})", request.kind.as_str(), vec!["?"; request.ids.len()].join(", ")));
        params.extend(request.ids.iter().cloned().map(Param::Text));
    }
    if let Some(now) = request.expired_at {
        // Stored expiries are whole milliseconds: `expires_at <= now` is `<= floor(now)`.
        conditions.push("expires_at IS NOT NULL AND expires_at <= ?".to_string());
        params.push(Param::Integer(now.timestamp_millis()));
    }
    if let Some(before) = request.before {
        conditions.push(format!("{} < ?", info.time));
        params.push(Param::Integer(ceil_millis(before)));
    }
    let rest = format!("FROM {} WHERE {} ORDER BY seq LIMIT {}", info.table, conditions.join(" AND "), request.limit);
    Select::new(info.columns, &(info.classes)(), rest, params)
}

/// The `WHERE` clause of a state scan. With `ended_at` it selects ended runs' working states
/// (callers do not scan `short_terms` then).
pub(crate) fn state_filter(request: &StateScan) -> (String, Vec<Param>) {
    let mut conditions = vec!["1 = 1".to_string()];
    let mut params = Vec::new();
    for (column, value) in
        [("tenant_id", &request.tenant_id), ("user_id", &request.user_id), ("agent_id", &request.agent_id)]
    {
        if let Some(value) = value {
            conditions.push(format!("{column} = ?"));
            params.push(Param::Text(value.clone()));
        }
    }
    if let Some(now) = request.ended_at {
        conditions.push("ended_at IS NOT NULL AND ended_at <= ?".to_string());
        params.push(Param::Integer(now.timestamp_millis()));
    }
    (conditions.join(" AND "), params)
}
