//! A serde `Deserializer` over Python objects: engram's input types are read straight from the
//! dicts and lists a caller passes, with no JSON value built in between (for a bulk append that
//! value was most of the conversion's cost: a string and a map entry per key, walked again).
//!
//! It accepts exactly what JSON can hold, plus timezone-aware `datetime`s, read as their RFC 3339
//! text. It answers a visitor as serde_json's `Value` does for the same JSON (a non-negative int
//! as `u64`, a negative one as `i64`, an enum from a string or a single-key dict, leftovers of a
//! map or list refused), so what is accepted and what each error says are the same. The path of
//! a failure is added around it (`engram_types::from_deserializer`). pythonize's deserializer is
//! not used on purpose: it reads a `str` as a list of characters, any object as a bool
//! (truthiness), sets as lists and NaN as `null`, all of which must be errors here.

use std::borrow::Cow;
use std::fmt;

use engram_types::ValidationError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyDate, PyDateTime, PyDict, PyFloat, PyFrozenSet, PyInt, PyIterator, PyList, PySet, PyString, PyTuple,
};
use serde::de::value::StrDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, Expected, IntoDeserializer, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};

use super::from_python::type_name;

/// Deepest nesting accepted from Python (the payload limit is 32 levels; requests add a few).
/// Also stops self-referencing lists and dicts.
const MAX_DEPTH: usize = 64;

/// What is wrong with the value, in words; `serde_path_to_error` says where.
#[derive(Debug)]
pub(crate) struct Problem(String);

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for Problem {}

impl de::Error for Problem {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self(message.to_string())
    }
}

fn problem(message: impl Into<String>) -> Problem {
    Problem(message.into())
}

/// How a key that cannot be read begins its problem.
const KEY_PROBLEMS: [&str; 2] = ["keys must be strings", "has a key that is not valid UTF-8"];

fn key_not_a_string(key: &Bound<'_, PyAny>) -> Problem {
    problem(format!("{}, got a key of type {}", KEY_PROBLEMS[0], type_name(key)))
}

fn key_not_utf8() -> Problem {
    problem(KEY_PROBLEMS[1])
}

/// A key that cannot be read is named by its dict: the path the error was given ends in `?`,
/// the key serde could not capture.
pub(crate) fn at_its_dict(error: ValidationError) -> ValidationError {
    let about_a_key = KEY_PROBLEMS.iter().any(|start| error.problem.starts_with(start));
    match error.field.strip_suffix("?").map(|field| field.strip_suffix('.').unwrap_or(field)) {
        Some(field) if about_a_key => ValidationError::new(field, error.problem),
        _ => error,
    }
}

/// One Python value to deserialize, `depth` levels of lists and dicts down (counting the
/// argument itself when it is named in the path, as a list's `events[2]` is).
pub(crate) struct PyValue<'a, 'py> {
    object: &'a Bound<'py, PyAny>,
    depth: usize,
}

impl<'a, 'py> PyValue<'a, 'py> {
    pub(crate) fn new(object: &'a Bound<'py, PyAny>, depth: usize) -> Self {
        Self { object, depth }
    }

    fn check_depth(&self) -> Result<(), Problem> {
        if self.depth > MAX_DEPTH {
            return Err(problem(format!("is nested more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    /// The value as JSON sees it.
    fn kind(&self) -> Result<Kind<'a, 'py>, Problem> {
        self.check_depth()?;
        let object = self.object;
        if object.is_none() {
            return Ok(Kind::Null);
        }
        // bool before int: in Python, True is an int.
        if let Ok(flag) = object.cast::<PyBool>() {
            return Ok(Kind::Bool(flag.is_true()));
        }
        if let Ok(integer) = object.cast::<PyInt>() {
            if let Ok(small) = integer.extract::<i64>() {
                return Ok(u64::try_from(small).map_or(Kind::Signed(small), Kind::Unsigned));
            }
            if let Ok(large) = integer.extract::<u64>() {
                return Ok(Kind::Unsigned(large));
            }
            return Err(problem("integer does not fit in 64 bits"));
        }
        if let Ok(float) = object.cast::<PyFloat>() {
            let number = float.value();
            if !number.is_finite() {
                return Err(problem(format!("must be a finite number, got {number}")));
            }
            return Ok(Kind::Float(number));
        }
        if let Ok(text) = object.cast::<PyString>() {
            return text.to_cow().map(Kind::Text).map_err(|_| problem("is not valid UTF-8"));
        }
        if let Ok(dict) = object.cast::<PyDict>() {
            return Ok(Kind::Map(dict));
        }
        if object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>() {
            return Ok(Kind::Seq);
        }
        if let Ok(instant) = object.cast::<PyDateTime>() {
            return datetime_text(instant).map(|text| Kind::Text(Cow::Owned(text)));
        }
        if object.is_instance_of::<PyDate>() {
            return Err(problem("a date has no time of day; pass a timezone-aware datetime or an RFC 3339 string"));
        }
        if object.is_instance_of::<PySet>() || object.is_instance_of::<PyFrozenSet>() {
            return Err(problem("a set is not JSON (it has no order); use a list"));
        }
        Err(problem(format!(
            "a value of type {} is not JSON (use dict, list, str, int, float, bool, None or datetime)",
            type_name(object)
        )))
    }

    fn items(&self) -> Result<Items<'py>, Problem> {
        let length = self.object.len().unwrap_or(0);
        let iterator = self.object.try_iter().map_err(|_| problem("cannot be iterated"))?;
        Ok(Items { iterator, depth: self.depth + 1, length, taken: 0 })
    }
}

/// A Python value as JSON sees it (a datetime is its text).
enum Kind<'a, 'py> {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(Cow<'a, str>),
    Map(&'a Bound<'py, PyDict>),
    Seq,
}

impl Kind<'_, '_> {
    /// How serde_json's `Value` names the same value in an error.
    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Self::Null => Unexpected::Unit,
            Self::Bool(flag) => Unexpected::Bool(*flag),
            Self::Unsigned(number) => Unexpected::Unsigned(*number),
            Self::Signed(number) => Unexpected::Signed(*number),
            Self::Float(number) => Unexpected::Float(*number),
            Self::Text(text) => Unexpected::Str(text),
            Self::Map(_) => Unexpected::Map,
            Self::Seq => Unexpected::Seq,
        }
    }
}

/// A timezone-aware datetime becomes its RFC 3339 text; a naive one is refused rather than guessed.
fn datetime_text(instant: &Bound<'_, PyDateTime>) -> Result<String, Problem> {
    let offset = instant.call_method0("utcoffset").map_err(|_| problem("has an invalid timezone"))?;
    if offset.is_none() {
        return Err(problem(
            "datetime has no timezone; pass an aware one (e.g. datetime.now(timezone.utc)) or an RFC 3339 string",
        ));
    }
    instant
        .call_method1("isoformat", ("T",))
        .and_then(|text| text.extract::<String>())
        .map_err(|_| problem("datetime cannot be formatted"))
}

impl<'de> Deserializer<'de> for PyValue<'_, '_> {
    type Error = Problem;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        match self.kind()? {
            Kind::Null => visitor.visit_unit(),
            Kind::Bool(flag) => visitor.visit_bool(flag),
            Kind::Unsigned(number) => visitor.visit_u64(number),
            Kind::Signed(number) => visitor.visit_i64(number),
            Kind::Float(number) => visitor.visit_f64(number),
            Kind::Text(Cow::Borrowed(text)) => visitor.visit_str(text),
            Kind::Text(Cow::Owned(text)) => visitor.visit_string(text),
            Kind::Map(dict) => visit_map(dict, self.depth + 1, visitor),
            Kind::Seq => {
                let mut items = self.items()?;
                let value = visitor.visit_seq(&mut items)?;
                items.finish(value, "fewer elements in array")
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        self.check_depth()?;
        if self.object.is_none() { visitor.visit_none() } else { visitor.visit_some(self) }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Problem> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Problem> {
        match self.kind()? {
            Kind::Text(text) => visitor.visit_enum(StrDeserializer::<Problem>::new(&text)),
            Kind::Map(dict) if dict.len() == 1 => {
                let Some((variant, value)) = dict.iter().next() else {
                    return Err(de::Error::invalid_value(Unexpected::Map, &"map with a single key"));
                };
                visitor.visit_enum(Variant { variant, value, depth: self.depth + 1 })
            }
            Kind::Map(_) => Err(de::Error::invalid_value(Unexpected::Map, &"map with a single key")),
            other => Err(de::Error::invalid_type(other.unexpected(), &"string or map")),
        }
    }

    /// Ignored, yet checked: what cannot be JSON is refused wherever it is.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        self.deserialize_any(de::IgnoredAny)?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        seq tuple tuple_struct map struct identifier
    }
}

/// A dict's items, each key a string.
fn visit_map<'de, V: Visitor<'de>>(dict: &Bound<'_, PyDict>, depth: usize, visitor: V) -> Result<V::Value, Problem> {
    let mut entries = Entries { items: dict.iter(), value: None, depth, length: dict.len(), taken: 0 };
    let value = visitor.visit_map(&mut entries)?;
    if entries.taken == entries.length {
        Ok(value)
    } else {
        Err(de::Error::invalid_length(entries.length, &"fewer elements in map"))
    }
}

struct Entries<'py> {
    items: pyo3::types::iter::BoundDictIterator<'py>,
    /// The value of the key just read.
    value: Option<Bound<'py, PyAny>>,
    depth: usize,
    length: usize,
    taken: usize,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Problem;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Problem> {
        let Some((key, value)) = self.items.next() else { return Ok(None) };
        let Ok(key) = key.cast::<PyString>() else { return Err(key_not_a_string(&key)) };
        let name = key.to_cow().map_err(|_| key_not_utf8())?;
        self.value = Some(value);
        self.taken += 1;
        seed.deserialize(StrDeserializer::<Problem>::new(&name)).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Problem> {
        let value = self.value.take().ok_or_else(|| problem("a map value was read before its key"))?;
        seed.deserialize(PyValue::new(&value, self.depth))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.length.saturating_sub(self.taken))
    }
}

/// A list's or tuple's items.
struct Items<'py> {
    iterator: Bound<'py, PyIterator>,
    depth: usize,
    length: usize,
    taken: usize,
}

impl Items<'_> {
    /// The visitor's value, if it took every item (as serde_json requires).
    fn finish<T>(mut self, value: T, expected: &'static str) -> Result<T, Problem> {
        if self.iterator.next().is_none() { Ok(value) } else { Err(de::Error::invalid_length(self.length, &expected)) }
    }
}

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = Problem;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Problem> {
        let Some(item) = self.iterator.next() else { return Ok(None) };
        let item = item.map_err(|_| problem("cannot be iterated"))?;
        self.taken += 1;
        seed.deserialize(PyValue::new(&item, self.depth)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.length.saturating_sub(self.taken))
    }
}

/// An enum given as `{variant: content}`.
struct Variant<'py> {
    variant: Bound<'py, PyAny>,
    value: Bound<'py, PyAny>,
    depth: usize,
}

impl<'de, 'py> EnumAccess<'de> for Variant<'py> {
    type Error = Problem;
    type Variant = VariantContent<'py>;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, VariantContent<'py>), Problem> {
        let Ok(key) = self.variant.cast::<PyString>() else { return Err(key_not_a_string(&self.variant)) };
        let name = key.to_cow().map_err(|_| key_not_utf8())?;
        let variant = seed.deserialize(name.as_ref().into_deserializer())?;
        Ok((variant, VariantContent { value: self.value, depth: self.depth }))
    }
}

/// The content of a `{variant: content}` enum.
struct VariantContent<'py> {
    value: Bound<'py, PyAny>,
    depth: usize,
}

impl VariantContent<'_> {
    fn content(&self) -> PyValue<'_, '_> {
        PyValue::new(&self.value, self.depth)
    }

    fn refuse<T>(&self, expected: &dyn Expected) -> Result<T, Problem> {
        let kind = self.content().kind()?;
        Err(de::Error::invalid_type(kind.unexpected(), expected))
    }
}

impl<'de> VariantAccess<'de> for VariantContent<'_> {
    type Error = Problem;

    fn unit_variant(self) -> Result<(), Problem> {
        de::Deserialize::deserialize(self.content())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Problem> {
        seed.deserialize(self.content())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _length: usize, visitor: V) -> Result<V::Value, Problem> {
        match self.content().kind()? {
            Kind::Seq => self.content().deserialize_any(visitor),
            _ => self.refuse(&"tuple variant"),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Problem> {
        match self.content().kind()? {
            Kind::Map(_) | Kind::Seq => self.content().deserialize_any(visitor),
            _ => self.refuse(&"struct variant"),
        }
    }
}
