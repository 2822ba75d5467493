//! Record vectors, the same way for every backend: the one length all vectors of a tenant
//! share, and merging per-space reads. (Their bytes in a database are `sql`'s.)

use std::collections::HashMap;

use engram_types::Event;

use crate::error::{Error, Result};
use crate::prepare::Prepared;
use crate::record::{Record, StoredVector};

/// One vector a write stores: its tenant, the field that names it in errors, its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim<'a> {
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

/// The vectors of a bulk append, named `events[i].embedding`.
pub(crate) fn event_claims(prepared: &[Prepared<Event>]) -> Vec<Claim<'_>> {
    prepared
        .iter()
        .enumerate()
        .filter_map(|(index, item)| {
            item.record.embedding.as_ref().map(|embedding| Claim {
                tenant_id: &item.record.scope.tenant_id,
                field: format!("events[{index}].embedding"),
                dimensions: embedding.len(),
            })
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
