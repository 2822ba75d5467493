//! The exception tree Python sees, created once, and the one mapping from engram errors to it.
//!
//! ```text
//! EngramError(Exception)
//! ├── InvalidInputError(EngramError, ValueError)    bad input; `.field` and `.problem` say what
//! ├── NotFoundError(EngramError, LookupError)
//! ├── ConflictError(EngramError)                    stale expected_version, id already taken
//! ├── StorageError(EngramError)
//! └── BackendUnavailableError(EngramError)          server down, or backend not in this build
//! ```

use engram_store::{Error, ErrorKind};
use engram_types::ValidationError;
use pyo3::exceptions::{PyException, PyLookupError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The six exception classes. Built with `type(...)` because two of them have two bases,
/// which `create_exception!` cannot express.
struct Exceptions {
    engram: Py<PyType>,
    invalid_input: Py<PyType>,
    not_found: Py<PyType>,
    conflict: Py<PyType>,
    storage: Py<PyType>,
    backend_unavailable: Py<PyType>,
}

static EXCEPTIONS: PyOnceLock<Exceptions> = PyOnceLock::new();

fn exceptions(py: Python<'_>) -> PyResult<&Exceptions> {
    EXCEPTIONS.get_or_try_init(py, || {
        let engram =
            new_type(py, "EngramError", "Root of every error engram raises.", &[py.get_type::<PyException>()])?;
        let root = engram.bind(py).clone();
        let invalid_input = new_type(
            py,
            "InvalidInputError",
            "The input was rejected before anything was written. `field` names the offending field \
             (a dotted path such as `scope.user_id`), `problem` says what is wrong with it.",
            &[root.clone(), py.get_type::<PyValueError>()],
        )?;
        // Class-level defaults, so the attributes exist (and stubs match) before any instance.
        invalid_input.bind(py).setattr("field", "")?;
        invalid_input.bind(py).setattr("problem", "")?;
        let not_found = new_type(
            py,
            "NotFoundError",
            "The record addressed does not exist in this scope.",
            &[root.clone(), py.get_type::<PyLookupError>()],
        )?;
        let conflict = new_type(
            py,
            "ConflictError",
            "The write lost a race: a stale `expected_version`, or an id already taken.",
            std::slice::from_ref(&root),
        )?;
        let storage = new_type(
            py,
            "StorageError",
            "The database failed or returned something engram cannot read.",
            std::slice::from_ref(&root),
        )?;
        let backend_unavailable = new_type(
            py,
            "BackendUnavailableError",
            "The backend cannot be reached, or this build of engram does not include it.",
            &[root],
        )?;
        Ok::<_, PyErr>(Exceptions { engram, invalid_input, not_found, conflict, storage, backend_unavailable })
    })
}

fn new_type(py: Python<'_>, name: &str, doc: &str, bases: &[Bound<'_, PyType>]) -> PyResult<Py<PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__doc__", doc)?;
    // The public home of every class, so tracebacks and pickling say `engram.NotFoundError`.
    namespace.set_item("__module__", "engram")?;
    let bases = PyTuple::new(py, bases)?;
    Ok(py.get_type::<PyType>().call1((name, bases, namespace))?.cast_into::<PyType>()?.unbind())
}

/// Adds the exception classes to the extension module.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    let classes = exceptions(py)?;
    for class in [
        &classes.engram,
        &classes.invalid_input,
        &classes.not_found,
        &classes.conflict,
        &classes.storage,
        &classes.backend_unavailable,
    ] {
        let class = class.bind(py);
        module.add(class.name()?, class)?;
    }
    Ok(())
}

/// Where a Python exception raised by a callback (a summarizer) waits inside an engram-store
/// error while it crosses the store call: `store_error` gives back the exception itself.
const PYTHON_CALLBACK: &str = "python callback";

/// Wraps an exception a Python callback raised, so the store call fails with it.
pub(crate) fn from_callback(error: PyErr) -> Error {
    Error::Storage { backend: PYTHON_CALLBACK, detail: error.to_string(), source: Some(Box::new(error)) }
}

/// The Python exception for an engram-store error, chosen by its kind. An exception a Python
/// callback raised comes back as itself (same object, same traceback).
pub(crate) fn store_error(py: Python<'_>, error: Error) -> PyErr {
    match error {
        Error::InvalidInput(invalid) => invalid_input(py, invalid),
        Error::Storage { backend: PYTHON_CALLBACK, source: Some(source), detail } => match source.downcast::<PyErr>() {
            Ok(raised) => *raised,
            Err(_) => raise(py, ErrorKind::Storage, detail),
        },
        other => {
            let message = other.to_string();
            raise(py, other.kind(), message)
        }
    }
}

/// An `InvalidInputError` carrying `field` and `problem`; its message is `field: problem`.
pub(crate) fn invalid_input(py: Python<'_>, invalid: ValidationError) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = exceptions(py)?.invalid_input.bind(py);
        let instance = class.call1((invalid.to_string(),))?;
        instance.setattr("field", &invalid.field)?;
        instance.setattr("problem", &invalid.problem)?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|error| error)
}

/// An `EngramError` (the root class) with this message.
pub(crate) fn engram_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise_class(py, |classes| &classes.engram, message.into())
}

fn raise(py: Python<'_>, kind: ErrorKind, message: String) -> PyErr {
    raise_class(
        py,
        |classes| match kind {
            ErrorKind::InvalidInput => &classes.invalid_input,
            ErrorKind::NotFound => &classes.not_found,
            ErrorKind::Conflict => &classes.conflict,
            ErrorKind::Storage => &classes.storage,
            ErrorKind::Unavailable => &classes.backend_unavailable,
            // ErrorKind is non-exhaustive: a kind added later is still an engram error.
            _ => &classes.engram,
        },
        message,
    )
}

fn raise_class(py: Python<'_>, pick: impl FnOnce(&Exceptions) -> &Py<PyType>, message: String) -> PyErr {
    match exceptions(py) {
        Ok(classes) => PyErr::from_type(pick(classes).bind(py).clone(), (message,)),
        Err(error) => error,
    }
}
