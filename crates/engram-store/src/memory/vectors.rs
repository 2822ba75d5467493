//! Record vectors in memory: per (kind, tenant, space) the indexed records that have a vector,
//! by sequence, each kept as the databases' `record_vectors` keep it (a byte per value, read
//! back), and each tenant's vector length.

use std::collections::{BTreeMap, HashMap};

use super::tables::SpaceKey;
use crate::error::Result;
use crate::record::{StoredVector, VectorRequest, Vectors};
use crate::vectors::{Claim, from_quantized, quantized, settle};

#[derive(Debug, Default)]
pub(super) struct VectorIndex {
    spaces: HashMap<SpaceKey, BTreeMap<i64, Vec<f32>>>,
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

    /// Indexes a record's vector, rounded once here as the databases store it, so every backend
    /// finds the same candidates.
    pub(super) fn insert(&mut self, key: &SpaceKey, sequence: i64, embedding: &[f32]) {
        if let Some(kept) = from_quantized(&quantized(embedding)) {
            self.spaces.entry(key.clone()).or_default().insert(sequence, kept);
        }
    }

    /// Whether the record had a vector row.
    pub(super) fn remove(&mut self, key: &SpaceKey, sequence: i64) -> bool {
        let Some(sequences) = self.spaces.get_mut(key) else { return false };
        let removed = sequences.remove(&sequence).is_some();
        if sequences.is_empty() {
            self.spaces.remove(key);
        }
        removed
    }

    /// The newest `limit` vectors of each space, merged (the SQL backends' index ranges).
    pub(super) fn read(&self, request: &VectorRequest) -> Vectors {
        let mut vectors = Vec::new();
        for space in &request.spaces {
            let key = (request.kind, request.tenant_id.clone(), space.clone());
            let Some(kept) = self.spaces.get(&key) else { continue };
            for (sequence, embedding) in kept.iter().rev().take(request.limit as usize) {
                vectors.push(StoredVector { sequence: *sequence, embedding: embedding.clone() });
            }
        }
        Vectors {
            dimensions: self.dimensions.get(&request.tenant_id).copied(),
            vectors: crate::vectors::merge(vectors, request.limit),
        }
    }
}
