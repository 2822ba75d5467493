//! The df and totals changes of one write transaction, summed per space so each backend writes
//! every (space, term) once, in key order (which also keeps concurrent writers from deadlocking).

use std::collections::BTreeMap;

use super::connection::Connection;
use super::dialect::Update;
use super::statement::Statement;
use crate::error::Result;
use crate::lexical::DocumentTerms;

#[derive(Debug, Default)]
pub(crate) struct TermCounts {
    pub spaces: BTreeMap<i64, SpaceCounts>,
}

/// Changes of one space: df delta per term, documents and summed length.
#[derive(Debug, Default)]
pub(crate) struct SpaceCounts {
    pub tenant_id: String,
    pub frequencies: BTreeMap<String, i64>,
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
    /// Adds the space's documents and summed length to its `lexical_totals` row, never going
    /// below zero (a removal only ever meets a row its record's indexing made).
    pub(crate) fn write_totals(&self, connection: &mut dyn Connection, space_id: i64) -> Result<()> {
        if self.documents == 0 && self.length == 0 {
            return Ok(());
        }
        let updates = [("documents", Update::AddAtLeastZero), ("total_length", Update::AddAtLeastZero)];
        let upsert = connection.dialect().upsert("lexical_totals", "tenant_id, space_id", &updates);
        Statement::new(format!(
            "INSERT INTO lexical_totals (tenant_id, space_id, documents, total_length) VALUES (?, ?, ?, ?) {upsert}"
        ))
        .bind(&self.tenant_id)
        .bind(space_id)
        .bind(self.documents)
        .bind(self.length)
        .execute(connection)
        .map(drop)
    }
}
