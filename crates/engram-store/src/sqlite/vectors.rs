//! Record vectors on SQLite: `record_vectors` rows for indexed records with a vector (written
//! and removed with their postings, through [`super::postings::IndexChanges`]), the tenant's
//! length in `vector_dimensions`, and the vector candidate source's read.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::error::{BACKEND, storage};
use crate::error::Result;
use crate::record::{RecordKind, StoredVector, VectorRequest, Vectors};
use crate::vectors::{Claim, from_quantized, merge, quantized, settle, tenants};

/// A vector row to write: the record's kind, tenant, space and sequence, and its vector's bytes.
#[derive(Debug)]
pub(super) struct VectorRow {
    pub kind: RecordKind,
    pub tenant_id: String,
    pub space: String,
    pub sequence: i64,
    pub bytes: Vec<u8>,
}

impl VectorRow {
    pub(super) fn new(kind: RecordKind, sequence: i64, tenant_id: &str, space: &str, embedding: &[f32]) -> Self {
        Self { kind, tenant_id: tenant_id.to_string(), space: space.to_string(), sequence, bytes: quantized(embedding) }
    }
}

pub(super) fn insert(connection: &Connection, rows: &[VectorRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut statement = connection
        .prepare_cached(
            "INSERT INTO record_vectors (tenant_id, kind, space, seq, embedding) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(storage)?;
    for row in rows {
        statement
            .execute(params![row.tenant_id, row.kind.as_str(), row.space, row.sequence, row.bytes])
            .map_err(storage)?;
    }
    Ok(())
}

/// Removes a record's vector row; how many rows went (0 or 1).
pub(super) fn remove(
    connection: &Connection,
    kind: RecordKind,
    sequence: i64,
    tenant_id: &str,
    space: &str,
) -> Result<u64> {
    let removed = connection
        .prepare_cached("DELETE FROM record_vectors WHERE tenant_id = ?1 AND kind = ?2 AND space = ?3 AND seq = ?4")
        .and_then(|mut statement| statement.execute(params![tenant_id, kind.as_str(), space, sequence]))
        .map_err(storage)?;
    Ok(removed as u64)
}

/// Checks a write's vectors against their tenants' lengths, inside the write's transaction,
/// and records the length of a tenant's first vector.
pub(super) fn check_dimensions(connection: &Connection, claims: &[Claim<'_>]) -> Result<()> {
    if claims.is_empty() {
        return Ok(());
    }
    let mut stored = HashMap::new();
    for tenant_id in tenants(claims) {
        if let Some(dimensions) = dimensions(connection, tenant_id)? {
            stored.insert(tenant_id.to_string(), dimensions);
        }
    }
    for (tenant_id, dimensions) in settle(claims, &stored)? {
        connection
            .prepare_cached("INSERT INTO vector_dimensions (tenant_id, dimensions) VALUES (?1, ?2)")
            .and_then(|mut statement| statement.execute(params![tenant_id, dimensions]))
            .map_err(storage)?;
    }
    Ok(())
}

fn dimensions(connection: &Connection, tenant_id: &str) -> Result<Option<u32>> {
    connection
        .prepare_cached("SELECT dimensions FROM vector_dimensions WHERE tenant_id = ?1")
        .and_then(|mut statement| statement.query_row(params![tenant_id], |row| row.get(0)).optional())
        .map_err(storage)
}

/// The tenant's length and the newest `limit` vectors of each space (one backward range of
/// the primary key each), merged.
pub(super) fn read(connection: &Connection, request: &VectorRequest) -> Result<Vectors> {
    let mut vectors = Vec::new();
    // The limit is written into the SQL: binding a LIMIT makes SQLite re-prepare (postings.rs).
    let sql = format!(
        "SELECT seq, embedding FROM record_vectors WHERE tenant_id = ?1 AND kind = ?2 AND space = ?3 ORDER BY seq DESC LIMIT {}",
        request.limit
    );
    let mut statement = connection.prepare_cached(&sql).map_err(storage)?;
    for space in &request.spaces {
        let mut rows = statement.query(params![request.tenant_id, request.kind.as_str(), space]).map_err(storage)?;
        while let Some(row) = rows.next().map_err(storage)? {
            let bytes: Vec<u8> = row.get(1).map_err(storage)?;
            let embedding = from_quantized(&bytes).ok_or_else(unreadable_vector)?;
            vectors.push(StoredVector { sequence: row.get(0).map_err(storage)?, embedding });
        }
    }
    Ok(Vectors { dimensions: dimensions(connection, &request.tenant_id)?, vectors: merge(vectors, request.limit) })
}

fn unreadable_vector() -> crate::error::Error {
    crate::error::Error::storage(BACKEND, "a record_vectors row is not a quantized vector")
}

/// `EXPLAIN QUERY PLAN` of a vector read's range, for tests that pin it to the index.
pub(super) fn explain(connection: &Connection, request: &VectorRequest) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT seq, embedding FROM record_vectors WHERE tenant_id = ?1 AND kind = ?2 AND space = ?3 ORDER BY seq DESC LIMIT {}",
        request.limit
    );
    let space = request.spaces.first().cloned().unwrap_or_default();
    super::fetch::plan(connection, &sql, &[&request.tenant_id, &request.kind.as_str(), &space])
}
