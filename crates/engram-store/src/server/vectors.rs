//! Record vectors on Postgres and MySQL: `record_vectors` rows for indexed records with a vector
//! (written and removed with their postings, through [`super::postings::IndexChanges`]), the
//! tenant's length in `vector_dimensions`, and the vector candidate source's read.

use std::collections::{BTreeMap, HashMap};

use sqlx::AnyConnection;

use super::dialect::Dialect;
use super::rows::get;
use super::statement::{Statement, placeholders};
use crate::error::Result;
use crate::record::{RecordKind, StoredVector, VectorRequest, Vectors};
use crate::vectors::{Claim, from_quantized, merge, quantized, settle, tenants};

/// Rows per multi-row insert: a quantized vector is up to 4 KB, so a statement stays small.
const ROWS_PER_INSERT: usize = 200;

/// Removals per `DELETE ... IN (...)`.
const SEQUENCES_PER_DELETE: usize = 1000;

/// A vector row to write: the record's kind, tenant, space and sequence, and its vector's bytes.
#[derive(Debug)]
pub(super) struct VectorRow {
    pub key: VectorKey,
    pub bytes: Vec<u8>,
}

/// Where a vector row lives: (kind, tenant, space) and the record's sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VectorKey {
    pub kind: RecordKind,
    pub tenant_id: String,
    pub space: String,
    pub sequence: i64,
}

impl VectorKey {
    pub(super) fn new(kind: RecordKind, sequence: i64, tenant_id: &str, space: &str) -> Self {
        Self { kind, tenant_id: tenant_id.to_string(), space: space.to_string(), sequence }
    }
}

impl VectorRow {
    pub(super) fn new(key: VectorKey, embedding: &[f32]) -> Self {
        Self { key, bytes: quantized(embedding) }
    }
}

/// Removes vector rows, one statement per (kind, tenant, space); how many rows went.
pub(super) async fn remove(connection: &mut AnyConnection, dialect: Dialect, keys: &[VectorKey]) -> Result<u64> {
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
            for sequence in chunk {
                statement.push(*sequence);
            }
            removed += statement.execute(connection, dialect).await?.rows_affected();
        }
    }
    Ok(removed)
}

/// Writes vector rows in multi-row inserts.
pub(super) async fn insert(connection: &mut AnyConnection, dialect: Dialect, rows: Vec<VectorRow>) -> Result<()> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<VectorRow> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let mut statement = Statement::new(format!(
            "INSERT INTO record_vectors (tenant_id, kind, space, seq, embedding) VALUES {}",
            vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        ));
        for row in chunk {
            statement.push(&row.key.tenant_id);
            statement.push(row.key.kind.as_str());
            statement.push(&row.key.space);
            statement.push(row.key.sequence);
            statement.push(Some(row.bytes));
        }
        statement.execute(connection, dialect).await?;
    }
    Ok(())
}

/// Checks a write's vectors against their tenants' lengths, inside the write's transaction,
/// and records the length of a tenant's first vector. Lengths are read share-locked, and a new
/// one is inserted (or found inserted by a concurrent first writer) and read again, so two
/// first writers of one tenant cannot fix two lengths.
pub(super) async fn check_dimensions(
    connection: &mut AnyConnection,
    dialect: Dialect,
    claims: &[Claim<'_>],
) -> Result<()> {
    if claims.is_empty() {
        return Ok(());
    }
    let mut stored = HashMap::new();
    for tenant_id in tenants(claims) {
        if let Some(dimensions) = dimensions(connection, dialect, tenant_id, dialect.share_lock()).await? {
            stored.insert(tenant_id.to_string(), dimensions);
        }
    }
    let new = settle(claims, &stored)?;
    if new.is_empty() {
        return Ok(());
    }
    for (tenant_id, length) in new {
        Statement::new(format!(
            "INSERT INTO vector_dimensions (tenant_id, dimensions) VALUES (?, ?) {}",
            dialect.ignore_existing("tenant_id", "dimensions")
        ))
        .bind(&tenant_id)
        .bind(length)
        .execute(connection, dialect)
        .await?;
        if let Some(dimensions) = dimensions(connection, dialect, &tenant_id, dialect.share_lock()).await? {
            stored.insert(tenant_id, dimensions);
        }
    }
    settle(claims, &stored).map(drop)
}

async fn dimensions(
    connection: &mut AnyConnection,
    dialect: Dialect,
    tenant_id: &str,
    lock: &str,
) -> Result<Option<u32>> {
    let row = Statement::new(format!("SELECT dimensions FROM vector_dimensions WHERE tenant_id = ?{lock}"))
        .bind(tenant_id)
        .fetch_optional(connection, dialect)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let dimensions: i64 = get(&row, dialect, 0)?;
    u32::try_from(dimensions)
        .map(Some)
        .map_err(|error| crate::Error::storage(dialect.backend(), format!("unreadable vector_dimensions: {error}")))
}

/// The tenant's length and the newest `limit` vectors of each space: one `UNION ALL` of
/// limited primary-key ranges, newest first, merged.
pub(super) async fn read(connection: &mut AnyConnection, dialect: Dialect, request: &VectorRequest) -> Result<Vectors> {
    let dimensions = dimensions(connection, dialect, &request.tenant_id, "").await?;
    if request.spaces.is_empty() || dimensions.is_none() {
        return Ok(Vectors { dimensions, vectors: Vec::new() });
    }
    let range = format!(
        "(SELECT seq, embedding FROM record_vectors WHERE tenant_id = ? AND kind = ? AND space = ? ORDER BY seq DESC LIMIT {})",
        request.limit
    );
    let mut statement = Statement::new(vec![range.as_str(); request.spaces.len()].join(" UNION ALL "));
    for space in &request.spaces {
        statement.push(&request.tenant_id);
        statement.push(request.kind.as_str());
        statement.push(space);
    }
    let mut vectors = Vec::new();
    for row in statement.fetch_all(connection, dialect).await? {
        let bytes: Vec<u8> = get(&row, dialect, 1)?;
        let embedding = from_quantized(&bytes).ok_or_else(|| {
            crate::error::Error::storage(dialect.backend(), "a record_vectors row is not a quantized vector")
        })?;
        vectors.push(StoredVector { sequence: get(&row, dialect, 0)?, embedding });
    }
    Ok(Vectors { dimensions, vectors: merge(vectors, request.limit) })
}
