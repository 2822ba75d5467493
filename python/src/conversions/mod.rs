//! Python objects <-> engram types, with no JSON text in between (polars' `Wrap<T>` idea:
//! the conversions live here, not on the types).

mod deserializer;
mod from_python;
mod items;
mod open_options;
mod scoped;
mod to_python;

pub(crate) use from_python::{
    from_dict, from_list, from_value, path_argument, string_argument, summary_from, type_name,
};
pub(crate) use items::item_writes_from;
pub(crate) use open_options::OpenArguments;
pub(crate) use scoped::{from_scoped_dict, scope_from};
pub(crate) use to_python::to_python;

use pyo3::prelude::*;
use serde::Serialize;

/// A Rust value on its way to Python as plain dicts and lists (the serde form of its type).
#[derive(Debug)]
pub(crate) struct Pythonized<T>(pub T);

impl<'py, T: Serialize> IntoPyObject<'py> for Pythonized<T> {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}
