//! The lexical index on Postgres and MySQL (DESIGN.md "Lexical index"): postings as B-tree
//! tables `{kind}_postings(tenant_id, space_id, term, seq)`, df in `lexical_terms`, totals in
//! `lexical_totals`. A read is three statements whatever the number of terms and spaces: the
//! spaces with their totals, every df, and the newest K postings of every present (space, term)
//! as one `UNION ALL` of limited index ranges.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::record::{Postings, PostingsRequest, TermPostings};
use crate::sql::{
    Connection, Document, PostingsLayout, Statement, TermCounts, Update, insert_rows, placeholders, table_info,
    union_all, write_totals,
};

/// Rows per multi-row insert: well under both servers' limit of 65535 parameters.
const ROWS_PER_INSERT: usize = 2000;

/// Postings as rows of B-tree tables: one per (document, term).
#[derive(Debug)]
pub(super) struct TablePostings;

impl PostingsLayout for TablePostings {
    /// One statement per document: its rows, by (tenant, space, term) and sequence.
    fn remove_document(&self, connection: &mut dyn Connection, postings: &str, document: &Document) -> Result<u64> {
        if document.terms.is_empty() {
            return Ok(0);
        }
        let mut statement = Statement::new(format!(
            "DELETE FROM {postings} WHERE tenant_id = ? AND space_id = ? AND term IN ({}) AND seq = ?",
            placeholders(document.terms.len())
        ))
        .bind(&document.tenant_id)
        .bind(document.space_id);
        statement.push_all(&document.terms);
        statement.push(document.sequence);
        Ok(statement.execute(connection)?.rows)
    }

    /// One row per (document, term), in multi-row inserts.
    fn add_documents(&self, connection: &mut dyn Connection, postings: &str, documents: &[Document]) -> Result<()> {
        let rows = documents.iter().flat_map(|document| {
            let (tenant_id, space_id, sequence) = (document.tenant_id.as_str(), document.space_id, document.sequence);
            document.terms.iter().map(move |term| vec![tenant_id.into(), space_id.into(), term.into(), sequence.into()])
        });
        let insert = format!("INSERT INTO {postings} (tenant_id, space_id, term, seq)");
        insert_rows(connection, &insert, "", rows, ROWS_PER_INSERT)
    }

    /// Every df delta is one row of a multi-row upsert (a negative delta only ever hits a row
    /// that exists: its record was indexed); rows that reach zero are deleted after.
    fn write_counts(&self, connection: &mut dyn Connection, counts: &TermCounts) -> Result<u64> {
        let dialect = connection.dialect();
        let mut removed_terms = 0;
        let add_df = dialect.upsert("lexical_terms", "tenant_id, space_id, term", &[("df", Update::AddAtLeastZero)]);
        for (space_id, space) in &counts.spaces {
            let deltas = space.frequencies.iter().filter(|(_, delta)| **delta != 0);
            let rows = deltas
                .map(|(term, delta)| vec![(&space.tenant_id).into(), (*space_id).into(), term.into(), (*delta).into()]);
            let insert = "INSERT INTO lexical_terms (tenant_id, space_id, term, df)";
            insert_rows(connection, insert, &format!(" {add_df}"), rows, ROWS_PER_INSERT)?;
            let emptied: Vec<&String> =
                space.frequencies.iter().filter(|(_, delta)| **delta < 0).map(|(term, _)| term).collect();
            if !emptied.is_empty() {
                let mut statement = Statement::new(format!(
                    "DELETE FROM lexical_terms WHERE tenant_id = ? AND space_id = ? AND term IN ({}) AND df <= 0",
                    placeholders(emptied.len())
                ))
                .bind(&space.tenant_id)
                .bind(*space_id);
                statement.push_all(emptied);
                removed_terms += statement.execute(connection)?.rows;
            }
            write_totals(connection, *space_id, space)?;
        }
        Ok(removed_terms)
    }

    fn rows_per_document(&self, terms: usize) -> u64 {
        terms as u64
    }

    fn read(&self, connection: &mut dyn Connection, request: &PostingsRequest) -> Result<Postings> {
        read(connection, request)
    }
}

/// Reads postings as `memory/postings.rs` does: totals summed over the requested spaces, and
/// per term the df summed and the newest `per_term` sequences merged across spaces.
pub(super) fn read(connection: &mut dyn Connection, request: &PostingsRequest) -> Result<Postings> {
    let mut result = Postings { terms: BTreeMap::new(), document_count: 0, total_length: 0 };
    for term in &request.terms {
        result.terms.insert(term.clone(), TermPostings::default());
    }
    if request.spaces.is_empty() {
        return Ok(result);
    }
    let mut statement = Statement::new(format!(
        "SELECT s.space_id, COALESCE(t.documents, 0), COALESCE(t.total_length, 0)
         FROM lexical_spaces s LEFT JOIN lexical_totals t ON t.tenant_id = s.tenant_id AND t.space_id = s.space_id
         WHERE s.tenant_id = ? AND s.kind = ? AND s.space IN ({})",
        placeholders(request.spaces.len())
    ))
    .bind(&request.tenant_id)
    .bind(request.kind.as_str());
    statement.push_all(&request.spaces);
    let mut space_ids = Vec::new();
    for (space_id, documents, length) in
        statement.rows(connection, |row| Ok((row.integer(0)?, row.integer(1)?, row.integer(2)?)))?
    {
        space_ids.push(space_id);
        result.document_count += u64::try_from(documents).unwrap_or(0);
        result.total_length += u64::try_from(length).unwrap_or(0);
    }
    // A read without terms asks for the totals only (the packet builder's small-section check).
    if space_ids.is_empty() || request.terms.is_empty() {
        return Ok(result);
    }
    let mut statement = Statement::new(format!(
        "SELECT space_id, term, df FROM lexical_terms WHERE tenant_id = ? AND space_id IN ({}) AND term IN ({})",
        placeholders(space_ids.len()),
        placeholders(request.terms.len())
    ))
    .bind(&request.tenant_id);
    statement.push_all(space_ids.iter().copied());
    statement.push_all(&request.terms);
    let mut present: Vec<(i64, String)> = Vec::new();
    for (space_id, term, df) in
        statement.rows(connection, |row| Ok((row.integer(0)?, row.text(1)?, row.integer(2)?)))?
    {
        if let Some(merged) = result.terms.get_mut(&term) {
            merged.document_frequency += u64::try_from(df).unwrap_or(0);
            present.push((space_id, term));
        }
    }
    if present.is_empty() {
        return Ok(result);
    }
    // Sorted so that the same request is the same statement text (prepared once per connection).
    present.sort();
    let postings = table_info(request.kind).postings;
    let range = format!(
        "SELECT term, seq FROM {postings} WHERE tenant_id = ? AND space_id = ? AND term = ? ORDER BY seq DESC LIMIT {}",
        request.per_term
    );
    let ranges = present
        .iter()
        .map(|(space_id, term)| Statement::new(range.as_str()).bind(&request.tenant_id).bind(*space_id).bind(term))
        .collect();
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
