//! Record vectors in memory: per (kind, tenant, space) the sequences of indexed records that
//! have a vector (the vectors themselves stay in the rows), and each tenant's vector length.

use std::collections::{BTreeSet, HashMap};

use super::tables::Tables;
use crate::error::Result;
use crate::record::{RecordKind, StoredVector, VectorRequest, Vectors};
use crate::vectors::{Claim, from_quantized, quantized, settle};

type SpaceKey = (RecordKind, String, String);

#[derive(Debug, Default)]
pub(super) struct VectorIndex {
    spaces: HashMap<SpaceKey, BTreeSet<i64>>,
    dimensions: HashMap<String, u32>,
}

impl VectorIndex {
    /// Checks a write's vectors against their tenants' lengths; returns the lengths to
    /// [`VectorIndex::fix`] once the write goes ahead.
    pub(super) fn check(&self, claims: &[Claim<'_>]) -> Result<Vec<(String, u32)>> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        settle(claims, &self.dimensions)
    }

    pub(super) fn fix(&mut self, dimensions: Vec<(String, u32)>) {
        self.dimensions.extend(dimensions);
    }

    pub(super) fn insert(&mut self, kind: RecordKind, tenant_id: &str, space: &str, sequence: i64) {
        self.spaces.entry((kind, tenant_id.to_string(), space.to_string())).or_default().insert(sequence);
    }

    /// Whether the record had a vector row.
    pub(super) fn remove(&mut self, kind: RecordKind, tenant_id: &str, space: &str, sequence: i64) -> bool {
        let key = (kind, tenant_id.to_string(), space.to_string());
        let Some(sequences) = self.spaces.get_mut(&key) else { return false };
        let removed = sequences.remove(&sequence);
        if sequences.is_empty() {
            self.spaces.remove(&key);
        }
        removed
    }

    /// The newest `limit` vectors of each space, merged (the SQL backends' index ranges).
    pub(super) fn read(&self, tables: &Tables, request: &VectorRequest) -> Vectors {
        let mut vectors = Vec::new();
        let table = tables.tables.get(&request.kind);
        for space in &request.spaces {
            let key = (request.kind, request.tenant_id.clone(), space.clone());
            let Some(sequences) = self.spaces.get(&key) else { continue };
            for sequence in sequences.iter().rev().take(request.limit as usize) {
                let embedding = table.and_then(|table| table.rows.get(sequence)).and_then(|row| row.record.embedding());
                // The same rounding the databases store, so every backend finds the same candidates.
                if let Some(embedding) = embedding.and_then(|embedding| from_quantized(&quantized(embedding))) {
                    vectors.push(StoredVector { sequence: *sequence, embedding });
                }
            }
        }
        Vectors {
            dimensions: self.dimensions.get(&request.tenant_id).copied(),
            vectors: crate::vectors::merge(vectors, request.limit),
        }
    }
}
