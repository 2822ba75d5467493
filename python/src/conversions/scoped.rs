//! The two shapes a scope travels in: the scope itself, or a dict holding it under `"scope"`
//! (with the rest of a request). Every call that needs a scope takes both, and a dict of
//! neither shape is told which they are.

use engram_types::{Scope, ValidationError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::de::DeserializeOwned;

use super::from_python::{from_dict, from_named_dict};

const SCOPE_PARTS: [&str; 5] = ["tenant_id", "user_id", "agent_id", "session_id", "run_id"];
const SHAPES: &str = "pass the scope itself ({\"tenant_id\": ..., \"user_id\": ..., \"agent_id\": ..., \
                      \"session_id\": ..., \"run_id\": ...}) or a dict holding it under \"scope\"";

/// A dict with no `"scope"` key and at least one scope part: a scope given on its own.
fn is_bare_scope(dict: &Bound<'_, PyDict>) -> bool {
    let has = |key: &str| dict.contains(key).unwrap_or(false);
    !has("scope") && SCOPE_PARTS.iter().any(|part| has(part))
}

/// `T` (a request holding a scope) from its dict; a bare scope reads as `{"scope": scope}`, so
/// `list_facts(scope)` and `list_facts({"scope": scope})` are one call.
pub(crate) fn from_scoped_dict<T: DeserializeOwned>(
    object: &Bound<'_, PyAny>,
    argument: &str,
) -> Result<T, ValidationError> {
    if let Ok(dict) = object.cast::<PyDict>() {
        if is_bare_scope(dict) {
            let wrapped = PyDict::new(object.py());
            wrapped.set_item("scope", dict).map_err(|error| ValidationError::new(argument, error.to_string()))?;
            return from_dict(wrapped.as_any(), argument).map_err(with_shapes);
        }
        if !dict.contains("scope").unwrap_or(false) {
            return Err(ValidationError::new("scope", format!("missing; {SHAPES}")));
        }
    }
    from_dict(object, argument)
}

/// A scope argument: the scope itself, or a dict holding only it under `"scope"`. Fields are
/// named `scope.user_id` either way.
pub(crate) fn scope_from(object: &Bound<'_, PyAny>) -> Result<Scope, ValidationError> {
    if let Ok(dict) = object.cast::<PyDict>()
        && let Ok(Some(inner)) = dict.get_item("scope")
    {
        if dict.len() != 1 {
            return Err(ValidationError::new("scope", format!("takes the scope alone here; {SHAPES}")));
        }
        return from_named_dict(&inner, "scope");
    }
    let has_no_part = object.cast::<PyDict>().is_ok_and(|dict| !is_bare_scope(dict));
    from_named_dict(object, "scope").map_err(|error| if has_no_part { with_shapes(error) } else { error })
}

/// A key a scope does not have, where the dict did not look like a scope or was taken for one,
/// is told the two shapes.
fn with_shapes(error: ValidationError) -> ValidationError {
    let misplaced = error.field.starts_with("scope.") && error.problem == "unknown key";
    if misplaced { ValidationError::new(error.field, format!("{}; {SHAPES}", error.problem)) } else { error }
}
