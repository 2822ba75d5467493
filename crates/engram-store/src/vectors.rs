//! Record vectors, the same way for every backend: the one length all vectors of a tenant
//! share, and merging per-space reads. (Their bytes in a database are `sql`'s.)

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::prepare::Prepared;
use crate::record::{Record, StoredVector};

/// One vector a write stores: its tenant, the field that names it in errors, its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim<'a> {
    pub tenant_id: &'a str,
    pub field: String,
    pub dimensions: usize,
}

/// The vector of a single write (`embedding`), if any.
pub(crate) fn claim<'a>(tenant_id: &'a str, embedding: Option<&[f32]>) -> Vec<Claim<'a>> {
    embedding
        .map(|embedding| Claim { tenant_id, field: "embedding".to_string(), dimensions: embedding.len() })
        .into_iter()
        .collect()
}

/// The vectors of a bulk append, named `events[i].embedding`: (tenant, position in the batch,
/// length), read from its inputs before they are prepared.
pub(crate) fn indexed_claims(vectors: &[(String, usize, usize)]) -> Vec<Claim<'_>> {
    vectors
        .iter()
        .map(|(tenant_id, index, dimensions)| Claim {
            tenant_id,
            field: format!("events[{index}].embedding"),
            dimensions: *dimensions,
        })
        .collect()
}

/// The vectors of a restore, named `records[i].embedding`.
pub(crate) fn record_claims(prepared: &[Prepared<Record>]) -> Vec<Claim<'_>> {
    prepared
        .iter()
        .enumerate()
        .filter_map(|(index, item)| {
            item.record.embedding().map(|embedding| Claim {
                tenant_id: &item.record.scope().tenant_id,
                field: format!("records[{index}].embedding"),
                dimensions: embedding.len(),
            })
        })
        .collect()
}

/// The distinct tenants of some claims, in first-claim order.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) fn tenants<'a>(claims: &[Claim<'a>]) -> Vec<&'a str> {
    let mut tenants: Vec<&str> = Vec::new();
    for claim in claims {
        if !tenants.contains(&claim.tenant_id) {
            tenants.push(claim.tenant_id);
        }
    }
    tenants
}

/// Checks a write's vectors against their tenants' lengths (`stored`, by tenant), in order:
/// the first vector of a tenant without a length fixes it. The first vector of another length
/// is `InvalidInput` naming its field. Returns the lengths to store, for tenants that had none.
pub(crate) fn settle(claims: &[Claim<'_>], stored: &HashMap<String, u32>) -> Result<Vec<(String, u32)>> {
    let mut known: HashMap<&str, usize> =
        stored.iter().map(|(tenant_id, dimensions)| (tenant_id.as_str(), *dimensions as usize)).collect();
    let mut new = Vec::new();
    for claim in claims {
        match known.get(claim.tenant_id) {
            Some(&dimensions) if dimensions != claim.dimensions => {
                return Err(Error::invalid(
                    &claim.field,
                    format!("has {} dimensions; vectors in this tenant have {dimensions}", claim.dimensions),
                ));
            }
            Some(_) => {}
            None => {
                let dimensions = u32::try_from(claim.dimensions)
                    .map_err(|_| Error::invalid(&claim.field, format!("has {} dimensions", claim.dimensions)))?;
                known.insert(claim.tenant_id, claim.dimensions);
                new.push((claim.tenant_id.to_string(), dimensions));
            }
        }
    }
    Ok(new)
}

/// A vector as the candidate source keeps it: its largest magnitude as float32 (4 bytes,
/// little-endian), then each value as a signed byte of that scale. A quarter of the float32
/// bytes, so the source reads four times as many vectors per page; cosine similarity loses
/// about 1% to the rounding, and only picks which records to fetch: a candidate's
/// `signals.vector` comes from its record's own float32 vector. Every backend stores these
/// same bytes, so candidate sets agree across backends.
pub(crate) fn quantized(embedding: &[f32]) -> Vec<u8> {
    let scale = embedding.iter().fold(0.0_f32, |largest, value| largest.max(value.abs()));
    let mut bytes = Vec::with_capacity(4 + embedding.len());
    bytes.extend_from_slice(&scale.to_le_bytes());
    for value in embedding {
        let step = if scale > 0.0 { (value / scale * 127.0).round() } else { 0.0 };
        // In -127..=127 by construction; the cast only changes the type.
        #[expect(clippy::cast_possible_truncation, reason = "rounded and bounded to -127..=127")]
        bytes.push((step as i8).to_le_bytes()[0]);
    }
    bytes
}

/// The vector [`quantized`] bytes stand for; `None` for bytes no write produced.
pub(crate) fn from_quantized(bytes: &[u8]) -> Option<Vec<f32>> {
    let (scale, steps) = bytes.split_first_chunk::<4>()?;
    let step = f32::from_le_bytes(*scale) / 127.0;
    Some(steps.iter().map(|byte| f32::from(i8::from_le_bytes([*byte])) * step).collect())
}

/// The newest `limit` of vectors read per space (each newest first): sorted by sequence,
/// newest first, and cut to `limit`.
pub(crate) fn merge(mut vectors: Vec<StoredVector>, limit: u32) -> Vec<StoredVector> {
    vectors.sort_unstable_by_key(|vector| std::cmp::Reverse(vector.sequence));
    vectors.truncate(limit as usize);
    vectors
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

    use super::*;

    #[test]
    fn quantized_vectors_keep_their_direction() {
        let embedding = [0.5_f32, -0.25, 0.0, 0.125, -0.5];
        let bytes = quantized(&embedding);
        assert_eq!(bytes.len(), 4 + embedding.len());
        let back = from_quantized(&bytes).unwrap();
        for (original, restored) in embedding.iter().zip(&back) {
            assert!((original - restored).abs() <= 0.5 / 127.0, "{original} -> {restored}");
        }
        assert_eq!(from_quantized(&quantized(&[0.0, 0.0])).unwrap(), vec![0.0, 0.0]);
        assert_eq!(from_quantized(&[1, 2]), None);
    }

    #[test]
    fn the_first_vector_of_a_tenant_fixes_its_length() {
        let claims = vec![
            Claim { tenant_id: "t1", field: "events[0].embedding".into(), dimensions: 4 },
            Claim { tenant_id: "t2", field: "events[1].embedding".into(), dimensions: 3 },
            Claim { tenant_id: "t1", field: "events[2].embedding".into(), dimensions: 3 },
        ];
        let error = settle(&claims, &HashMap::new()).unwrap_err();
        assert_eq!(error.to_string(), settle_error("events[2].embedding", 3, 4));
        assert_eq!(settle(&claims[..2], &HashMap::new()).unwrap(), vec![("t1".to_string(), 4), ("t2".to_string(), 3)]);
        let stored = HashMap::from([("t1".to_string(), 3)]);
        assert!(settle(&claims[..1], &stored).unwrap_err().to_string().contains("events[0].embedding"));
        assert!(settle(&claims[2..], &stored).unwrap().is_empty());
    }

    fn settle_error(field: &str, dimensions: usize, stored: usize) -> String {
        Error::invalid(field, format!("has {dimensions} dimensions; vectors in this tenant have {stored}")).to_string()
    }
}
