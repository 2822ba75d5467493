//! The tables of engram's schema, as the SQL backends name them and receipts count them.

use std::collections::BTreeSet;

use crate::error::{Error, Result};

/// Every table holding memory (the migrations' own bookkeeping aside).
pub(crate) const TABLES: [&str; 20] = [
    "events",
    "event_postings",
    "facts",
    "fact_postings",
    "episodes",
    "episode_postings",
    "procedures",
    "procedure_postings",
    "insights",
    "insight_postings",
    "lexical_spaces",
    "lexical_terms",
    "lexical_totals",
    "record_vectors",
    "vector_dimensions",
    "working_states",
    "short_terms",
    "items",
    "item_terms",
    "item_totals",
];

/// `tables` (the input `field`) as the schema spells them, in schema order; a name the schema
/// does not have is `InvalidInput` (the names end up in SQL statements: only these are spelled).
pub(crate) fn known_tables(field: &str, tables: &BTreeSet<String>) -> Result<Vec<&'static str>> {
    if let Some(unknown) = tables.iter().find(|table| !TABLES.contains(&table.as_str())) {
        return Err(Error::invalid(field, format!("{unknown:?} is not a table of engram's schema")));
    }
    Ok(TABLES.into_iter().filter(|table| tables.contains(*table)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_put_in_schema_order() {
        let asked: BTreeSet<String> = ["lexical_terms", "events"].map(String::from).into();
        assert_eq!(known_tables("tables", &asked).ok(), Some(vec!["events", "lexical_terms"]));
        let hostile: BTreeSet<String> = ["events; DROP TABLE facts".to_string()].into();
        let error = known_tables("tables", &hostile).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(error.contains("tables") && error.contains("not a table"), "{error}");
    }
}
