//! Python dicts and lists -> engram input types.
//!
//! Each value is read straight into the engram type by a strict deserializer over the Python
//! objects (`deserializer.rs`: only what JSON can hold, plus timezone-aware `datetime`s as RFC
//! 3339 strings), wrapped by `engram_types::from_deserializer`, so every error names the field
//! path (`scope.user_id: missing`, `budget.max_tokens: invalid value: integer `-5`, expected
//! u32`).

use std::borrow::Cow;
use std::path::PathBuf;

use engram_types::{Summary, ValidationError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde::de::DeserializeOwned;

use super::deserializer::{PyValue, at_its_dict};

/// Converts the dict passed as `argument` into `T`. Errors name the field inside the dict
/// (`scope.user_id`), or the argument itself when it is not a dict.
pub(crate) fn from_dict<T: DeserializeOwned>(object: &Bound<'_, PyAny>, argument: &str) -> Result<T, ValidationError> {
    if !object.is_instance_of::<PyDict>() {
        return Err(ValidationError::new(argument, format!("expected a dict, got {}", type_name(object))));
    }
    engram_types::from_deserializer(PyValue::new(object, 0)).map_err(at_its_dict)
}

/// Converts the dict passed as `argument` into `T`, naming the fields inside it from the
/// argument (`scope.user_id`): for an argument that is itself a part of records, like a scope.
pub(crate) fn from_named_dict<T: DeserializeOwned>(
    object: &Bound<'_, PyAny>,
    argument: &str,
) -> Result<T, ValidationError> {
    if !object.is_instance_of::<PyDict>() {
        return Err(ValidationError::new(argument, format!("expected a dict, got {}", type_name(object))));
    }
    from_dict(object, argument).map_err(|invalid| invalid.within(argument))
}

/// Converts the list (or tuple) passed as `argument` into a `Vec<T>`. Errors name the item
/// and the field inside it (`events[2].kind`).
pub(crate) fn from_list<T: DeserializeOwned>(
    object: &Bound<'_, PyAny>,
    argument: &str,
) -> Result<Vec<T>, ValidationError> {
    if !(object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>()) {
        return Err(ValidationError::new(argument, format!("expected a list, got {}", type_name(object))));
    }
    // The argument is the path's first step (`events[2]`), so it counts toward the depth.
    engram_types::from_deserializer(PyValue::new(object, 1)).map_err(|error| {
        let error = at_its_dict(error);
        ValidationError::new(format!("{argument}{}", error.field), error.problem)
    })
}

/// Converts a single value passed as `argument` (a timestamp, say) into `T`. Errors name the
/// argument (`now: ...`), or the field inside it.
pub(crate) fn from_value<T: DeserializeOwned>(object: &Bound<'_, PyAny>, argument: &str) -> Result<T, ValidationError> {
    engram_types::from_deserializer(PyValue::new(object, 1)).map_err(|error| at_its_dict(error).within(argument))
}

/// Converts a file system path argument: a `str` or an `os.PathLike` (as `open()` accepts).
pub(crate) fn path_argument(object: &Bound<'_, PyAny>, argument: &str) -> Result<PathBuf, ValidationError> {
    // Only str and os.PathLike: bytes paths are not portable, and anything else is a mistake.
    let path_like = object.is_instance_of::<PyString>() || object.hasattr("__fspath__").unwrap_or(false);
    if !path_like {
        return Err(ValidationError::new(
            argument,
            format!("expected a str or os.PathLike, got {}", type_name(object)),
        ));
    }
    let path: PathBuf =
        object.extract().map_err(|error| ValidationError::new(argument, format!("is not a usable path: {error}")))?;
    if path.as_os_str().is_empty() {
        return Err(ValidationError::new(argument, "must not be empty"));
    }
    Ok(path)
}

/// Converts what a summarizer returned: a `str` is the summary text, a dict a whole `Summary`.
/// Errors name `argument` (`summarizer`), or the key inside the dict (`summarizer.highlights`).
pub(crate) fn summary_from(object: &Bound<'_, PyAny>, argument: &str) -> Result<Summary, ValidationError> {
    if let Ok(text) = object.cast::<PyString>() {
        let summary =
            text.to_cow().map_err(|_| ValidationError::new(argument, "returned text that is not valid UTF-8"))?;
        return Ok(Summary { summary: summary.into_owned(), ..Summary::default() });
    }
    if !object.is_instance_of::<PyDict>() {
        return Err(ValidationError::new(
            argument,
            format!("must return a dict (a Summary) or a str, got {}", type_name(object)),
        ));
    }
    from_named_dict(object, argument)
}

/// Converts a plain string argument (a fact key), naming the argument on a wrong type.
pub(crate) fn string_argument(object: &Bound<'_, PyAny>, argument: &str) -> Result<String, ValidationError> {
    match object.cast::<PyString>() {
        Ok(text) => {
            text.to_cow().map(Cow::into_owned).map_err(|_| ValidationError::new(argument, "is not valid UTF-8"))
        }
        Err(_) => Err(ValidationError::new(argument, format!("expected a string, got {}", type_name(object)))),
    }
}

pub(crate) fn type_name(object: &Bound<'_, PyAny>) -> String {
    object.get_type().qualname().map_or_else(|_| "object".to_string(), |name| name.to_string())
}
