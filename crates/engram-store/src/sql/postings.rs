//! What every SQL backend's lexical index shares (DESIGN.md "Lexical index"), whatever its
//! postings layout: the df and totals a transaction writes into `lexical_terms` and
//! `lexical_totals`, and the postings read (the spaces with their totals, every df, then the
//! newest postings of each present (space, term) from the layout).

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::connection::Connection;
use super::dialect::{Dialect, Update};
use super::run::{in_list, insert_rows, union_all};
use super::select::{ColumnClass, Select};
use super::statement::Statement;
use super::stored_values::to_json;
use super::term_counts::TermCounts;
use super::totals::write_totals;
use crate::error::Result;
use crate::record::{Postings, PostingsRequest, TermPostings};

/// Rows per multi-row upsert on a server: well under both servers' limit of 65535 parameters.
const ROWS_PER_UPSERT: usize = 2000;

/// Writes a transaction's df and totals deltas, space by space and each in key order; how many
/// `lexical_terms` rows reached df 0 and went. A space's deltas are one upsert (a negative delta
/// only ever meets a row that exists: its record was indexed): on SQLite one statement, the terms
/// as one JSON object (a bulk append touches thousands of distinct terms, and one statement per
/// term cost more than the B-tree work itself); on a server multi-row inserts. The rows that
/// reach zero are deleted after.
pub(crate) fn write_counts(connection: &mut dyn Connection, counts: &TermCounts) -> Result<u64> {
    let dialect = connection.dialect();
    let add_df = dialect.upsert("lexical_terms", "tenant_id, space_id, term", &[("df", Update::AddAtLeastZero)]);
    let insert = "INSERT INTO lexical_terms (tenant_id, space_id, term, df)";
    let mut removed_terms = 0;
    for (space_id, space) in &counts.spaces {
        let deltas = space.deltas();
        if dialect == Dialect::Sqlite {
            if !deltas.is_empty() {
                Statement::new(format!("{insert} SELECT ?, ?, key, value FROM json_each(?) WHERE true {add_df}"))
                    .bind(&space.tenant_id)
                    .bind(*space_id)
                    .bind(to_json(&JsonObject(&deltas))?)
                    .execute(connection)?;
            }
        } else {
            let rows = deltas.iter().map(|(term, delta)| {
                vec![(&space.tenant_id).into(), (*space_id).into(), (*term).into(), (*delta).into()]
            });
            insert_rows(connection, insert, &format!(" {add_df}"), rows, ROWS_PER_UPSERT)?;
        }
        let emptied: Vec<&String> = deltas.iter().filter(|(_, delta)| *delta < 0).map(|(term, _)| *term).collect();
        if !emptied.is_empty() {
            let mut statement = Statement::new("").bind(&space.tenant_id).bind(*space_id);
            let terms = in_list(&mut statement, dialect, &emptied)?;
            statement.sql = format!(
                "DELETE FROM lexical_terms WHERE tenant_id = ? AND space_id = ? AND term IN ({terms}) AND df <= 0"
            );
            removed_terms += statement.execute(connection)?.rows;
        }
        write_totals(connection, *space_id, space)?;
    }
    Ok(removed_terms)
}

/// (term, delta) pairs, in key order already, serialized as one JSON object of term to delta.
struct JsonObject<'deltas>(&'deltas [(&'deltas String, i64)]);

impl Serialize for JsonObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(term, delta)| (term, delta)))
    }
}

/// Reads postings as `memory/postings.rs` does: totals summed over the requested spaces, and
/// per term the df summed and the newest `per_term` sequences merged across spaces. Three
/// statements whatever the number of terms and spaces (on SQLite the postings ranges run one by
/// one from the statement cache). `newest(tag, space id, term)` is the layout's range of one
/// (space, term): its newest `per_term` postings as rows (`tag`, sequence), newest first; the
/// tag says which range a row of the union came from.
pub(crate) fn read(
    connection: &mut dyn Connection,
    request: &PostingsRequest,
    newest: impl Fn(i64, i64, &str) -> Statement,
) -> Result<Postings> {
    let mut found = Found::default();
    if request.spaces.is_empty() {
        return Ok(found.postings(request));
    }
    let dialect = connection.dialect();
    let mut space_ids = Vec::new();
    for (space_id, documents, length) in spaces_select(request, dialect)?
        .statement()
        .rows(connection, |row| Ok((row.integer(0)?, row.integer(1)?, row.integer(2)?)))?
    {
        space_ids.push(space_id);
        found.totals.push((documents, length));
    }
    // A read without terms asks for the totals only (the packet builder's small-section check).
    if space_ids.is_empty() || request.terms.is_empty() {
        return Ok(found.postings(request));
    }
    let mut present: Vec<(i64, String)> = Vec::new();
    for (space_id, term, df) in frequencies_statement(request, &space_ids, dialect)?
        .rows(connection, |row| Ok((row.integer(0)?, row.text(1)?, row.integer(2)?)))?
    {
        present.push((space_id, term.clone()));
        found.frequencies.push((term, df));
    }
    // Sorted so that the same request is the same statement text (prepared once per connection).
    present.sort();
    let ranges = (0..).zip(&present).map(|(tag, (space_id, term))| newest(tag, *space_id, term)).collect();
    // Rows name their range by its index: no term text to read back for each of thousands of rows.
    let ranges = union_all(connection, ranges, |row| Ok((row.integer(0)?, row.integer(1)?)))?;
    found.sequences = ranges
        .into_iter()
        .filter_map(|(tag, sequence)| {
            let (_, term) = present.get(usize::try_from(tag).ok()?)?;
            Some((term.clone(), sequence))
        })
        .collect();
    Ok(found.postings(request))
}

/// The rows of a postings read: each requested space's totals, each (space, term)'s df, and
/// the postings of each term found in its spaces' newest ranges.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// (documents, total length) per space.
    pub totals: Vec<(i64, i64)>,
    /// (term, df) per space the term is in.
    pub frequencies: Vec<(String, i64)>,
    /// (term, sequence) per posting read.
    pub sequences: Vec<(String, i64)>,
}

impl Found {
    /// The answer: totals summed, and per requested term its df summed and its newest
    /// `per_term` sequences across spaces.
    pub(crate) fn postings(self, request: &PostingsRequest) -> Postings {
        let mut result = Postings { terms: BTreeMap::new(), document_count: 0, total_length: 0 };
        for term in &request.terms {
            result.terms.insert(term.clone(), TermPostings::default());
        }
        for (documents, length) in self.totals {
            result.document_count += u64::try_from(documents).unwrap_or(0);
            result.total_length += u64::try_from(length).unwrap_or(0);
        }
        for (term, df) in self.frequencies {
            if let Some(merged) = result.terms.get_mut(&term) {
                merged.document_frequency += u64::try_from(df).unwrap_or(0);
            }
        }
        for (term, sequence) in self.sequences {
            if let Some(merged) = result.terms.get_mut(&term) {
                merged.sequences.push(sequence);
            }
        }
        let limit = request.per_term as usize;
        for merged in result.terms.values_mut() {
            merged.sequences.sort_unstable_by(|left, right| right.cmp(left));
            merged.sequences.truncate(limit);
        }
        result
    }
}

/// A postings read as selects of one statement, for a read sent with others (a server's
/// batch): the spaces' totals; the df of the terms in them; and each (space, term)'s newest
/// postings as (term, sequence) rows, from the layout (`newest`), which names the spaces
/// rather than their ids (the ids are not read yet). Empty when the request reads nothing.
pub(crate) fn batch_selects(
    request: &PostingsRequest,
    dialect: Dialect,
    newest: impl FnOnce() -> Result<Vec<Select>>,
) -> Result<Vec<Select>> {
    if request.spaces.is_empty() {
        return Ok(Vec::new());
    }
    let mut selects = vec![spaces_select(request, dialect)?];
    if request.terms.is_empty() {
        return Ok(selects);
    }
    let mut statement = Statement::new("").bind(&request.tenant_id).bind(request.kind.as_str());
    let spaces = in_list(&mut statement, dialect, &request.spaces)?;
    let terms = in_list(&mut statement, dialect, &request.terms)?;
    let rest = format!(
        "FROM lexical_spaces s JOIN lexical_terms t ON t.tenant_id = s.tenant_id AND t.space_id = s.space_id
         WHERE s.tenant_id = ? AND s.kind = ? AND s.space IN ({spaces}) AND t.term IN ({terms})"
    );
    selects.push(Select::of(&[("t.term", ColumnClass::Text), ("t.df", ColumnClass::Integer)], rest, statement.params));
    selects.extend(newest()?);
    Ok(selects)
}

/// The requested spaces that exist, with their totals.
pub(crate) fn spaces_statement(request: &PostingsRequest, dialect: Dialect) -> Result<Statement> {
    Ok(spaces_select(request, dialect)?.statement())
}

/// [`spaces_statement`] as a select: space id, documents, total length.
fn spaces_select(request: &PostingsRequest, dialect: Dialect) -> Result<Select> {
    let mut statement = Statement::new("").bind(&request.tenant_id).bind(request.kind.as_str());
    let spaces = in_list(&mut statement, dialect, &request.spaces)?;
    let rest = format!(
        "FROM lexical_spaces s LEFT JOIN lexical_totals t ON t.tenant_id = s.tenant_id AND t.space_id = s.space_id
         WHERE s.tenant_id = ? AND s.kind = ? AND s.space IN ({spaces})"
    );
    let columns = [
        ("s.space_id", ColumnClass::Integer),
        ("COALESCE(t.documents, 0)", ColumnClass::Integer),
        ("COALESCE(t.total_length, 0)", ColumnClass::Integer),
    ];
    Ok(Select::of(&columns, rest, statement.params))
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
