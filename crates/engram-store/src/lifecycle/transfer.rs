//! Export and import: every record and state of a user and agent as JSON Lines.
//!
//! The first line is a header (`{"type": "engram_export", "version": 1, ...}`); then records
//! kind by kind in insertion order (`{"type": "event", ...}` as `Record` serializes), then
//! states (`{"type": "working_state", ...}`, `{"type": "short_term", ...}`). Importing replays
//! the records in that order, so sequence order, postings and therefore packets are the same.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use engram_types::{Receipt, RecordKind, Scope};
use serde::{Deserialize, Serialize};

use super::{PAGE, each_page};
use crate::error::{Error, Result};
use crate::maintenance::{ScanRequest, StateScan, StoredState};
use crate::record::Record;
use crate::store::Store;

const FORMAT: &str = "engram_export";
const VERSION: u32 = 1;
/// Records restored per transaction.
const IMPORT_BATCH: usize = 500;
/// Longest line an import reads (a record at the largest payload limit fits easily).
const MAX_LINE_BYTES: usize = 64 << 20;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    #[serde(rename = "type")]
    format: String,
    version: u32,
    tenant_id: String,
    user_id: String,
    agent_id: String,
}

/// One line after the header.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    Record(Record),
    State(StoredState),
}

pub(super) fn export(store: &dyn Store, scope: &Scope, path: &Path) -> Result<Receipt> {
    scope.validate(store.limits().max_id_bytes)?;
    let io = |error: std::io::Error| Error::storage("export", format!("{}: {error}", path.display()));
    let mut out = BufWriter::new(File::create(path).map_err(io)?);
    let header = Header {
        format: FORMAT.to_string(),
        version: VERSION,
        tenant_id: scope.tenant_id.clone(),
        user_id: scope.user_id.clone(),
        agent_id: scope.agent_id.clone(),
    };
    write_line(&mut out, &header).map_err(io)?;
    let mut receipt = Receipt::default();
    for kind in RecordKind::ALL {
        let mut scan = ScanRequest::owned_by(kind, scope, PAGE);
        each_page(store, &mut scan, |page| {
            for fetched in page {
                write_line(&mut out, &Line::Record(fetched.record)).map_err(io)?;
                receipt.add(crate::maintenance::table_names(kind).table, 1);
            }
            Ok(())
        })?;
    }
    let states = store.scan_states(&StateScan {
        tenant_id: Some(scope.tenant_id.clone()),
        user_id: Some(scope.user_id.clone()),
        agent_id: Some(scope.agent_id.clone()),
        ended_at: None,
        limit: u32::MAX,
    })?;
    for state in states {
        receipt.add(state.table(), 1);
        write_line(&mut out, &Line::State(state)).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(receipt)
}

pub(super) fn import(store: &dyn Store, path: &Path) -> Result<Receipt> {
    let io = |error: std::io::Error| Error::storage("import", format!("{}: {error}", path.display()));
    let file = File::open(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => Error::invalid("path", format!("{} does not exist", path.display())),
        _ => io(error),
    })?;
    let mut lines = BufReader::new(file).lines();
    let header: Header = match lines.next() {
        Some(line) => parse(&line.map_err(io)?, 1)?,
        None => return Err(Error::invalid("path", format!("{} is empty, not an engram export", path.display()))),
    };
    if header.format != FORMAT || header.version != VERSION {
        return Err(Error::invalid(
            "path",
            format!(
                "{} is not an engram export of version {VERSION} (header {:?} {})",
                path.display(),
                header.format,
                header.version
            ),
        ));
    }
    let mut receipt = Receipt::default();
    let mut records = Vec::new();
    let mut states = Vec::new();
    for (index, line) in lines.enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        match parse::<Line>(&line, index + 2)? {
            Line::Record(record) => records.push(record),
            Line::State(state) => states.push(state),
        }
        if records.len() >= IMPORT_BATCH {
            receipt.merge(store.restore(std::mem::take(&mut records), Vec::new())?);
        }
    }
    receipt.merge(store.restore(records, states)?);
    Ok(receipt)
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

fn parse<T: serde::de::DeserializeOwned>(line: &str, number: usize) -> Result<T> {
    if line.len() > MAX_LINE_BYTES {
        return Err(Error::invalid(
            format!("line {number}"),
            format!("is {} bytes, the limit is {MAX_LINE_BYTES}", line.len()),
        ));
    }
    serde_json::from_str(line).map_err(|error| Error::invalid(format!("line {number}"), error.to_string()))
}
