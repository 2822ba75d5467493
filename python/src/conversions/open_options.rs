//! The arguments of `Memory(...)` / `AsyncMemory(...)` -> the options that open a store. Each
//! argument is checked here, so a wrong type is an `InvalidInputError` naming it, as everywhere else.

use engram_store::{OpenOptions, Synchronous};
use engram_types::{Limits, ValidationError};
use pyo3::prelude::*;
use pyo3::types::PyBool;

use super::from_python::{from_value, path_argument, string_argument, type_name};

/// The constructor's arguments as Python passed them; `None` (or absent) takes the default.
pub(crate) struct OpenArguments<'a, 'py> {
    pub path: Option<&'a Bound<'py, PyAny>>,
    pub in_memory: Option<&'a Bound<'py, PyAny>>,
    pub backend: Option<&'a Bound<'py, PyAny>>,
    pub dsn: Option<&'a Bound<'py, PyAny>>,
    pub database: Option<&'a Bound<'py, PyAny>>,
    pub limits: Option<&'a Bound<'py, PyAny>>,
    pub synchronous: Option<&'a Bound<'py, PyAny>>,
}

impl OpenArguments<'_, '_> {
    pub(crate) fn into_options(self) -> Result<OpenOptions, ValidationError> {
        let mut options = OpenOptions::default();
        if let Some(path) = present(self.path) {
            options.path = path_argument(path, "path")?;
        }
        if let Some(in_memory) = present(self.in_memory) {
            options.in_memory = in_memory.cast::<PyBool>().map(|flag| flag.is_true()).map_err(|_| {
                ValidationError::new("in_memory", format!("expected a bool, got {}", type_name(in_memory)))
            })?;
        }
        if let Some(backend) = present(self.backend) {
            options.backend = Some(string_argument(backend, "backend")?);
        }
        options.dsn = present(self.dsn).map(|dsn| string_argument(dsn, "dsn")).transpose()?;
        options.database = present(self.database).map(|database| string_argument(database, "database")).transpose()?;
        if let Some(limits) = present(self.limits) {
            options.limits = from_value::<Limits>(limits, "limits")?;
        }
        if let Some(synchronous) = present(self.synchronous) {
            options.synchronous = from_value::<Synchronous>(synchronous, "synchronous")?;
        }
        Ok(options)
    }
}

fn present<'a, 'py>(argument: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    argument.filter(|value| !value.is_none())
}
