//! A server answers a batch of reads ([`Snapshot::read_all`](crate::Snapshot::read_all)) in one
//! statement: every read's selects become branches of one `UNION ALL`, each row tagged with its
//! branch. Branches select different columns, so a row has a column range per class (integer,
//! real, text, blob) as wide as the widest branch needs, and a branch fills the columns it does
//! not use with NULLs of their class. Rows go back to their read by tag and are answered as the
//! read alone would answer them.

use std::collections::HashMap;

use super::column_reader::ColumnReader;
use super::connection::Connection;
use super::decode::read_record;
use super::dialect::Dialect;
use super::fetch::{range_selects, read_sequence_row, sequence_range_selects, sequences_select};
use super::postings::{Found, batch_selects};
use super::scan::scan_query;
use super::select::{ColumnClass, Select};
use super::state::{owner_select, read as read_state};
use super::statement::Statement;
use super::vectors::{dimensions_select, range_select, read_dimensions, read_vector};
use crate::error::{Error, Result};
use crate::maintenance::{ScanRequest, StateOwner, StoredState};
use crate::merge::{SequenceRow, merge_ranges, merge_sequences, select_sequences};
use crate::reads::{Answer, Read};
use crate::record::{FetchRequest, Fetched, PostingsRequest, Selector, StoredVector, VectorRequest, Vectors};

/// Answers `reads` with one statement (none when no read has a select).
pub(crate) fn read_all(connection: &mut dyn Connection, reads: Vec<Read>) -> Result<Vec<Answer>> {
    let dialect = connection.dialect();
    let layout = connection.postings_layout();
    let mut pending = Vec::with_capacity(reads.len());
    // Per branch: each (read it answers, place among that read's selects). Reads that ask the
    // same (the whole-section read and the newest, at the same limit) share a branch.
    let mut owners: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut selects: Vec<Select> = Vec::new();
    let mut branches: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, read) in reads.into_iter().enumerate() {
        let (read_selects, waiting) = plan(read, dialect, layout)?;
        for (place, select) in read_selects.into_iter().enumerate() {
            let same = branches.entry(select.rest.clone()).or_default();
            match same.iter().find(|branch| selects[**branch] == select) {
                Some(branch) => owners[*branch].push((index, place)),
                None => {
                    same.push(selects.len());
                    owners.push(vec![(index, place)]);
                    selects.push(select);
                }
            }
        }
        pending.push(waiting);
    }
    if !selects.is_empty() {
        let union = Union::new(&selects);
        let statement = union.statement(dialect, selects);
        connection.query(statement, &mut |row| {
            let branch = usize::try_from(row.integer(0)?).ok();
            let (Some(positions), Some(owners)) =
                (branch.and_then(|branch| union.positions.get(branch)), branch.and_then(|branch| owners.get(branch)))
            else {
                return Err(Error::storage(dialect.backend(), "a batch row names no branch"));
            };
            let row = Columns { row, positions };
            for (read, place) in owners {
                match pending.get_mut(*read) {
                    Some(waiting) => waiting.add(*place, &row)?,
                    None => return Err(Error::storage(dialect.backend(), "a batch row names no read")),
                }
            }
            Ok(())
        })?;
    }
    pending.into_iter().map(Pending::answer).collect()
}

/// A read waiting for its rows.
enum Pending {
    State { owner: StateOwner, found: Option<Box<StoredState>> },
    Fetch { request: FetchRequest, found: Vec<Fetched>, sequences_only: bool },
    Sequences { request: FetchRequest, found: Vec<SequenceRow> },
    Postings { request: PostingsRequest, found: Found },
    Vectors { request: VectorRequest, dimensions: Option<u32>, found: Vec<StoredVector> },
    Scan { request: ScanRequest, found: Vec<Fetched> },
}

/// A read's selects, and the read waiting for their rows.
fn plan(
    read: Read,
    dialect: Dialect,
    layout: &'static dyn super::connection::PostingsLayout,
) -> Result<(Vec<Select>, Pending)> {
    Ok(match read {
        Read::State(owner) => (vec![owner_select(&owner)], Pending::State { owner, found: None }),
        Read::Fetch(request) => (fetch_selects(&request, dialect)?, fetching(request, false)),
        Read::Sequences(request) if matches!(request.selector, Selector::Sequences(_)) => {
            (fetch_selects(&request, dialect)?, fetching(request, true))
        }
        Read::Sequences(request) => {
            (sequence_range_selects(&request), Pending::Sequences { request, found: Vec::new() })
        }
        Read::Postings(request) => {
            let selects = batch_selects(&request, dialect, || {
                layout
                    .newest_of_named_spaces(&request, dialect)?
                    .ok_or_else(|| Error::storage(dialect.backend(), "this postings layout reads no batches"))
            })?;
            (selects, Pending::Postings { request, found: Found::default() })
        }
        Read::Vectors(request) => {
            let mut selects = vec![dimensions_select(&request.tenant_id)];
            selects.extend(request.spaces.iter().map(|space| range_select(&request, space)));
            (selects, Pending::Vectors { request, dimensions: None, found: Vec::new() })
        }
        Read::Scan(request) => (vec![scan_query(&request)], Pending::Scan { request, found: Vec::new() }),
    })
}

fn fetching(request: FetchRequest, sequences_only: bool) -> Pending {
    Pending::Fetch { request, found: Vec::new(), sequences_only }
}

/// The selects of a fetch: its records named by sequence, or its index ranges.
fn fetch_selects(request: &FetchRequest, dialect: Dialect) -> Result<Vec<Select>> {
    match &request.selector {
        Selector::Sequences(sequences) if sequences.is_empty() => Ok(Vec::new()),
        Selector::Sequences(sequences) => Ok(vec![sequences_select(request, sequences, dialect)?]),
        Selector::Newest | Selector::MostImportant | Selector::Neighbours(_) => Ok(range_selects(request)),
    }
}

impl Pending {
    /// Takes one row of the read's select at `place`.
    fn add(&mut self, place: usize, row: &dyn ColumnReader) -> Result<()> {
        match self {
            Self::State { owner, found } => {
                *found = Some(Box::new(read_state(row.backend(), owner.clone(), &row.text(0)?)?));
            }
            Self::Fetch { request, found, .. } => found.push(read_record(request.kind, row)?),
            Self::Sequences { request, found } => found.push(read_sequence_row(request, row)?),
            Self::Postings { found, .. } => match place {
                0 => found.totals.push((row.integer(1)?, row.integer(2)?)),
                1 => found.frequencies.push((row.text(0)?, row.integer(1)?)),
                _ => found.sequences.push((row.text(0)?, row.integer(1)?)),
            },
            Self::Vectors { dimensions, found, .. } => match place {
                0 => *dimensions = Some(read_dimensions(row.backend(), row.integer(0)?)?),
                _ => found.push(read_vector(row)?),
            },
            Self::Scan { request, found } => found.push(read_record(request.kind, row)?),
        }
        Ok(())
    }

    /// The answer the read alone would have given.
    fn answer(self) -> Result<Answer> {
        Ok(match self {
            Self::State { found, .. } => Answer::State(found),
            Self::Fetch { request, found, sequences_only } => {
                let records = match &request.selector {
                    Selector::Sequences(sequences) => select_sequences(&request, sequences, found),
                    Selector::Newest | Selector::MostImportant | Selector::Neighbours(_) => {
                        merge_ranges(&request, found)
                    }
                };
                if sequences_only {
                    Answer::Sequences(records.into_iter().map(|fetched| fetched.sequence).collect())
                } else {
                    Answer::Records(records)
                }
            }
            Self::Sequences { request, found } => Answer::Sequences(merge_sequences(&request, found)),
            Self::Postings { request, found } => Answer::Postings(found.postings(&request)),
            // Without a stored length the tenant has no vectors (none were read: `read` reads
            // none then either).
            Self::Vectors { request, dimensions, found } => Answer::Vectors(Vectors {
                dimensions,
                vectors: if dimensions.is_some() { crate::vectors::merge(found, request.limit) } else { Vec::new() },
            }),
            Self::Scan { mut found, .. } => {
                // Each scan is ordered by sequence; a batch keeps branch order, and this keeps
                // the answer's order whatever the server does.
                found.sort_by_key(|fetched| fetched.sequence);
                Answer::Records(found)
            }
        })
    }
}

/// Where each branch's columns sit in the union's rows.
struct Union {
    /// Columns per class, the widest any branch needs.
    widths: [usize; 4],
    /// Per branch, the union column of each of its columns.
    positions: Vec<Vec<usize>>,
}

impl Union {
    fn new(selects: &[Select]) -> Self {
        let mut widths = [0; 4];
        for select in selects {
            for (slot, class) in ColumnClass::ALL.iter().enumerate() {
                let count = select.columns.iter().filter(|(_, column_class)| column_class == class).count();
                widths[slot] = widths[slot].max(count);
            }
        }
        // Column 0 is the branch tag; the classes' ranges follow in `ColumnClass::ALL` order.
        let mut starts = [1; 4];
        for slot in 1..4 {
            starts[slot] = starts[slot - 1] + widths[slot - 1];
        }
        let positions = selects
            .iter()
            .map(|select| {
                let mut used = [0; 4];
                select
                    .columns
                    .iter()
                    .map(|(_, class)| {
                        let slot = class_slot(*class);
                        used[slot] += 1;
                        starts[slot] + used[slot] - 1
                    })
                    .collect()
            })
            .collect();
        Self { widths, positions }
    }

    /// The statement: one branch per select, `(SELECT tag, columns... rest)`.
    fn statement(&self, dialect: Dialect, selects: Vec<Select>) -> Statement {
        let width: usize = 1 + self.widths.iter().sum::<usize>();
        let mut union = Statement::default();
        for (branch, select) in selects.into_iter().enumerate() {
            let mut columns: Vec<&str> = (0..width)
                .map(|position| {
                    let slot = (0..4).rev().find(|slot| position >= self.start(*slot)).unwrap_or(0);
                    dialect.null_of(ColumnClass::ALL[slot])
                })
                .collect();
            let tag = branch.to_string();
            columns[0] = &tag;
            for ((column, _), position) in select.columns.iter().zip(&self.positions[branch]) {
                columns[*position] = column;
            }
            if branch > 0 {
                union.sql.push_str(" UNION ALL ");
            }
            union.sql.push_str("(SELECT ");
            union.sql.push_str(&columns.join(", "));
            union.sql.push(' ');
            union.sql.push_str(&select.rest);
            union.sql.push(')');
            union.params.extend(select.params);
        }
        union
    }

    fn start(&self, slot: usize) -> usize {
        1 + self.widths[..slot].iter().sum::<usize>()
    }
}

fn class_slot(class: ColumnClass) -> usize {
    ColumnClass::ALL.iter().position(|each| *each == class).unwrap_or(0)
}

/// A union row as one branch's row: its columns where the union put them.
struct Columns<'a> {
    row: &'a dyn ColumnReader,
    positions: &'a [usize],
}

impl Columns<'_> {
    fn position(&self, index: usize) -> Result<usize> {
        self.positions
            .get(index)
            .copied()
            .ok_or_else(|| Error::storage(self.row.backend(), format!("a batch branch has no column {index}")))
    }
}

impl ColumnReader for Columns<'_> {
    fn backend(&self) -> &'static str {
        self.row.backend()
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>> {
        self.row.optional_text(self.position(index)?)
    }

    fn lend_text(&self, index: usize, read: &mut dyn FnMut(Option<&str>) -> Result<()>) -> Result<()> {
        self.row.lend_text(self.position(index)?, read)
    }

    fn optional_integer(&self, index: usize) -> Result<Option<i64>> {
        self.row.optional_integer(self.position(index)?)
    }

    fn real(&self, index: usize) -> Result<f64> {
        self.row.real(self.position(index)?)
    }

    fn optional_blob(&self, index: usize) -> Result<Option<Vec<u8>>> {
        self.row.optional_blob(self.position(index)?)
    }
}
