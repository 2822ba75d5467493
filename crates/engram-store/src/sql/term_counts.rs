//! The df and totals changes of one write transaction, summed per space so each backend writes
//! every (space, term) once, in key order (which also keeps concurrent writers from deadlocking).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::lexical::DocumentTerms;

#[derive(Debug, Default)]
pub(crate) struct TermCounts {
    pub spaces: BTreeMap<i64, SpaceCounts>,
}

/// Changes of one space: df delta per term, documents and summed length.
#[derive(Debug, Default)]
pub(crate) struct SpaceCounts {
    pub tenant_id: String,
    /// Hashed, not ordered: a bulk append looks up every term of every record here, and
    /// [`SpaceCounts::deltas`] orders them once.
    frequencies: FxHashMap<String, i64>,
    pub documents: i64,
    pub length: i64,
}

impl TermCounts {
    /// Counts a document's terms in (`sign` 1) or out (`sign` -1).
    pub(crate) fn count(&mut self, tenant_id: &str, space_id: i64, terms: &DocumentTerms, sign: i64) {
        let space = self
            .spaces
            .entry(space_id)
            .or_insert_with(|| SpaceCounts { tenant_id: tenant_id.to_string(), ..SpaceCounts::default() });
        for term in terms.frequencies.keys() {
            // Look up by reference first: most terms of a batch were seen before.
            match space.frequencies.get_mut(term.as_str()) {
                Some(delta) => *delta += sign,
                None => {
                    space.frequencies.insert(term.clone(), sign);
                }
            }
        }
        space.documents += sign;
        space.length += sign * i64::from(terms.length);
    }
}

impl SpaceCounts {
    /// The terms whose df changes, with the change, in key order.
    pub(crate) fn deltas(&self) -> Vec<(&String, i64)> {
        let mut deltas: Vec<(&String, i64)> =
            self.frequencies.iter().filter(|(_, delta)| **delta != 0).map(|(term, delta)| (term, *delta)).collect();
        deltas.sort_unstable_by(|left, right| left.0.cmp(right.0));
        deltas
    }
}
