//! Item writes from Python: each dict's `blob` (bytes, or None) is taken out before the rest is
//! converted like any other input, since bytes are not JSON.

use engram_types::{ItemWrite, ValidationError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use super::from_python::{from_dict, type_name};

/// Converts the list passed as `argument` into item writes. Errors name the item and the field
/// (`items[2].namespace`, `items[0].blob`).
pub(crate) fn item_writes_from(object: &Bound<'_, PyAny>, argument: &str) -> Result<Vec<ItemWrite>, ValidationError> {
    if !(object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>()) {
        return Err(ValidationError::new(argument, format!("expected a list, got {}", type_name(object))));
    }
    let mut writes = Vec::new();
    for (index, entry) in
        object.try_iter().map_err(|_| ValidationError::new(argument, "cannot be iterated"))?.enumerate()
    {
        let field = format!("{argument}[{index}]");
        let entry = entry.map_err(|_| ValidationError::new(argument, "cannot be iterated"))?;
        let Ok(dict) = entry.cast::<PyDict>() else {
            return Err(ValidationError::new(field, format!("expected a dict, got {}", type_name(&entry))));
        };
        let rest = dict.copy().map_err(|_| ValidationError::new(&field, "cannot be copied"))?;
        let blob = match rest.get_item("blob").ok().flatten() {
            None => None,
            Some(blob) if blob.is_none() => None,
            Some(blob) => match blob.cast::<PyBytes>() {
                Ok(bytes) => Some(bytes.as_bytes().to_vec()),
                Err(_) => {
                    return Err(ValidationError::new(
                        format!("{field}.blob"),
                        format!("expected bytes or None, got {}", type_name(&blob)),
                    ));
                }
            },
        };
        let _ = rest.del_item("blob");
        let mut write: ItemWrite = from_dict(rest.as_any(), &field).map_err(|invalid| invalid.within(&field))?;
        write.blob = blob;
        writes.push(write);
    }
    Ok(writes)
}
