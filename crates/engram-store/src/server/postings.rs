//! The lexical index on Postgres and MySQL (DESIGN.md "Lexical index"): postings as B-tree
//! tables `{kind}_postings(tenant_id, space_id, term, seq)`, df in `lexical_terms`, totals in
//! `lexical_totals`. A read's newest K postings of every present (space, term) are one
//! `UNION ALL` of limited index ranges (`sql/postings.rs`).

use crate::error::Result;
use crate::record::{Postings, PostingsRequest};
use crate::sql::{
    ColumnClass, Connection, Dialect, Document, PostingsLayout, Select, Statement, in_list, insert_rows, placeholders,
    read_postings, table_info,
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

    fn rows_per_document(&self, terms: usize) -> u64 {
        terms as u64
    }

    /// The newest postings of a (space, term) are one limited range of the table's key.
    fn read(&self, connection: &mut dyn Connection, request: &PostingsRequest) -> Result<Postings> {
        let postings = table_info(request.kind).postings;
        let range = format!(
            "seq FROM {postings} WHERE tenant_id = ? AND space_id = ? AND term = ? ORDER BY seq DESC LIMIT {}",
            request.per_term
        );
        // The tag is written, not bound: a bound select-list value has no column type to read
        // an integer from on MySQL, and the union's text varies with its ranges anyway.
        read_postings(connection, request, |tag, space_id, term| {
            Statement::new(format!("SELECT {tag}, {range}")).bind(&request.tenant_id).bind(space_id).bind(term)
        })
    }

    /// Postgres: one select for every (space, term) present, each one's newest postings a
    /// `LATERAL` range of the table's key. MariaDB has no `LATERAL`: one range per requested
    /// (space, term), the space's id looked up by its name inside the range's condition.
    fn newest_of_named_spaces(&self, request: &PostingsRequest, dialect: Dialect) -> Result<Option<Vec<Select>>> {
        let postings = table_info(request.kind).postings;
        let per_term = request.per_term;
        let columns = [("term", ColumnClass::Text), ("seq", ColumnClass::Integer)];
        if dialect.joins_laterally() {
            let mut statement = Statement::new("").bind(&request.tenant_id).bind(request.kind.as_str());
            let spaces = in_list(&mut statement, dialect, &request.spaces)?;
            let terms = in_list(&mut statement, dialect, &request.terms)?;
            let rest = format!(
                "FROM lexical_spaces s JOIN lexical_terms t ON t.tenant_id = s.tenant_id AND t.space_id = s.space_id \
                 CROSS JOIN LATERAL (SELECT seq FROM {postings} p WHERE p.tenant_id = s.tenant_id \
                 AND p.space_id = s.space_id AND p.term = t.term ORDER BY seq DESC LIMIT {per_term}) p \
                 WHERE s.tenant_id = ? AND s.kind = ? AND s.space IN ({spaces}) AND t.term IN ({terms})"
            );
            let columns = [("t.term", ColumnClass::Text), ("p.seq", ColumnClass::Integer)];
            return Ok(Some(vec![Select::of(&columns, rest, statement.params)]));
        }
        let rest = format!(
            "FROM {postings} WHERE tenant_id = ? AND space_id = (SELECT space_id FROM lexical_spaces \
             WHERE tenant_id = ? AND kind = ? AND space = ?) AND term = ? ORDER BY seq DESC LIMIT {per_term}"
        );
        let pairs = request.spaces.iter().flat_map(|space| request.terms.iter().map(move |term| (space, term)));
        let ranges = pairs
            .map(|(space, term)| {
                let params = vec![
                    request.tenant_id.as_str().into(),
                    request.tenant_id.as_str().into(),
                    request.kind.as_str().into(),
                    space.into(),
                    term.into(),
                ];
                Select::of(&columns, rest.clone(), params)
            })
            .collect();
        Ok(Some(ranges))
    }
}
