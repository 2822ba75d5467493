//! The lexical index on Postgres and MySQL (DESIGN.md "Lexical index"): postings as B-tree
//! tables `{kind}_postings(tenant_id, space_id, term, seq)`, df in `lexical_terms`, totals in
//! `lexical_totals`. A read is three statements whatever the number of terms and spaces: the
//! spaces with their totals, every df, and the newest K postings of every present (space, term)
//! as one `UNION ALL` of limited index ranges.

use std::collections::BTreeMap;

use engram_types::Receipt;
use sqlx::AnyConnection;

use super::dialect::{Dialect, Update};
use super::rows::get;
use super::statement::{Statement, placeholders};
use super::vectors::{self, VectorKey, VectorRow};
use crate::error::Result;
use crate::lexical::DocumentTerms;
use crate::record::{Postings, PostingsRequest, RecordKind, TermPostings};
use crate::sql::{NewSpaces, TermCounts, table_info};

/// Rows per multi-row insert: well under both servers' limit of 65535 parameters.
const ROWS_PER_INSERT: usize = 2000;

/// The id of an existing space, or `None` when nothing was ever indexed in it, read in the
/// caller's transaction (another process may have dropped the space and a later write created
/// it again under a new id). Its row is share-locked until the transaction ends: a purge
/// (`maintenance::delete`) cannot drop it under a writer that read it, and a writer reading it
/// while a purge drops it waits, then finds it gone.
pub(super) async fn lookup(
    connection: &mut AnyConnection,
    dialect: Dialect,
    tenant_id: &str,
    kind: RecordKind,
    space: &str,
) -> Result<Option<i64>> {
    stored_space_id(connection, dialect, tenant_id, kind, space, dialect.share_lock()).await
}

/// The id of an existing space, its row locked for update until the transaction ends: a purge
/// locks the spaces it may drop before changing their counts, so a writer that read the space
/// (share lock, [`lookup`]) commits first or finds it gone.
pub(super) async fn lock_space(
    connection: &mut AnyConnection,
    dialect: Dialect,
    tenant_id: &str,
    kind: RecordKind,
    space: &str,
) -> Result<Option<i64>> {
    stored_space_id(connection, dialect, tenant_id, kind, space, " FOR UPDATE").await
}

async fn stored_space_id(
    connection: &mut AnyConnection,
    dialect: Dialect,
    tenant_id: &str,
    kind: RecordKind,
    space: &str,
    lock: &str,
) -> Result<Option<i64>> {
    let row = Statement::new(format!(
        "SELECT space_id FROM lexical_spaces WHERE tenant_id = ? AND kind = ? AND space = ?{lock}"
    ))
    .bind(tenant_id)
    .bind(kind.as_str())
    .bind(space)
    .fetch_optional(connection, dialect)
    .await?;
    row.map(|row| get(&row, dialect, 0)).transpose()
}

/// The id of a space, created inside the caller's transaction when new (a concurrent writer
/// creating the same space is absorbed by the unique key). Read from the database (share-locked,
/// [`lookup`]): another process may have dropped the space since this one last wrote to it.
pub(super) async fn resolve(
    connection: &mut AnyConnection,
    dialect: Dialect,
    tenant_id: &str,
    kind: RecordKind,
    space: &str,
    created: &mut NewSpaces,
) -> Result<i64> {
    if let Some(id) = created.find(tenant_id, kind, space) {
        return Ok(id);
    }
    if let Some(id) = lookup(connection, dialect, tenant_id, kind, space).await? {
        return Ok(id);
    }
    Statement::new(format!(
        "INSERT INTO lexical_spaces (tenant_id, kind, space) VALUES (?, ?, ?) {}",
        dialect.ignore_existing("tenant_id, kind, space", "space_id")
    ))
    .bind(tenant_id)
    .bind(kind.as_str())
    .bind(space)
    .execute(connection, dialect)
    .await?;
    let id = stored_space_id(connection, dialect, tenant_id, kind, space, dialect.share_lock())
        .await?
        .ok_or_else(|| crate::Error::storage(dialect.backend(), "a created lexical space is not there"))?;
    created.push(tenant_id, kind, space, id);
    Ok(id)
}

/// A document's postings: which record, in which space, with which terms.
#[derive(Debug)]
struct Document {
    sequence: i64,
    tenant_id: String,
    space_id: i64,
    terms: Vec<String>,
}

/// Index changes of one write transaction, written by [`IndexChanges::apply`].
#[derive(Debug, Default)]
pub(super) struct IndexChanges {
    counts: TermCounts,
    added: BTreeMap<RecordKind, Vec<Document>>,
    removed: BTreeMap<RecordKind, Vec<Document>>,
    /// Vector rows of the records indexed and unindexed.
    vectors_added: Vec<VectorRow>,
    vectors_removed: Vec<VectorKey>,
}

impl IndexChanges {
    pub(super) fn insert(
        &mut self,
        kind: RecordKind,
        sequence: i64,
        tenant_id: &str,
        space_id: i64,
        terms: &DocumentTerms,
    ) {
        self.counts.count(tenant_id, space_id, terms, 1);
        self.added.entry(kind).or_default().push(document(sequence, tenant_id, space_id, terms));
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
            self.vectors_added.push(VectorRow::new(VectorKey::new(kind, sequence, tenant_id, space), embedding));
        }
    }

    /// Removes a record's vector row, as its postings leave.
    pub(super) fn remove_vector(&mut self, kind: RecordKind, sequence: i64, tenant_id: &str, space: &str) {
        self.vectors_removed.push(VectorKey::new(kind, sequence, tenant_id, space));
    }

    /// Removes a record's postings, as when a fact is superseded, a procedure replaced or a
    /// record deleted.
    pub(super) fn remove(
        &mut self,
        kind: RecordKind,
        sequence: i64,
        tenant_id: &str,
        space_id: i64,
        terms: &DocumentTerms,
    ) {
        self.counts.count(tenant_id, space_id, terms, -1);
        self.removed.entry(kind).or_default().push(document(sequence, tenant_id, space_id, terms));
    }

    /// The spaces whose counts this transaction changes, as (tenant, space id).
    pub(super) fn spaces(&self) -> Vec<(String, i64)> {
        self.counts.spaces.iter().map(|(space_id, space)| (space.tenant_id.clone(), *space_id)).collect()
    }

    /// Writes postings, vector rows, df and totals: removals first, then multi-row inserts and
    /// upserts, in key order. Returns the rows it deleted: postings per postings table, vector
    /// rows, and `lexical_terms` rows whose df reached 0.
    pub(super) async fn apply(mut self, connection: &mut AnyConnection, dialect: Dialect) -> Result<Receipt> {
        let mut removed = Receipt::default();
        if !self.vectors_removed.is_empty() {
            removed.add("record_vectors", vectors::remove(connection, dialect, &self.vectors_removed).await?);
        }
        vectors::insert(connection, dialect, std::mem::take(&mut self.vectors_added)).await?;
        for (kind, documents) in &self.removed {
            let postings = table_info(*kind).postings;
            for document in documents.iter().filter(|document| !document.terms.is_empty()) {
                let mut statement = Statement::new(format!(
                    "DELETE FROM {postings} WHERE tenant_id = ? AND space_id = ? AND term IN ({}) AND seq = ?",
                    placeholders(document.terms.len())
                ))
                .bind(&document.tenant_id)
                .bind(document.space_id);
                for term in &document.terms {
                    statement.push(term);
                }
                statement.push(document.sequence);
                removed.add(postings, statement.execute(connection, dialect).await?.rows_affected());
            }
        }
        for (kind, documents) in &self.added {
            let rows: Vec<(&str, i64, &str, i64)> = documents
                .iter()
                .flat_map(|document| {
                    document
                        .terms
                        .iter()
                        .map(|term| (document.tenant_id.as_str(), document.space_id, term.as_str(), document.sequence))
                })
                .collect();
            let postings = table_info(*kind).postings;
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                let mut statement = Statement::new(format!(
                    "INSERT INTO {postings} (tenant_id, space_id, term, seq) VALUES {}",
                    vec!["(?, ?, ?, ?)"; chunk.len()].join(", ")
                ));
                for (tenant_id, space_id, term, sequence) in chunk {
                    statement.push(*tenant_id);
                    statement.push(*space_id);
                    statement.push(*term);
                    statement.push(*sequence);
                }
                statement.execute(connection, dialect).await?;
            }
        }
        removed.add("lexical_terms", self.apply_counts(connection, dialect).await?);
        Ok(removed)
    }

    /// Writes df and totals; returns how many `lexical_terms` rows it deleted.
    async fn apply_counts(&self, connection: &mut AnyConnection, dialect: Dialect) -> Result<u64> {
        let mut removed_terms = 0;
        let add_df = dialect.upsert("lexical_terms", "tenant_id, space_id, term", &[("df", Update::AddAtLeastZero)]);
        for (space_id, space) in &self.counts.spaces {
            // A negative delta only ever hits a row that exists (its record was indexed), so
            // every delta is one upsert; rows that reach zero are deleted after.
            let deltas: Vec<(&String, &i64)> = space.frequencies.iter().filter(|(_, delta)| **delta != 0).collect();
            for chunk in deltas.chunks(ROWS_PER_INSERT) {
                let mut statement = Statement::new(format!(
                    "INSERT INTO lexical_terms (tenant_id, space_id, term, df) VALUES {} {add_df}",
                    vec!["(?, ?, ?, ?)"; chunk.len()].join(", ")
                ));
                for (term, delta) in chunk {
                    statement.push(&space.tenant_id);
                    statement.push(*space_id);
                    statement.push(*term);
                    statement.push(**delta);
                }
                statement.execute(connection, dialect).await?;
            }
            let emptied: Vec<&String> =
                space.frequencies.iter().filter(|(_, delta)| **delta < 0).map(|(term, _)| term).collect();
            if !emptied.is_empty() {
                let mut statement = Statement::new(format!(
                    "DELETE FROM lexical_terms WHERE tenant_id = ? AND space_id = ? AND term IN ({}) AND df <= 0",
                    placeholders(emptied.len())
                ))
                .bind(&space.tenant_id)
                .bind(*space_id);
                for term in emptied {
                    statement.push(term);
                }
                removed_terms += statement.execute(connection, dialect).await?.rows_affected();
            }
            if space.documents != 0 || space.length != 0 {
                Statement::new(format!(
                    "INSERT INTO lexical_totals (tenant_id, space_id, documents, total_length) VALUES (?, ?, ?, ?) {}",
                    dialect.upsert(
                        "lexical_totals",
                        "tenant_id, space_id",
                        &[("documents", Update::AddAtLeastZero), ("total_length", Update::AddAtLeastZero)]
                    )
                ))
                .bind(&space.tenant_id)
                .bind(*space_id)
                .bind(space.documents)
                .bind(space.length)
                .execute(connection, dialect)
                .await?;
            }
        }
        Ok(removed_terms)
    }
}

fn document(sequence: i64, tenant_id: &str, space_id: i64, terms: &DocumentTerms) -> Document {
    Document {
        sequence,
        tenant_id: tenant_id.to_string(),
        space_id,
        terms: terms.frequencies.keys().cloned().collect(),
    }
}

/// Reads postings as `memory/postings.rs` does: totals summed over the requested spaces, and
/// per term the df summed and the newest `per_term` sequences merged across spaces.
pub(super) async fn read(
    connection: &mut AnyConnection,
    dialect: Dialect,
    request: &PostingsRequest,
) -> Result<Postings> {
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
    for space in &request.spaces {
        statement.push(space);
    }
    let mut space_ids = Vec::new();
    for row in statement.fetch_all(connection, dialect).await? {
        space_ids.push(get::<i64>(&row, dialect, 0)?);
        result.document_count += u64::try_from(get::<i64>(&row, dialect, 1)?).unwrap_or(0);
        result.total_length += u64::try_from(get::<i64>(&row, dialect, 2)?).unwrap_or(0);
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
    for space_id in &space_ids {
        statement.push(*space_id);
    }
    for term in &request.terms {
        statement.push(term);
    }
    let mut present: Vec<(i64, String)> = Vec::new();
    for row in statement.fetch_all(connection, dialect).await? {
        let (space_id, term, df): (i64, String, i64) =
            (get(&row, dialect, 0)?, get(&row, dialect, 1)?, get(&row, dialect, 2)?);
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
        "(SELECT term, seq FROM {postings} WHERE tenant_id = ? AND space_id = ? AND term = ? ORDER BY seq DESC LIMIT {})",
        request.per_term
    );
    let mut statement = Statement::new(vec![range.as_str(); present.len()].join(" UNION ALL "));
    for (space_id, term) in &present {
        statement.push(&request.tenant_id);
        statement.push(*space_id);
        statement.push(term);
    }
    for row in statement.fetch_all(connection, dialect).await? {
        let (term, sequence): (String, i64) = (get(&row, dialect, 0)?, get(&row, dialect, 1)?);
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
