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

use std::fmt::Write as _;

use engram_types::Receipt;
use rusqlite::Connection as Rusqlite;

use super::error::storage;
use crate::error::Result;
use crate::record::{Postings, PostingsRequest, RecordKind};
use crate::sql::{Connection, Document, PostingsLayout, Statement, read_postings, table_info};

/// Postings as contentless FTS5 documents, one per record.
#[derive(Debug)]
pub(super) struct Fts5Postings;

/// What every token of space `space_id` starts with: the id and `x`.
fn space_prefix(space_id: i64) -> String {
    format!("{space_id}x")
}

/// The token of `term` in the space of `prefix` ([`space_prefix`]): the prefix, then the term's
/// bytes in hex. Only ASCII letters and digits, so FTS5's ascii tokenizer keeps it whole (and
/// lowercase hex is unchanged by its case folding).
fn push_token(out: &mut String, prefix: &str, term: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str(prefix);
    for byte in term.bytes() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
}

/// Pages of FTS5 segments merged after each write that adds postings (FTS5's `merge` command):
/// 256 of the 1,000-byte pages schema 11 sets, the bytes that 64 pages of FTS5's default size
/// merged before it.
const MERGE_PAGES_PER_WRITE: i64 = 256;

/// Rewrites each postings table `receipt` counts removals from into one segment (FTS5's
/// `optimize`), which drops the documents marked deleted: their tokens leave the file; the
/// receipt says so (`erased`). Costs a
/// pass over the table's whole index (about 40 ms at 100,000 events here).
pub(super) fn rewrite_without_deleted(connection: &Rusqlite, receipt: &mut Receipt) -> Result<()> {
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

impl PostingsLayout for Fts5Postings {
    /// A document is one FTS5 row, by rowid (the record's sequence).
    fn remove_document(&self, connection: &mut dyn Connection, postings: &str, document: &Document) -> Result<u64> {
        let sql = format!("DELETE FROM {postings} WHERE rowid = ?");
        Ok(Statement::new(sql).bind(document.sequence).execute(connection)?.rows)
    }

    /// Documents go in one statement per kind (FTS5 flushes its pending terms to a new segment
    /// at every statement, so one insert per record meant one tiny segment, and merge work, per
    /// record), then a bounded merge step. The documents travel as one JSON object, sequence to
    /// tokens, written here directly: tokens are ASCII letters and digits, nothing to escape, and
    /// `json_each` hands each key and value over without parsing the text again per row.
    fn add_documents(&self, connection: &mut dyn Connection, postings: &str, documents: &[Document]) -> Result<()> {
        let mut object = String::with_capacity(documents.iter().map(|document| 16 + document.terms.len() * 16).sum());
        object.push('{');
        for document in documents {
            if object.len() > 1 {
                object.push(',');
            }
            let _ = write!(object, "\"{}\":\"", document.sequence);
            let prefix = space_prefix(document.space_id);
            for (position, term) in document.terms.iter().enumerate() {
                if position > 0 {
                    object.push(' ');
                }
                push_token(&mut object, &prefix, term);
            }
            object.push('"');
        }
        object.push('}');
        let sql =
            format!("INSERT INTO {postings} (rowid, tokens) SELECT CAST(key AS INTEGER), value FROM json_each(?)");
        Statement::new(sql).bind(object).execute(connection)?;
        // Each write adds a segment; a read opens one iterator per segment. A bounded merge
        // step per write keeps the segments few (RealMem packets on SQLite: p50 -8%).
        Statement::new(format!("INSERT INTO {postings} ({postings}, rank) VALUES ('merge', {MERGE_PAGES_PER_WRITE})"))
            .execute(connection)?;
        Ok(())
    }

    fn rows_per_document(&self, _terms: usize) -> u64 {
        1
    }

    /// The newest postings of a (space, term) are one token's doclist walked backwards.
    fn read(&self, connection: &mut dyn Connection, request: &PostingsRequest) -> Result<Postings> {
        let sql = newest_sql(request.kind, request.per_term);
        read_postings(connection, request, |tag, space_id, term| newest(&sql, tag, space_id, term))
    }
}

/// The newest postings of one token: (tag, sequence) rows, the tag bound (one statement text for
/// every range, prepared once). The limit is written into the SQL, not bound: SQLite expires a
/// prepared statement whenever a LIMIT parameter is bound, which re-prepared every postings read.
pub(super) fn newest_sql(kind: RecordKind, per_term: u32) -> String {
    let postings = table_info(kind).postings;
    format!("SELECT ?, rowid FROM {postings} WHERE {postings} MATCH ? ORDER BY rowid DESC LIMIT {per_term}")
}

/// [`newest_sql`] bound to the token of `term` in space `space_id` (the FTS5 query matching
/// exactly that token), its rows tagged `tag`.
pub(super) fn newest(sql: &str, tag: i64, space_id: i64, term: &str) -> Statement {
    let mut token = String::with_capacity(term.len() * 2 + 24);
    token.push('"');
    push_token(&mut token, &space_prefix(space_id), term);
    token.push('"');
    Statement::new(sql).bind(tag).bind(token)
}
