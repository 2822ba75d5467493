//! Python dicts and lists -> engram input types.
//!
//! A Python value is first checked and copied into a `serde_json::Value`, strictly: only what
//! JSON can hold, plus timezone-aware `datetime`s, which become RFC 3339 strings. It is then
//! deserialized into the engram type with `serde_path_to_error` (`engram_types::from_json_value`),
//! so every error names the field path (`scope.user_id: missing`, `budget.max_tokens: invalid
//! value: integer `-5`, expected u32`). pythonize's deserializer is not used on purpose: it
//! reads a `str` as a list of characters, any object as a bool (truthiness), sets as lists
//! and NaN as `null`, all of which must be errors here.

use std::borrow::Cow;
use std::path::PathBuf;

use engram_types::{Summary, ValidationError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDate, PyDateTime, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple};
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

/// Deepest nesting accepted from Python (the payload limit is 32 levels; requests add a few).
/// Also stops self-referencing lists and dicts.
const MAX_DEPTH: usize = 64;

/// Converts the dict passed as `argument` into `T`. Errors name the field inside the dict
/// (`scope.user_id`), or the argument itself when it is not a dict.
pub(crate) fn from_dict<T: DeserializeOwned>(object: &Bound<'_, PyAny>, argument: &str) -> Result<T, ValidationError> {
    if !object.is_instance_of::<PyDict>() {
        return Err(ValidationError::new(argument, format!("expected a dict, got {}", type_name(object))));
    }
    let value = to_json(object, &mut Vec::new())?;
    engram_types::from_json_value(value)
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
    let mut path = vec![Segment::Argument(argument)];
    let value = to_json(object, &mut path)?;
    engram_types::from_json_value(value)
        .map_err(|error| ValidationError::new(format!("{argument}{}", error.field), error.problem))
}

/// Converts a single value passed as `argument` (a timestamp, say) into `T`. Errors name the
/// argument (`now: ...`), or the field inside it.
pub(crate) fn from_value<T: DeserializeOwned>(object: &Bound<'_, PyAny>, argument: &str) -> Result<T, ValidationError> {
    let mut path = vec![Segment::Argument(argument)];
    let value = to_json(object, &mut path)?;
    engram_types::from_json_value(value).map_err(|error| error.within(argument))
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

/// One step of the path to the value being converted, printed as serde_path_to_error does. A
/// dict key is kept as the Python string itself: the path is only read when something fails,
/// and copying every key of every event into it was an allocation per key.
enum Segment<'argument, 'py> {
    Argument(&'argument str),
    Key(Bound<'py, PyString>),
    Index(usize),
}

fn field_path(path: &[Segment<'_, '_>]) -> String {
    let mut text = String::new();
    let push_name = |text: &mut String, name: &str| {
        if !text.is_empty() {
            text.push('.');
        }
        text.push_str(name);
    };
    for segment in path {
        match segment {
            Segment::Argument(name) => push_name(&mut text, name),
            Segment::Key(key) => push_name(&mut text, &key.to_string_lossy()),
            Segment::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

fn invalid(path: &[Segment<'_, '_>], problem: impl Into<String>) -> ValidationError {
    ValidationError::new(field_path(path), problem)
}

pub(crate) fn type_name(object: &Bound<'_, PyAny>) -> String {
    object.get_type().qualname().map_or_else(|_| "object".to_string(), |name| name.to_string())
}

fn to_json<'py>(object: &Bound<'py, PyAny>, path: &mut Vec<Segment<'_, 'py>>) -> Result<Value, ValidationError> {
    if path.len() > MAX_DEPTH {
        return Err(invalid(path, format!("is nested more than {MAX_DEPTH} levels deep")));
    }
    if object.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: in Python, True is an int.
    if let Ok(flag) = object.cast::<PyBool>() {
        return Ok(Value::Bool(flag.is_true()));
    }
    if let Ok(integer) = object.cast::<PyInt>() {
        if let Ok(small) = integer.extract::<i64>() {
            return Ok(Value::Number(small.into()));
        }
        if let Ok(large) = integer.extract::<u64>() {
            return Ok(Value::Number(large.into()));
        }
        return Err(invalid(path, "integer does not fit in 64 bits"));
    }
    if let Ok(float) = object.cast::<PyFloat>() {
        let number = float.value();
        return Number::from_f64(number)
            .map(Value::Number)
            .ok_or_else(|| invalid(path, format!("must be a finite number, got {number}")));
    }
    if let Ok(text) = object.cast::<PyString>() {
        return text
            .to_cow()
            .map(|text| Value::String(text.into_owned()))
            .map_err(|_| invalid(path, "is not valid UTF-8"));
    }
    if let Ok(dict) = object.cast::<PyDict>() {
        let mut map = Map::with_capacity(dict.len());
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(invalid(path, format!("keys must be strings, got a key of type {}", type_name(&key))));
            };
            let name = key.to_cow().map_err(|_| invalid(path, "has a key that is not valid UTF-8"))?.into_owned();
            path.push(Segment::Key(key.clone()));
            let value = to_json(&item, path)?;
            path.pop();
            map.insert(name, value);
        }
        return Ok(Value::Object(map));
    }
    if object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (index, item) in object.try_iter().map_err(|_| invalid(path, "cannot be iterated"))?.enumerate() {
            let item = item.map_err(|_| invalid(path, "cannot be iterated"))?;
            path.push(Segment::Index(index));
            items.push(to_json(&item, path)?);
            path.pop();
        }
        return Ok(Value::Array(items));
    }
    if let Ok(instant) = object.cast::<PyDateTime>() {
        return datetime_to_json(instant, path);
    }
    if object.is_instance_of::<PyDate>() {
        return Err(invalid(path, "a date has no time of day; pass a timezone-aware datetime or an RFC 3339 string"));
    }
    if object.is_instance_of::<PySet>() || object.is_instance_of::<PyFrozenSet>() {
        return Err(invalid(path, "a set is not JSON (it has no order); use a list"));
    }
    Err(invalid(
        path,
        format!(
            "a value of type {} is not JSON (use dict, list, str, int, float, bool, None or datetime)",
            type_name(object)
        ),
    ))
}

/// A timezone-aware datetime becomes its RFC 3339 text; a naive one is refused rather than guessed.
fn datetime_to_json(instant: &Bound<'_, PyDateTime>, path: &[Segment<'_, '_>]) -> Result<Value, ValidationError> {
    let offset = instant.call_method0("utcoffset").map_err(|_| invalid(path, "has an invalid timezone"))?;
    if offset.is_none() {
        return Err(invalid(
            path,
            "datetime has no timezone; pass an aware one (e.g. datetime.now(timezone.utc)) or an RFC 3339 string",
        ));
    }
    let text = instant
        .call_method1("isoformat", ("T",))
        .and_then(|text| text.extract::<String>())
        .map_err(|_| invalid(path, "datetime cannot be formatted"))?;
    Ok(Value::String(text))
}
