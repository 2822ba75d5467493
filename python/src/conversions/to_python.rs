//! Rust values -> Python dicts, lists, strings and numbers (the serde form of their types).
//!
//! A packet has thousands of dict keys, all drawn from a few dozen field and variant names
//! (`id`, `score`, `section`, `facts`, ...). Unlike pythonize, which allocates a new string for
//! every key, this serializer keeps one interned Python string per `&'static str` name and
//! thread, so building a packet's dicts costs no string allocation and no key hashing.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyList, PyString};
use serde::ser::{self, Serialize};

/// Converts `value` into Python objects.
pub(crate) fn to_python<'py, T: Serialize + ?Sized>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    value.serialize(ToPython { py }).map_err(|error| error.0)
}

/// A Python exception raised while converting (serde needs its own error type).
#[derive(Debug)]
pub(crate) struct Error(PyErr);

impl std::fmt::Display for Error {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(formatter)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Self(PyValueError::new_err(message.to_string()))
    }
}

impl From<PyErr> for Error {
    fn from(error: PyErr) -> Self {
        Self(error)
    }
}

/// Static names are told apart by address and length; hashing those needs no SipHash.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_usize(&mut self, value: usize) {
        self.0 = (self.0.rotate_left(5) ^ value as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// Interned names by (address, length) of their `&'static str`.
type Names = HashMap<(usize, usize), Py<PyString>, BuildHasherDefault<AddressHasher>>;

thread_local! {
    static NAMES: RefCell<Names> = RefCell::new(Names::default());
}

/// The interned Python string of a field or variant name, made once per thread.
fn name<'py>(py: Python<'py>, name: &'static str) -> Bound<'py, PyString> {
    NAMES.with_borrow_mut(|names| {
        names
            .entry((name.as_ptr() as usize, name.len()))
            .or_insert_with(|| PyString::intern(py, name).unbind())
            .bind(py)
            .clone()
    })
}

struct ToPython<'py> {
    py: Python<'py>,
}

impl<'py> ToPython<'py> {
    fn object<T: IntoPyObject<'py>>(&self, value: T) -> Result<Bound<'py, PyAny>, Error> {
        Ok(value.into_bound_py_any(self.py)?)
    }
}

/// Collects the items of a sequence, then makes the list.
struct ListBuilder<'py> {
    py: Python<'py>,
    items: Vec<Bound<'py, PyAny>>,
}

/// Fills a dict, field by field or key by key.
struct DictBuilder<'py> {
    py: Python<'py>,
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
    /// For enum variants with content: `{variant: dict_or_list}`.
    variant: Option<&'static str>,
}

impl<'py> ser::Serializer for ToPython<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    type SerializeSeq = ListBuilder<'py>;
    type SerializeTuple = ListBuilder<'py>;
    type SerializeTupleStruct = ListBuilder<'py>;
    type SerializeTupleVariant = VariantList<'py>;
    type SerializeMap = DictBuilder<'py>;
    type SerializeStruct = DictBuilder<'py>;
    type SerializeStructVariant = DictBuilder<'py>;

    fn serialize_bool(self, value: bool) -> Result<Self::Ok, Error> {
        Ok(PyBool::new(self.py, value).to_owned().into_any())
    }

    fn serialize_i8(self, value: i8) -> Result<Self::Ok, Error> {
        self.object(value)
    }

    fn serialize_i16(self, value: i16) -> Result<Self::Ok, Error> {
        self.object(value)
    }

    fn serialize_i32(self, value: i32) -> Result<Self::Ok, Error> {
        self.object(value)
    }

    fn serialize_i64(self, value: i64) -> Result<Self::Ok, Error> {
        self.object(value)
    }

    fn serialize_i128(self, value: i128) -> Result<Self::Ok, Error> {
        self.object(value)
    }

    fn serialize_u8(self, value: u8) -> Result<Self::Ok, Error> {
        self.object(value)
    }

    fn serialize_u16(self, value: u16) -> Result<Self::Ok, Error> {
        self.object(value)
    }

    fn serialize_u32(self, value: u32) -> Result<Self::Ok, Error> {
        self.object(value)
    }

    fn serialize_u64(self, value: u64) -> Result<Self::Ok, Error> {
        self.object(value)
    }

    fn serialize_u128(self, value: u128) -> Result<Self::Ok, Error> {
        self.object(value)
    }

    fn serialize_f32(self, value: f32) -> Result<Self::Ok, Error> {
        Ok(PyFloat::new(self.py, f64::from(value)).into_any())
    }

    fn serialize_f64(self, value: f64) -> Result<Self::Ok, Error> {
        Ok(PyFloat::new(self.py, value).into_any())
    }

    fn serialize_char(self, value: char) -> Result<Self::Ok, Error> {
        Ok(PyString::new(self.py, value.encode_utf8(&mut [0; 4])).into_any())
    }

    fn serialize_str(self, value: &str) -> Result<Self::Ok, Error> {
        Ok(PyString::new(self.py, value).into_any())
    }

    /// Timestamps come this way: written into one buffer that holds them, not into a string
    /// regrown three times as chrono writes its parts.
    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<Self::Ok, Error> {
        let mut text = String::with_capacity(40);
        write!(text, "{value}").map_err(|_| <Error as ser::Error>::custom("a value could not be written as text"))?;
        self.serialize_str(&text)
    }

    fn serialize_bytes(self, value: &[u8]) -> Result<Self::Ok, Error> {
        Ok(PyBytes::new(self.py, value).into_any())
    }

    fn serialize_none(self) -> Result<Self::Ok, Error> {
        Ok(self.py.None().into_bound(self.py))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Self::Ok, Error> {
        self.serialize_none()
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok, Error> {
        self.serialize_none()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok, Error> {
        Ok(name(self.py, variant).into_any())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Error> {
        let dict = PyDict::new(self.py);
        dict.set_item(name(self.py, variant), value.serialize(ToPython { py: self.py })?)?;
        Ok(dict.into_any())
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<ListBuilder<'py>, Error> {
        Ok(ListBuilder { py: self.py, items: Vec::with_capacity(len.unwrap_or(0)) })
    }

    fn serialize_tuple(self, len: usize) -> Result<ListBuilder<'py>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<ListBuilder<'py>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantList<'py>, Error> {
        Ok(VariantList { variant, list: ListBuilder { py: self.py, items: Vec::with_capacity(len) } })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<DictBuilder<'py>, Error> {
        Ok(DictBuilder { py: self.py, dict: PyDict::new(self.py), key: None, variant: None })
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<DictBuilder<'py>, Error> {
        self.serialize_map(None)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<DictBuilder<'py>, Error> {
        Ok(DictBuilder { py: self.py, dict: PyDict::new(self.py), key: None, variant: Some(variant) })
    }
}

impl<'py> ListBuilder<'py> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(ToPython { py: self.py })?);
        Ok(())
    }

    fn finish(self) -> Result<Bound<'py, PyAny>, Error> {
        Ok(PyList::new(self.py, self.items)?.into_any())
    }
}

impl<'py> ser::SerializeSeq for ListBuilder<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        self.finish()
    }
}

impl<'py> ser::SerializeTuple for ListBuilder<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        self.finish()
    }
}

impl<'py> ser::SerializeTupleStruct for ListBuilder<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        self.finish()
    }
}

/// `{variant: [fields...]}`.
struct VariantList<'py> {
    variant: &'static str,
    list: ListBuilder<'py>,
}

impl<'py> ser::SerializeTupleVariant for VariantList<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.list.push(value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        let py = self.list.py;
        let dict = PyDict::new(py);
        dict.set_item(name(py, self.variant), self.list.finish()?)?;
        Ok(dict.into_any())
    }
}

impl<'py> DictBuilder<'py> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.dict.set_item(name(self.py, key), value.serialize(ToPython { py: self.py })?)?;
        Ok(())
    }

    fn finish(self) -> Result<Bound<'py, PyAny>, Error> {
        match self.variant {
            None => Ok(self.dict.into_any()),
            Some(variant) => {
                let outer = PyDict::new(self.py);
                outer.set_item(name(self.py, variant), self.dict)?;
                Ok(outer.into_any())
            }
        }
    }
}

impl<'py> ser::SerializeMap for DictBuilder<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(ToPython { py: self.py })?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self.key.take().ok_or_else(|| <Error as ser::Error>::custom("map value without a key"))?;
        self.dict.set_item(key, value.serialize(ToPython { py: self.py })?)?;
        Ok(())
    }

    fn end(self) -> Result<Self::Ok, Error> {
        self.finish()
    }
}

impl<'py> ser::SerializeStruct for DictBuilder<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        self.finish()
    }
}

impl<'py> ser::SerializeStructVariant for DictBuilder<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        self.finish()
    }
}
