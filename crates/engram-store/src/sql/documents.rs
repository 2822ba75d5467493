//! The postings of records a write adds or removes, as a postings layout writes them.

use std::collections::BTreeMap;

use crate::lexical::DocumentTerms;
use crate::record::RecordKind;

/// A document's postings: which record, in which space, with which terms.
#[derive(Debug)]
pub(crate) struct Document {
    pub sequence: i64,
    #[cfg_attr(
        not(any(feature = "postgres", feature = "mysql")),
        allow(dead_code, reason = "FTS5 tokens name the space")
    )]
    pub tenant_id: String,
    pub space_id: i64,
    pub terms: Vec<String>,
}

impl Document {
    pub(crate) fn new(sequence: i64, tenant_id: &str, space_id: i64, terms: &DocumentTerms) -> Self {
        let terms = terms.frequencies.keys().cloned().collect();
        Self { sequence, tenant_id: tenant_id.to_string(), space_id, terms }
    }
}

/// Documents per record kind.
pub(crate) type Documents = BTreeMap<RecordKind, Vec<Document>>;
