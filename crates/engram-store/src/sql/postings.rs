//! The postings read of every SQL backend (DESIGN.md "Lexical index"): the spaces with their
//! totals from `lexical_spaces`/`lexical_totals`, every df from `lexical_terms`, then the newest
//! postings of each present (space, term) from the backend's postings layout.

use std::collections::BTreeMap;

use super::connection::Connection;
use super::dialect::Dialect;
use super::run::{in_list, union_all};
use super::statement::Statement;
use crate::error::Result;
use crate::record::{Postings, PostingsRequest, TermPostings};

/// Reads postings as `memory/postings.rs` does: totals summed over the requested spaces, and
/// per term the df summed and the newest `per_term` sequences merged across spaces. Three
/// statements whatever the number of terms and spaces (on SQLite the postings ranges run one by
/// one from the statement cache). `newest` is the layout's range of one (space id, term): its
/// newest `per_term` postings as (term, sequence) rows, newest first.
pub(crate) fn read(
    connection: &mut dyn Connection,
    request: &PostingsRequest,
    newest: impl Fn(i64, &str) -> Statement,
) -> Result<Postings> {
    let mut result = Postings { terms: BTreeMap::new(), document_count: 0, total_length: 0 };
    for term in &request.terms {
        result.terms.insert(term.clone(), TermPostings::default());
    }
    if request.spaces.is_empty() {
        return Ok(result);
    }
    let dialect = connection.dialect();
    let mut space_ids = Vec::new();
    for (space_id, documents, length) in spaces_statement(request, dialect)?
        .rows(connection, |row| Ok((row.integer(0)?, row.integer(1)?, row.integer(2)?)))?
    {
        space_ids.push(space_id);
        result.document_count += u64::try_from(documents).unwrap_or(0);
        result.total_length += u64::try_from(length).unwrap_or(0);
    }
    // A read without terms asks for the totals only (the packet builder's small-section check).
    if space_ids.is_empty() || request.terms.is_empty() {
        return Ok(result);
    }
    let mut present: Vec<(i64, String)> = Vec::new();
    for (space_id, term, df) in frequencies_statement(request, &space_ids, dialect)?
        .rows(connection, |row| Ok((row.integer(0)?, row.text(1)?, row.integer(2)?)))?
    {
        if let Some(merged) = result.terms.get_mut(&term) {
            merged.document_frequency += u64::try_from(df).unwrap_or(0);
            present.push((space_id, term));
        }
    }
    // Sorted so that the same request is the same statement text (prepared once per connection).
    present.sort();
    let ranges = present.iter().map(|(space_id, term)| newest(*space_id, term)).collect();
    for (term, sequence) in union_all(connection, ranges, |row| Ok((row.text(0)?, row.integer(1)?)))? {
        if let Some(merged) = result.terms.get_mut(&term) {
            merged.sequences.push(sequence);
        }
    }
    let limit = request.per_term as usize;
    for merged in result.terms.values_mut() {
        merged.sequences.sort_unstable_by(|left, right| right.cmp(left));
        merged.sequences.truncate(limit);
    }
    Ok(result)
}

/// The requested spaces that exist, with their totals.
pub(crate) fn spaces_statement(request: &PostingsRequest, dialect: Dialect) -> Result<Statement> {
    let mut statement = Statement::new("").bind(&request.tenant_id).bind(request.kind.as_str());
    let spaces = in_list(&mut statement, dialect, &request.spaces)?;
    statement.sql = format!(
        "SELECT s.space_id, COALESCE(t.documents, 0), COALESCE(t.total_length, 0)
         FROM lexical_spaces s LEFT JOIN lexical_totals t ON t.tenant_id = s.tenant_id AND t.space_id = s.space_id
         WHERE s.tenant_id = ? AND s.kind = ? AND s.space IN ({spaces})"
    );
    Ok(statement)
}

/// The df of each requested term present in one of `space_ids`.
pub(crate) fn frequencies_statement(
    request: &PostingsRequest,
    space_ids: &[i64],
    dialect: Dialect,
) -> Result<Statement> {
    let mut statement = Statement::new("").bind(&request.tenant_id);
    let spaces = in_list(&mut statement, dialect, space_ids)?;
    let terms = in_list(&mut statement, dialect, &request.terms)?;
    statement.sql = format!(
        "SELECT space_id, term, df FROM lexical_terms WHERE tenant_id = ? AND space_id IN ({spaces}) AND term IN ({terms})"
    );
    Ok(statement)
}
