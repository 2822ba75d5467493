//! Record vectors: `record_vectors` rows for indexed records with a vector (written and removed
//! with their postings, through [`IndexChanges`](super::index_changes::IndexChanges)), the
//! tenant's length in `vector_dimensions`, and the vector candidate source's read.

use std::collections::{BTreeMap, HashMap};

use super::column_reader::ColumnReader;
use super::connection::Connection;
use super::run::{insert_rows, union_all};
use super::select::{ColumnClass, Select};
use super::statement::{Statement, placeholders};
use crate::error::Result;
use crate::record::{RecordKind, StoredVector, VectorRequest, Vectors};
use crate::vectors::{Claim, from_quantized, merge, settle, tenants};

/// Rows per multi-row insert: a quantized vector is up to 4 KB, so a statement stays small.
const ROWS_PER_INSERT: usize = 200;

/// Removals per `DELETE ... IN (...)`.
const SEQUENCES_PER_DELETE: usize = 1000;

/// Where a vector row lives: (kind, tenant, space) and the record's sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VectorKey {
    pub kind: RecordKind,
    pub tenant_id: String,
    pub space: String,
    pub sequence: i64,
}

impl VectorKey {
    pub(crate) fn new(kind: RecordKind, sequence: i64, tenant_id: &str, space: &str) -> Self {
        Self { kind, tenant_id: tenant_id.to_string(), space: space.to_string(), sequence }
    }
}

/// Removes vector rows, one statement per (kind, tenant, space); how many rows went.
pub(crate) fn remove(connection: &mut dyn Connection, keys: &[VectorKey]) -> Result<u64> {
    let mut grouped: BTreeMap<(&str, &str, &str), Vec<i64>> = BTreeMap::new();
    for key in keys {
        grouped.entry((key.kind.as_str(), &key.tenant_id, &key.space)).or_default().push(key.sequence);
    }
    let mut removed = 0;
    for ((kind, tenant_id, space), sequences) in grouped {
        for chunk in sequences.chunks(SEQUENCES_PER_DELETE) {
            let mut statement = Statement::new(format!(
                "DELETE FROM record_vectors WHERE tenant_id = ? AND kind = ? AND space = ? AND seq IN ({})",
                placeholders(chunk.len())
            ))
            .bind(tenant_id)
            .bind(kind)
            .bind(space);
            statement.push_all(chunk.iter().copied());
            removed += statement.execute(connection)?.rows;
        }
    }
    Ok(removed)
}

/// Writes vector rows (each where it lives, with its vector's bytes) in multi-row inserts.
pub(crate) fn insert(connection: &mut dyn Connection, rows: Vec<(VectorKey, Vec<u8>)>) -> Result<()> {
    let rows = rows.into_iter().map(|(key, bytes)| {
        vec![key.tenant_id.into(), key.kind.as_str().into(), key.space.into(), key.sequence.into(), Some(bytes).into()]
    });
    let insert = "INSERT INTO record_vectors (tenant_id, kind, space, seq, embedding)";
    insert_rows(connection, insert, "", rows, ROWS_PER_INSERT)
}

/// Checks a write's vectors against their tenants' lengths, inside the write's transaction,
/// and records the length of a tenant's first vector. Lengths are read share-locked, and a new
/// one is inserted (or found inserted by a concurrent first writer) and read again, so two
/// first writers of one tenant cannot fix two lengths.
pub(crate) fn check_dimensions(connection: &mut dyn Connection, claims: &[Claim<'_>]) -> Result<()> {
    let mut stored = HashMap::new();
    for tenant_id in tenants(claims) {
        if let Some(dimensions) = dimensions(connection, tenant_id, true)? {
            stored.insert(tenant_id.to_string(), dimensions);
        }
    }
    for (tenant_id, length) in settle(claims, &stored)? {
        let ignore = connection.dialect().ignore_existing("tenant_id", "dimensions");
        Statement::new(format!("INSERT INTO vector_dimensions (tenant_id, dimensions) VALUES (?, ?) {ignore}"))
            .bind(&tenant_id)
            .bind(length)
            .execute(connection)?;
        if let Some(dimensions) = dimensions(connection, &tenant_id, true)? {
            stored.insert(tenant_id, dimensions);
        }
    }
    settle(claims, &stored).map(drop)
}

/// A tenant's vector length; with `locked`, share-locked until the transaction ends.
fn dimensions(connection: &mut dyn Connection, tenant_id: &str, locked: bool) -> Result<Option<u32>> {
    let dialect = connection.dialect();
    let lock = if locked { dialect.share_lock() } else { "" };
    let mut statement = dimensions_select(tenant_id).statement();
    statement.sql.push_str(lock);
    let dimensions = statement.first_row(connection, |row| row.integer(0))?;
    dimensions.map(|dimensions| read_dimensions(dialect.backend(), dimensions)).transpose()
}

/// The select of a tenant's vector length.
pub(crate) fn dimensions_select(tenant_id: &str) -> Select {
    let rest = "FROM vector_dimensions WHERE tenant_id = ?".to_string();
    Select::of(&[("dimensions", ColumnClass::Integer)], rest, vec![tenant_id.into()])
}

/// A stored vector length.
pub(crate) fn read_dimensions(backend: &'static str, dimensions: i64) -> Result<u32> {
    u32::try_from(dimensions)
        .map_err(|error| crate::Error::storage(backend, format!("unreadable vector_dimensions: {error}")))
}

/// The SQL of one space's vector range: the newest `limit` rows of the primary key's range.
/// The limit is written into the SQL: binding a LIMIT makes SQLite re-prepare the statement.
pub(crate) fn range_sql(limit: u32) -> String {
    format!("SELECT seq, embedding {}", range_rest(limit))
}

fn range_rest(limit: u32) -> String {
    format!("FROM record_vectors WHERE tenant_id = ? AND kind = ? AND space = ? ORDER BY seq DESC LIMIT {limit}")
}

/// One space's vector range of a request, as a select.
pub(crate) fn range_select(request: &VectorRequest, space: &str) -> Select {
    let params = vec![request.tenant_id.as_str().into(), request.kind.as_str().into(), space.into()];
    Select::of(&[("seq", ColumnClass::Integer), ("embedding", ColumnClass::Blob)], range_rest(request.limit), params)
}

/// A row of a vector range.
pub(crate) fn read_vector(row: &(impl ColumnReader + ?Sized)) -> Result<StoredVector> {
    let bytes = row.optional_blob(1)?.unwrap_or_default();
    let embedding = from_quantized(&bytes)
        .ok_or_else(|| crate::error::Error::storage(row.backend(), "a record_vectors row is not a quantized vector"))?;
    Ok(StoredVector { sequence: row.integer(0)?, embedding })
}

/// The tenant's length and the newest `limit` vectors of each space (one backward range of the
/// primary key each), merged.
pub(crate) fn read(connection: &mut dyn Connection, request: &VectorRequest) -> Result<Vectors> {
    let dimensions = dimensions(connection, &request.tenant_id, false)?;
    if request.spaces.is_empty() || dimensions.is_none() {
        return Ok(Vectors { dimensions, vectors: Vec::new() });
    }
    let ranges = request.spaces.iter().map(|space| range_select(request, space).statement()).collect();
    let vectors = union_all(connection, ranges, |row| read_vector(row))?;
    Ok(Vectors { dimensions, vectors: merge(vectors, request.limit) })
}
