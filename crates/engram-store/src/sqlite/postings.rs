//! The lexical index on SQLite (DESIGN.md "Lexical index").
//!
//! Layout, and why:
//! * Postings live in one contentless FTS5 table per record kind, used purely as a postings
//!   store: a document is the record's terms as tokens `{space_id}x{hex(term)}` made here in
//!   Rust, its rowid the record's sequence. FTS5 appends one segment per transaction and merges
//!   in the background, so a bulk commit writes a few sequential pages instead of dirtying one
//!   B-tree page per distinct (space, term) as a `(space, term, seq)` table would (measured
//!   ~3.7k events/s for that table against far more here). Reading the newest K postings of a
//!   token is `MATCH '"token"' ORDER BY rowid DESC LIMIT K`: one doclist walked backwards. The
//!   space id inside the token keeps a doclist to one space of one tenant, so its cost does not
//!   grow with the rest of the store. FTS5's ranking (MATCH order, bm25()) is never used:
//!   scores are computed in Rust from the numbers returned here, the same on every backend.
//! * Document frequencies live in `lexical_terms(tenant_id, space_id, term, df)`: a df read is
//!   one point lookup (fts5vocab would walk the whole doclist). The writer aggregates a
//!   transaction's terms in Rust and upserts each distinct (space, term) once, in key order.
//! * `lexical_totals` keeps documents and summed length per space for BM25's average length.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use engram_types::Receipt;
use rusqlite::{Connection, OptionalExtension, params};

use super::error::storage;
use super::rows::table_info;
use super::vectors::{self, VectorRow};
use crate::error::Result;
use crate::lexical::DocumentTerms;
use crate::record::{Postings, PostingsRequest, RecordKind, TermPostings};
pub(super) use crate::sql::NewSpaces;
use crate::sql::TermCounts;

/// The id of an existing space, or `None` when nothing was ever indexed in it. Read in the
/// caller's transaction: another handle or process may have dropped the space and a later
/// write created it again under a new id.
pub(super) fn lookup(connection: &Connection, tenant_id: &str, kind: RecordKind, space: &str) -> Result<Option<i64>> {
    connection
        .prepare_cached("SELECT space_id FROM lexical_spaces WHERE tenant_id = ?1 AND kind = ?2 AND space = ?3")
        .and_then(|mut statement| {
            statement.query_row(params![tenant_id, kind.as_str(), space], |row| row.get(0)).optional()
        })
        .map_err(storage)
}

/// The id of a space, created inside the writer's transaction when new. Read from the database
/// ([`lookup`]): another process may have dropped the space since this one last wrote to it.
pub(super) fn resolve(
    connection: &Connection,
    tenant_id: &str,
    kind: RecordKind,
    space: &str,
    created: &mut NewSpaces,
) -> Result<i64> {
    if let Some(id) = created.find(tenant_id, kind, space) {
        return Ok(id);
    }
    if let Some(id) = lookup(connection, tenant_id, kind, space)? {
        return Ok(id);
    }
    connection
        .prepare_cached("INSERT INTO lexical_spaces (tenant_id, kind, space) VALUES (?1, ?2, ?3)")
        .and_then(|mut statement| statement.execute(params![tenant_id, kind.as_str(), space]))
        .map_err(storage)?;
    let id = connection.last_insert_rowid();
    created.push(tenant_id, kind, space, id);
    Ok(id)
}

/// The token of `term` in space `space_id`: the id, `x`, the term's bytes in hex. Only ASCII
/// letters and digits, so FTS5's ascii tokenizer keeps it whole (and lowercase hex is
/// unchanged by its case folding).
fn push_token(out: &mut String, space_id: i64, term: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let _ = write!(out, "{space_id}x");
    for byte in term.bytes() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
}

/// Pages of FTS5 segments merged after each write that adds postings (FTS5's `merge` command).
const MERGE_PAGES_PER_WRITE: i64 = 64;

/// Rewrites each postings table `receipt` counts removals from into one segment (FTS5's
/// `optimize`), which drops the documents marked deleted: their tokens leave the file; the
/// receipt says so (`erased`). Costs a
/// pass over the table's whole index (about 40 ms at 100,000 events here).
pub(super) fn rewrite_without_deleted(connection: &Connection, receipt: &mut Receipt) -> Result<()> {
    for kind in RecordKind::ALL {
        let postings = table_info(kind).postings;
        if receipt.count(postings) > 0 {
            connection
                .execute(&format!("INSERT INTO {postings} ({postings}) VALUES ('optimize')"), [])
                .map_err(storage)?;
            receipt.mark_erased(postings);
        }
    }
    Ok(())
}

/// The FTS5 query matching exactly one token.
fn token_query(space_id: i64, term: &str) -> String {
    let mut query = String::with_capacity(term.len() * 2 + 24);
    query.push('"');
    push_token(&mut query, space_id, term);
    query.push('"');
    query
}

/// Index changes of one write transaction: postings go to FTS5 as each record is written;
/// df and totals deltas are summed here per space and written once per key by
/// [`IndexChanges::apply`].
#[derive(Debug, Default)]
pub(super) struct IndexChanges {
    counts: TermCounts,
    /// New FTS5 documents per kind, as (sequence, tokens), inserted by `apply` in one
    /// statement per kind: FTS5 flushes its pending terms to a new segment at every statement
    /// savepoint, so one insert per record meant one tiny segment (and merge work) per record.
    documents: BTreeMap<RecordKind, Vec<(i64, String)>>,
    /// Vector rows of the records indexed, written by `apply` (removals happen at once, as
    /// postings removals do).
    vectors: Vec<VectorRow>,
}

impl IndexChanges {
    /// Adds a record's postings (its FTS5 document, written by `apply`) and counts its terms.
    pub(super) fn insert(
        &mut self,
        kind: RecordKind,
        sequence: i64,
        tenant_id: &str,
        space_id: i64,
        terms: &DocumentTerms,
    ) {
        let mut document = String::with_capacity(terms.frequencies.len() * 16);
        for term in terms.frequencies.keys() {
            if !document.is_empty() {
                document.push(' ');
            }
            push_token(&mut document, space_id, term);
        }
        self.documents.entry(kind).or_default().push((sequence, document));
        self.counts.count(tenant_id, space_id, terms, 1);
    }

    /// Adds the vector row of a record being indexed, when it has a vector.
    pub(super) fn insert_vector(
        &mut self,
        kind: RecordKind,
        sequence: i64,
        tenant_id: &str,
        space: &str,
        embedding: Option<&[f32]>,
    ) {
        if let Some(embedding) = embedding {
            self.vectors.push(VectorRow::new(kind, sequence, tenant_id, space, embedding));
        }
    }

    /// Removes a record's vector row (as its postings leave); how many rows went (0 or 1).
    pub(super) fn remove_vector(
        &mut self,
        connection: &Connection,
        kind: RecordKind,
        sequence: i64,
        tenant_id: &str,
        space: &str,
    ) -> Result<u64> {
        vectors::remove(connection, kind, sequence, tenant_id, space)
    }

    /// Removes a record's postings, as when a fact is superseded or a procedure replaced.
    pub(super) fn remove(
        &mut self,
        connection: &Connection,
        kind: RecordKind,
        sequence: i64,
        tenant_id: &str,
        space_id: i64,
        terms: &DocumentTerms,
    ) -> Result<()> {
        let sql = format!("DELETE FROM {} WHERE rowid = ?1", table_info(kind).postings);
        connection
            .prepare_cached(&sql)
            .and_then(|mut statement| statement.execute(params![sequence]))
            .map_err(storage)?;
        self.counts.count(tenant_id, space_id, terms, -1);
        Ok(())
    }

    /// Writes the summed df and totals changes. The increments of a space go in one statement
    /// (its terms as one JSON object): a bulk append touches thousands of distinct terms, and
    /// one statement per term cost more than the B-tree work itself.
    /// Returns how many `lexical_terms` rows were removed (df down to 0).
    pub(super) fn apply(self, connection: &Connection) -> Result<u64> {
        vectors::insert(connection, &self.vectors)?;
        let mut removed_terms = 0;
        for (kind, documents) in &self.documents {
            let sql = format!(
                "INSERT INTO {} (rowid, tokens) SELECT value ->> 0, value ->> 1 FROM json_each(?1)",
                table_info(*kind).postings
            );
            let documents = super::rows::to_json(documents)?;
            connection
                .prepare_cached(&sql)
                .and_then(|mut statement| statement.execute(params![documents]))
                .map_err(storage)?;
            // Each write adds a segment; a read opens one iterator per segment. A bounded merge
            // step per write keeps the segments few (RealMem packets on SQLite: p50 -8%).
            let postings = table_info(*kind).postings;
            connection
                .prepare_cached(&format!(
                    "INSERT INTO {postings} ({postings}, rank) VALUES ('merge', {MERGE_PAGES_PER_WRITE})"
                ))
                .and_then(|mut statement| statement.execute([]))
                .map_err(storage)?;
        }
        let mut add = connection
            .prepare_cached(
                "INSERT INTO lexical_terms (tenant_id, space_id, term, df)
                 SELECT ?1, ?2, key, value FROM json_each(?3) WHERE true
                 ON CONFLICT (tenant_id, space_id, term) DO UPDATE SET df = df + excluded.df",
            )
            .map_err(storage)?;
        let mut totals = connection
            .prepare_cached(
                "INSERT INTO lexical_totals (tenant_id, space_id, documents, total_length) VALUES (?1, ?2, MAX(?3, 0), MAX(?4, 0))
                 ON CONFLICT (tenant_id, space_id) DO UPDATE SET documents = MAX(documents + ?3, 0), total_length = MAX(total_length + ?4, 0)",
            )
            .map_err(storage)?;
        for (space_id, space) in &self.counts.spaces {
            let tenant_id = &space.tenant_id;
            let increments: BTreeMap<&str, i64> = space
                .frequencies
                .iter()
                .filter(|(_, delta)| **delta > 0)
                .map(|(term, delta)| (term.as_str(), *delta))
                .collect();
            if !increments.is_empty() {
                add.execute(params![tenant_id, space_id, super::rows::to_json(&increments)?]).map_err(storage)?;
            }
            for (term, delta) in space.frequencies.iter().filter(|(_, delta)| **delta < 0) {
                connection
                    .prepare_cached(
                        "UPDATE lexical_terms SET df = df + ?4 WHERE tenant_id = ?1 AND space_id = ?2 AND term = ?3",
                    )
                    .and_then(|mut statement| statement.execute(params![tenant_id, space_id, term, delta]))
                    .map_err(storage)?;
                removed_terms += connection
                    .prepare_cached(
                        "DELETE FROM lexical_terms WHERE tenant_id = ?1 AND space_id = ?2 AND term = ?3 AND df <= 0",
                    )
                    .and_then(|mut statement| statement.execute(params![tenant_id, space_id, term]))
                    .map_err(storage)? as u64;
            }
            if space.documents != 0 || space.length != 0 {
                totals.execute(params![tenant_id, space_id, space.documents, space.length]).map_err(storage)?;
            }
        }
        Ok(removed_terms)
    }

    /// The spaces whose counts this transaction changed.
    pub(super) fn spaces(&self) -> Vec<(String, i64)> {
        self.counts.spaces.iter().map(|(space_id, space)| (space.tenant_id.clone(), *space_id)).collect()
    }
}

/// Reads postings as `memory/postings.rs` does: totals summed over the requested spaces, and
/// per term the df summed and the newest `per_term` sequences merged across spaces. Run inside
/// one read transaction so the numbers come from one snapshot. Statements: one for the spaces
/// and their totals, one per space for every term's df, one per (space, present term) for
/// its newest postings.
pub(super) fn read(connection: &Connection, request: &PostingsRequest) -> Result<Postings> {
    let mut result = Postings { terms: BTreeMap::new(), document_count: 0, total_length: 0 };
    let mut space_ids = Vec::with_capacity(request.spaces.len());
    {
        let mut statement = connection.prepare_cached(SPACES_QUERY).map_err(storage)?;
        let mut rows = statement
            .query(params![request.tenant_id, request.kind.as_str(), super::rows::to_json(&request.spaces)?])
            .map_err(storage)?;
        while let Some(row) = rows.next().map_err(storage)? {
            let (space_id, documents, length): (i64, i64, i64) =
                (row.get(0).map_err(storage)?, row.get(1).map_err(storage)?, row.get(2).map_err(storage)?);
            space_ids.push(space_id);
            result.document_count += u64::try_from(documents).unwrap_or(0);
            result.total_length += u64::try_from(length).unwrap_or(0);
        }
    }
    let terms_json = super::rows::to_json(&request.terms)?;
    let postings_sql = postings_query(request.kind, request.per_term);
    for term in &request.terms {
        result.terms.insert(term.clone(), TermPostings::default());
    }
    for &space_id in &space_ids {
        let mut frequencies: Vec<(String, i64)> = Vec::new();
        {
            let mut statement = connection.prepare_cached(DF_QUERY).map_err(storage)?;
            let mut rows = statement.query(params![request.tenant_id, space_id, terms_json]).map_err(storage)?;
            while let Some(row) = rows.next().map_err(storage)? {
                frequencies.push((row.get(0).map_err(storage)?, row.get(1).map_err(storage)?));
            }
        }
        for (term, df) in frequencies {
            let Some(merged) = result.terms.get_mut(&term) else { continue };
            merged.document_frequency += u64::try_from(df).unwrap_or(0);
            let mut statement = connection.prepare_cached(&postings_sql).map_err(storage)?;
            let mut rows = statement.query(params![token_query(space_id, &term)]).map_err(storage)?;
            while let Some(row) = rows.next().map_err(storage)? {
                merged.sequences.push(row.get(0).map_err(storage)?);
            }
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
const SPACES_QUERY: &str = "SELECT s.space_id, coalesce(t.documents, 0), coalesce(t.total_length, 0)
     FROM lexical_spaces s LEFT JOIN lexical_totals t ON t.tenant_id = s.tenant_id AND t.space_id = s.space_id
     WHERE s.tenant_id = ?1 AND s.kind = ?2 AND s.space IN (SELECT value FROM json_each(?3))";

/// The df of each requested term present in one space.
const DF_QUERY: &str = "SELECT term, df FROM lexical_terms WHERE tenant_id = ?1 AND space_id = ?2 AND term IN (SELECT value FROM json_each(?3))";

/// The limit is written into the SQL, not bound: SQLite expires a prepared statement whenever
/// a LIMIT parameter is bound, which re-prepared every postings read.
fn postings_query(kind: RecordKind, per_term: u32) -> String {
    let postings = table_info(kind).postings;
    format!("SELECT rowid FROM {postings} WHERE {postings} MATCH ?1 ORDER BY rowid DESC LIMIT {per_term}")
}

/// `EXPLAIN QUERY PLAN` of every statement a postings read runs, for the first space and term.
pub(super) fn explain(connection: &Connection, request: &PostingsRequest) -> Result<Vec<String>> {
    let space_id = match request.spaces.first() {
        Some(space) => lookup(connection, &request.tenant_id, request.kind, space)?.unwrap_or(0),
        None => 0,
    };
    let term = request.terms.first().cloned().unwrap_or_default();
    let mut plans = Vec::new();
    let spaces_json = super::rows::to_json(&request.spaces)?;
    plans.extend(super::fetch::plan(
        connection,
        SPACES_QUERY,
        &[&request.tenant_id, &request.kind.as_str(), &spaces_json],
    )?);
    let terms_json = super::rows::to_json(&request.terms)?;
    plans.extend(super::fetch::plan(connection, DF_QUERY, &[&request.tenant_id, &space_id, &terms_json])?);
    plans.extend(super::fetch::plan(
        connection,
        &postings_query(request.kind, request.per_term),
        &[&token_query(space_id, &term)],
    )?);
    Ok(plans)
}
