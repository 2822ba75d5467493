//! Export and import: every record and state of a user and agent as JSON Lines.
//!
//! The first line is a header (`{"type": "engram_export", "version": 1, ...}`); then records
//! kind by kind in insertion order (`{"type": "event", ...}` as `Record` serializes), then
//! states (`{"type": "working_state", ...}`, `{"type": "short_term", ...}`). Importing replays
//! the records in that order, so sequence order, postings and therefore packets are the same.
//!
//! An export holds one user and agent of one tenant (the header's): an import refuses any
//! record or state of another owner, and checks every record as the write that made it was
//! checked, against the importing store's limits.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;

use engram_types::{Limits, Receipt, RecordKind, Scope, ValidationError, check_id};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{PAGE, each_page};
use crate::StoreExt;
use crate::error::{Error, Result};
use crate::maintenance::{ScanRequest, StateOwner, StateScan, StoredState};
use crate::prepare;
use crate::record::Record;
use crate::store::Store;

const FORMAT: &str = "engram_export";
const VERSION: u32 = 1;
/// Records restored per transaction.
const IMPORT_BATCH: usize = 500;
/// Longest line an import reads (a record at the largest payload limit fits easily).
const MAX_LINE_BYTES: usize = 64 << 20;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    #[serde(rename = "type")]
    format: String,
    version: u32,
    tenant_id: String,
    user_id: String,
    agent_id: String,
}

/// One line after the header.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Line {
    Record(Record),
    State(StoredState),
}

pub(super) fn export(store: &dyn Store, scope: &Scope, path: &Path) -> Result<Receipt> {
    scope.validate(store.limits().max_id_bytes)?;
    let io = |error: std::io::Error| path_error("export", path, &error);
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
                write_line(&mut out, &Line::Record(Arc::unwrap_or_clone(fetched.record))).map_err(io)?;
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

/// Reads the file twice: first every line is checked and nothing written, so a bad line
/// anywhere refuses the whole file; then the records are restored in batches.
pub(super) fn import(store: &dyn Store, path: &Path) -> Result<Receipt> {
    each_line(store, path, |_| Ok(()))?;
    let mut receipt = Receipt::default();
    let mut records = Vec::new();
    let mut states = Vec::new();
    each_line(store, path, |line| {
        match line {
            Line::Record(record) => records.push(record),
            Line::State(state) => states.push(state),
        }
        if records.len() >= IMPORT_BATCH {
            receipt.merge(store.restore(std::mem::take(&mut records), Vec::new())?);
        }
        Ok(())
    })?;
    receipt.merge(store.restore(records, states)?);
    Ok(receipt)
}

/// Opens an export, checks its header, and hands every record and state to `visit`, each
/// checked as a write would be and owned by the header's tenant, user and agent. Errors name
/// the line (`line 3.tags: has 65 entries, the limit is 64`).
fn each_line(store: &dyn Store, path: &Path, mut visit: impl FnMut(Line) -> Result<()>) -> Result<()> {
    let file = File::open(path).map_err(|error| path_error("import", path, &error))?;
    let mut lines = Lines { reader: BufReader::new(file), number: 0, path };
    let Some(first) = lines.next_line()? else {
        return Err(Error::invalid("path", format!("{} is empty, not an engram export", path.display())));
    };
    let header: Header = from_line(parse(&first, 1)?, 1)?;
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
    let limits = store.limits();
    for (name, id) in [("tenant_id", &header.tenant_id), ("user_id", &header.user_id), ("agent_id", &header.agent_id)] {
        check_id(name, id, limits.max_id_bytes).map_err(|invalid| invalid.within("line 1"))?;
    }
    while let Some(text) = lines.next_line()? {
        if text.trim().is_empty() {
            continue;
        }
        let number = lines.number;
        visit(checked_line(parse(&text, number)?, number, &header, limits)?)?;
    }
    Ok(())
}

/// One line after the header: a record or a state, its keys all known, its contents checked
/// as on a write, owned by the header's user and agent.
fn checked_line(value: Value, number: usize, header: &Header, limits: &Limits) -> Result<Line> {
    let at = format!("line {number}");
    let Value::Object(mut object) = value else {
        return Err(Error::invalid(at, "expected a record (a JSON object)"));
    };
    let kind = match object.remove("type") {
        Some(Value::String(kind)) => kind,
        Some(_) => return Err(Error::invalid(format!("{at}.type"), "expected a string")),
        None => return Err(Error::invalid(format!("{at}.type"), "missing")),
    };
    let within = |invalid: ValidationError| Error::from(invalid.within(&at));
    let given = Value::Object(object);
    let line = match kind.as_str() {
        "event" => Line::Record(Record::Event(from_line(given.clone(), number)?)),
        "fact" => Line::Record(Record::Fact(from_line(given.clone(), number)?)),
        "episode" => Line::Record(Record::Episode(from_line(given.clone(), number)?)),
        "procedure" => Line::Record(Record::Procedure(from_line(given.clone(), number)?)),
        "insight" => Line::Record(Record::Insight(from_line(given.clone(), number)?)),
        "working_state" => {
            let (owner, state) = state_parts(given.clone(), number)?;
            Line::State(StoredState::WorkingState { owner, state: state_from_line(state, number)? })
        }
        "short_term" => {
            let (owner, state) = state_parts(given.clone(), number)?;
            Line::State(StoredState::ShortTerm { owner, state: state_from_line(state, number)? })
        }
        other => {
            return Err(Error::invalid(
                format!("{at}.type"),
                format!(
                    "unknown type {other:?}; expected event, fact, episode, procedure, insight, working_state or short_term"
                ),
            ));
        }
    };
    check_known_keys(&given, &line).map_err(within)?;
    match &line {
        Line::Record(record) => {
            check_owner("scope", record.scope(), header).map_err(within)?;
            prepare::check_restored(record, limits).map_err(within)?;
        }
        Line::State(state) => check_state(state, header, limits).map_err(within)?,
    }
    Ok(line)
}

/// A state line's `owner` and `state`, both required, nothing else.
fn state_parts(given: Value, number: usize) -> Result<(StateOwner, Value)> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Parts {
        owner: StateOwner,
        state: Value,
    }
    let parts: Parts = from_line(given, number)?;
    Ok((parts.owner, parts.state))
}

/// Every key given must be one the record (or state, and its owner) has: serde skips unknown
/// keys of these types, so a key that does not serialize back is one they do not have.
fn check_known_keys(given: &Value, line: &Line) -> std::result::Result<(), ValidationError> {
    fn unknown(given: Option<&Value>, known: Value, path: &str) -> std::result::Result<(), ValidationError> {
        let (Some(Value::Object(given)), Value::Object(known)) = (given, known) else { return Ok(()) };
        match given.keys().find(|key| !known.contains_key(key.as_str())) {
            Some(key) => Err(ValidationError::new(
                if path.is_empty() { key.clone() } else { format!("{path}.{key}") },
                "unknown key",
            )),
            None => Ok(()),
        }
    }
    match line {
        Line::Record(record) => {
            let mut known = as_json(record);
            if let Value::Object(map) = &mut known {
                map.remove("type");
            }
            unknown(Some(given), known, "")
        }
        Line::State(state) => {
            let (owner, contents) = match state {
                StoredState::WorkingState { owner, state } => (owner, as_json(state)),
                StoredState::ShortTerm { owner, state } => (owner, as_json(state)),
            };
            unknown(given.get("owner"), as_json(owner), "owner")?;
            unknown(given.get("state"), contents, "state")
        }
    }
}

/// A state's owner is the header's tenant, user and agent; a working state's owner names a
/// run, a short-term state's does not (it belongs to a session).
fn check_state(state: &StoredState, header: &Header, limits: &Limits) -> std::result::Result<(), ValidationError> {
    let owner = state.owner();
    for (name, id) in
        [("session_id", &owner.session_id)].into_iter().chain(owner.run_id.as_ref().map(|run| ("run_id", run)))
    {
        check_id(name, id, limits.max_id_bytes).map_err(|invalid| invalid.within("owner"))?;
    }
    check_owner("owner", &owner.scope(), header)?;
    match state {
        StoredState::WorkingState { owner, state } => {
            if owner.run_id.is_none() {
                return Err(ValidationError::new("owner.run_id", "missing: a working state belongs to a run"));
            }
            state.validate(limits).map_err(|invalid| invalid.within("state"))
        }
        StoredState::ShortTerm { owner, state } => {
            if owner.run_id.is_some() {
                return Err(ValidationError::new(
                    "owner.run_id",
                    "a short-term state belongs to a session, not a run: leave run_id out",
                ));
            }
            state.validate(limits).map_err(|invalid| invalid.within("state"))
        }
    }
}

/// The owner (`field`: a record's scope, a state's owner) is the header's tenant, user and agent.
fn check_owner(field: &str, owner: &Scope, header: &Header) -> std::result::Result<(), ValidationError> {
    for (name, given, wanted) in [
        ("tenant_id", &owner.tenant_id, &header.tenant_id),
        ("user_id", &owner.user_id, &header.user_id),
        ("agent_id", &owner.agent_id, &header.agent_id),
    ] {
        if given != wanted {
            return Err(ValidationError::new(
                format!("{field}.{name}"),
                format!(
                    "is {given:?}, but the export's header is of {name} {wanted:?}: an export holds one user and agent"
                ),
            ));
        }
    }
    Ok(())
}

/// The lines of an export, each at most `MAX_LINE_BYTES` and UTF-8 (line ends `\n` or `\r\n`).
struct Lines<'a> {
    reader: BufReader<File>,
    /// The number of the last line read, from 1.
    number: usize,
    path: &'a Path,
}

impl Lines<'_> {
    fn next_line(&mut self) -> Result<Option<String>> {
        let mut bytes = Vec::new();
        let limit = u64::try_from(MAX_LINE_BYTES + 2).unwrap_or(u64::MAX);
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut bytes)
            .map_err(|error| path_error("import", self.path, &error))?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        let at = format!("line {}", self.number);
        if bytes.len() > MAX_LINE_BYTES {
            return Err(Error::invalid(at, format!("is longer than {MAX_LINE_BYTES} bytes, the limit")));
        }
        String::from_utf8(bytes).map(Some).map_err(|error| {
            Error::invalid(at, format!("is not valid UTF-8 (at byte {})", error.utf8_error().valid_up_to()))
        })
    }
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// A line's JSON; an object giving a key twice is refused (`line 3.payload.k: given more than
/// once`), as everywhere JSON text comes in.
fn parse(line: &str, number: usize) -> Result<Value> {
    engram_types::parse_json_value(line).map_err(|invalid| Error::from(invalid.within(&format!("line {number}"))))
}

/// A line's JSON as `T`, errors naming the line and the field (`line 3.tags[0]`).
fn from_line<T: serde::de::DeserializeOwned>(value: Value, number: usize) -> Result<T> {
    engram_types::from_json_value(value).map_err(|invalid| Error::from(invalid.within(&format!("line {number}"))))
}

/// A state line's `state` as `T`, errors naming it (`line 4.state.goal`).
fn state_from_line<T: serde::de::DeserializeOwned>(value: Value, number: usize) -> Result<T> {
    engram_types::from_json_value(value)
        .map_err(|invalid| Error::from(invalid.within("state").within(&format!("line {number}"))))
}

fn as_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A file that cannot be opened or written: a path the OS refuses (a NUL in it), or that does
/// not exist, is bad input naming `path`; anything else is the storage failing.
fn path_error(operation: &'static str, path: &Path, error: &std::io::Error) -> Error {
    match error.kind() {
        std::io::ErrorKind::InvalidInput => {
            Error::invalid("path", format!("{} is not a usable path: {error}", path.display()))
        }
        std::io::ErrorKind::NotFound if operation == "import" => {
            Error::invalid("path", format!("{} does not exist", path.display()))
        }
        _ => Error::storage(operation, format!("{}: {error}", path.display())),
    }
}
