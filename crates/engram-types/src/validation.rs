use serde::de::DeserializeOwned;

use crate::strict::Strict;
use crate::unique_keys::UniqueKeys;

/// Bad input, naming the field (a dotted path such as `scope.user_id`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    /// Dotted path of the offending field, e.g. `policy.max_facts`.
    pub field: String,
    /// What is wrong, in a few words.
    pub problem: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { field: field.into(), problem: problem.into() }
    }

    /// The same error with `prefix.` put in front of its field path.
    #[must_use]
    pub fn within(self, prefix: &str) -> Self {
        let field = if self.field.is_empty() { prefix.to_string() } else { format!("{prefix}.{}", self.field) };
        Self { field, problem: self.problem }
    }
}

/// Deepest nesting of lists and maps [`from_json_value`] reads: what serde_json's parser allows
/// in text. Deserializing recurses once per level, so deeper values are refused before it starts.
pub const MAX_JSON_DEPTH: usize = 128;

/// Deserializes `T` from a JSON value; a failure names the path of the offending field. A
/// struct is read only from a map (never by position from a list), and a value nested deeper
/// than [`MAX_JSON_DEPTH`] is refused, naming where.
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ValidationError> {
    check_nesting(&value)?;
    serde_path_to_error::deserialize(Strict(value)).map_err(path_error)
}

/// Deserializes `T` from a self-describing deserializer of the caller's own values (the Python
/// SDK reads Python objects with one, no JSON value in between), as [`from_json_value`] does
/// from a JSON value: a failure names the path of the offending field, and a struct is read only
/// from a map. The deserializer bounds nesting itself.
pub fn from_deserializer<'de, T, D>(deserializer: D) -> Result<T, ValidationError>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde_path_to_error::deserialize(Strict(deserializer)).map_err(path_error)
}

/// One step of a path into a JSON value.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Refuses a value nested deeper than [`MAX_JSON_DEPTH`], naming the path to where it crosses
/// the limit. Iterative, so that no depth can overflow the stack here either.
fn check_nesting(value: &serde_json::Value) -> Result<(), ValidationError> {
    use serde_json::Value;
    // Every container met, as (parent, step from it), so a path is rebuilt only on failure.
    let mut steps: Vec<(Option<usize>, Step<'_>)> = Vec::new();
    let mut pending: Vec<(&Value, usize, Option<usize>)> = vec![(value, 1, None)];
    while let Some((node, depth, at)) = pending.pop() {
        let children: Vec<(Step<'_>, &Value)> = match node {
            Value::Array(items) => items.iter().enumerate().map(|(index, item)| (Step::Index(index), item)).collect(),
            Value::Object(map) => map.iter().map(|(key, item)| (Step::Key(key.as_str()), item)).collect(),
            _ => continue,
        };
        if depth > MAX_JSON_DEPTH {
            return Err(ValidationError::new(
                path_of(&steps, at),
                format!("is nested more than {MAX_JSON_DEPTH} levels deep"),
            ));
        }
        for (step, child) in children {
            if child.is_array() || child.is_object() {
                steps.push((at, step));
                pending.push((child, depth + 1, Some(steps.len() - 1)));
            }
        }
    }
    Ok(())
}

/// The dotted path (`payload[0].k`) of the container `at` in `steps`.
fn path_of(steps: &[(Option<usize>, Step<'_>)], mut at: Option<usize>) -> String {
    let mut reversed = Vec::new();
    while let Some((parent, step)) = at.and_then(|index| steps.get(index)) {
        reversed.push(step);
        at = *parent;
    }
    let mut path = String::new();
    for step in reversed.into_iter().rev() {
        match step {
            Step::Key(key) if path.is_empty() => path.push_str(key),
            Step::Key(key) => {
                path.push('.');
                path.push_str(key);
            }
            Step::Index(index) => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

/// Deserializes `T` from JSON text (one document, nothing after it); a failure names the path
/// of the offending field. A struct is read only from a map (never by position from a list),
/// and an object that gives a key twice is refused at any depth (`payload.k: given more than
/// once`), as [`parse_json_value`] does.
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, ValidationError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(Strict(&mut deserializer)).map_err(path_error)?;
    deserializer.end().map_err(|error| ValidationError::new("", error.to_string()))?;
    // The typed read refuses a repeated field of engram's structs, not one inside free JSON
    // (a payload's); a second read of what was accepted looks at every object.
    parse_json_value(text)?;
    Ok(value)
}

/// JSON text (one document) as a `serde_json::Value`, refusing an object that gives a key
/// twice, at any depth, naming where: serde_json alone would keep the last one silently.
pub fn parse_json_value(text: &str) -> Result<serde_json::Value, ValidationError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let UniqueKeys(value) = serde_path_to_error::deserialize(&mut deserializer).map_err(path_error)?;
    deserializer.end().map_err(|error| ValidationError::new("", error.to_string()))?;
    Ok(value)
}

/// Converts a serde error that carries its path into a [`ValidationError`].
pub fn path_error<E: std::fmt::Display>(error: serde_path_to_error::Error<E>) -> ValidationError {
    let path = error.path().to_string();
    let field = if path == "." { String::new() } else { path };
    let problem = error.inner().to_string();
    // serde names a missing or unknown field in its message; the path may or may not hold it
    // already (depending on the deserializer), so append it only when it is not there.
    if let Some((name, verdict)) = named_field(&problem) {
        let already = field == name || field.ends_with(&format!(".{name}"));
        let field = match (already, field.is_empty()) {
            (true, _) => field,
            (false, true) => name.to_string(),
            (false, false) => format!("{field}.{name}"),
        };
        return ValidationError::new(field, verdict);
    }
    // Keys of non-string maps (e.g. `per_section`) show as `?` in the path; name the key.
    if let Some(prefix) = field.strip_suffix(".?")
        && let Some(key) = quoted_name(&problem, "unknown variant `", &["`, expected ", "`, there are no variants"])
    {
        return ValidationError::new(format!("{prefix}.{key}"), problem);
    }
    ValidationError::new(field, problem)
}

/// The field a serde "missing field", "duplicate field" or "unknown field" message names, and
/// the verdict.
fn named_field(problem: &str) -> Option<(&str, &'static str)> {
    if let Some(name) = quoted_name(problem, "missing field `", &["`"]) {
        return Some((name, "missing"));
    }
    if let Some(name) = quoted_name(problem, "duplicate field `", &["`"]) {
        return Some((name, "given more than once"));
    }
    quoted_name(problem, "unknown field `", &["`, expected ", "`, there are no fields"])
        .map(|name| (name, "unknown key"))
}

/// The name serde quoted in backticks after `prefix`. A name may itself hold backticks, so it
/// ends at the last place one of the `endings` serde writes after it occurs: what follows that
/// is serde's own text (the expected names of engram's types), which never holds an ending.
fn quoted_name<'a>(problem: &'a str, prefix: &str, endings: &[&str]) -> Option<&'a str> {
    let rest = problem.strip_prefix(prefix)?;
    endings.iter().filter_map(|ending| rest.rfind(ending)).max().map(|end| &rest[..end])
}

/// Checks that a score-like number is finite and within `[0, 1]`.
pub(crate) fn check_unit(field: &str, value: f64) -> Result<(), ValidationError> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::new(field, format!("must be a number between 0 and 1, got {value}")))
    }
}

/// Checks an identifier: non-empty, at most `max_bytes`, no control characters, no whitespace at
/// either end.
pub fn check_id(field: &str, value: &str, max_bytes: usize) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.len() > max_bytes {
        return Err(ValidationError::new(field, format!("is {} bytes, the limit is {max_bytes}", value.len())));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    // MySQL compares text with trailing spaces ignored: "acme" and "acme " would be one tenant.
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Err(ValidationError::new(field, "must not begin or end with whitespace"));
    }
    Ok(())
}

/// [`check_id`] for the `index`th entry of the list `field`: `field[index]` is formatted only when
/// the entry is wrong, since lists of ids are checked on every read and write.
pub(crate) fn check_id_at(field: &str, index: usize, value: &str, max_bytes: usize) -> Result<(), ValidationError> {
    check_id("", value, max_bytes).map_err(|invalid| ValidationError::new(format!("{field}[{index}]"), invalid.problem))
}

/// Checks a list of source links: each an id, at most `max_sources` of them.
pub(crate) fn check_sources(sources: &[String], limits: &crate::Limits) -> Result<(), ValidationError> {
    if sources.len() > limits.max_sources {
        return Err(ValidationError::new(
            "sources",
            format!("has {} items, the limit is {}", sources.len(), limits.max_sources),
        ));
    }
    for (index, source) in sources.iter().enumerate() {
        check_id_at("sources", index, source, limits.max_id_bytes + 16)?;
    }
    Ok(())
}

/// Checks a list of labels (tags or entities) against the limits.
pub(crate) fn check_labels(field: &str, labels: &[String], limits: &crate::Limits) -> Result<(), ValidationError> {
    if labels.len() > limits.max_labels {
        return Err(ValidationError::new(
            field,
            format!("has {} entries, the limit is {}", labels.len(), limits.max_labels),
        ));
    }
    for (index, label) in labels.iter().enumerate() {
        check_id_at(field, index, label, limits.max_id_bytes)?;
    }
    Ok(())
}

/// Checks free text against the size limit. Free text never holds U+0000, which Postgres
/// cannot store in a text column: every backend refuses it alike.
pub(crate) fn check_text(field: &str, text: &str, limits: &crate::Limits) -> Result<(), ValidationError> {
    if text.len() > limits.max_text_bytes {
        return Err(ValidationError::new(
            field,
            format!("is {} bytes, the limit is {}", text.len(), limits.max_text_bytes),
        ));
    }
    check_no_nul(field, text)
}

/// Longest vector accepted (records' `embedding`, a request's `query_embedding`).
pub const MAX_EMBEDDING_DIMENSIONS: usize = 4096;

/// Checks a vector: 1 to [`MAX_EMBEDDING_DIMENSIONS`] finite numbers. Whether its length
/// matches the tenant's other vectors is the store's check (it knows them).
pub fn check_embedding(field: &str, embedding: &[f32]) -> Result<(), ValidationError> {
    if embedding.is_empty() {
        return Err(ValidationError::new(field, "must hold at least one number"));
    }
    if embedding.len() > MAX_EMBEDDING_DIMENSIONS {
        return Err(ValidationError::new(
            field,
            format!("has {} dimensions, the limit is {MAX_EMBEDDING_DIMENSIONS}", embedding.len()),
        ));
    }
    if let Some(index) = embedding.iter().position(|value| !value.is_finite()) {
        return Err(ValidationError::new(format!("{field}[{index}]"), "not a finite number"));
    }
    Ok(())
}

/// Checks that text stored in a text column holds no U+0000 (Postgres cannot store it).
pub(crate) fn check_no_nul(field: &str, text: &str) -> Result<(), ValidationError> {
    if text.contains('\0') {
        return Err(ValidationError::new(field, "must not contain U+0000 (NUL)"));
    }
    Ok(())
}

/// Checks a JSON value against the payload size and depth limits.
pub(crate) fn check_json(
    field: &str,
    value: &serde_json::Value,
    limits: &crate::Limits,
) -> Result<(), ValidationError> {
    fn depth(value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    let nesting = depth(value);
    if nesting > limits.max_payload_depth {
        return Err(ValidationError::new(
            field,
            format!("is nested {nesting} levels deep, the limit is {}", limits.max_payload_depth),
        ));
    }
    let size = serde_json::to_string(value).map(|text| text.len()).unwrap_or(usize::MAX);
    if size > limits.max_payload_bytes {
        return Err(ValidationError::new(
            field,
            format!("is {size} bytes as JSON, the limit is {}", limits.max_payload_bytes),
        ));
    }
    Ok(())
}
