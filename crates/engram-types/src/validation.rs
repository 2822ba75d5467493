use serde::de::DeserializeOwned;

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

/// Deserializes `T` from a JSON value; a failure names the path of the offending field.
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(value).map_err(path_error)
}

/// Deserializes `T` from JSON text; a failure names the path of the offending field.
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, ValidationError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(path_error)
}

/// Converts a serde error that carries its path into a [`ValidationError`].
pub fn path_error<E: std::fmt::Display>(error: serde_path_to_error::Error<E>) -> ValidationError {
    let path = error.path().to_string();
    let field = if path == "." { String::new() } else { path };
    let problem = error.inner().to_string();
    // serde names a missing or unknown field in its message; the path may or may not hold it
    // already (depending on the deserializer), so append it only when it is not there.
    for (prefix, verdict) in [("missing field `", "missing"), ("unknown field `", "unknown key")] {
        if let Some(name) = problem.strip_prefix(prefix).and_then(|rest| rest.split('`').next()) {
            let already = field == name || field.ends_with(&format!(".{name}"));
            let field = match (already, field.is_empty()) {
                (true, _) => field,
                (false, true) => name.to_string(),
                (false, false) => format!("{field}.{name}"),
            };
            return ValidationError::new(field, verdict);
        }
    }
    // Keys of non-string maps (e.g. `per_section`) show as `?` in the path; name the key.
    if let Some(prefix) = field.strip_suffix(".?")
        && let Some(key) = problem.strip_prefix("unknown variant `").and_then(|rest| rest.split('`').next())
    {
        return ValidationError::new(format!("{prefix}.{key}"), problem);
    }
    ValidationError::new(field, problem)
}

/// Checks that a score-like number is finite and within `[0, 1]`.
pub(crate) fn check_unit(field: &str, value: f64) -> Result<(), ValidationError> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::new(field, format!("must be a number between 0 and 1, got {value}")))
    }
}

/// Checks an identifier: non-empty, at most `max_bytes`, no control characters.
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
    Ok(())
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
        check_id(&format!("sources[{index}]"), source, limits.max_id_bytes + 16)?;
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
        check_id(&format!("{field}[{index}]"), label, limits.max_id_bytes)?;
    }
    Ok(())
}

/// Checks free text against the size limit.
pub(crate) fn check_text(field: &str, text: &str, limits: &crate::Limits) -> Result<(), ValidationError> {
    if text.len() > limits.max_text_bytes {
        return Err(ValidationError::new(
            field,
            format!("is {} bytes, the limit is {}", text.len(), limits.max_text_bytes),
        ));
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
