//! How a record field of each Rust type is stored in its column, both ways: timestamps as unix
//! milliseconds, lists and JSON values as JSON text, enums as their names, vectors as float32
//! bytes. The record column lists (`record_columns.rs`) pick the conversion by the field's type.

use engram_types::{CompressionLevel, EventKind, FactStatus, InsightKind, ScopeLevel, Timestamp, ValidationState};

use super::column_reader::{ColumnReader, corrupt, parse_text};
use super::select::ColumnClass;
use super::statement::Param;
use super::stored_values::{json, optional_millis, time, to_integer, to_json, vector, vector_bytes};
use crate::error::Result;

/// A field type and its column. `column` (`table.field`) names the column in errors.
pub(crate) trait ColumnValue: Sized {
    /// What the column holds.
    const CLASS: ColumnClass;
    fn param(&self, column: &str) -> Result<Param>;
    fn read(row: &(impl ColumnReader + ?Sized), index: usize, column: &str) -> Result<Self>;
}

/// `ColumnValue` for each type: `type: |value, column| param, |row, index, column| read;`.
macro_rules! column_value {
    ($(
        $type:ty as $class:ident: |$value:ident, $param_column:tt| $param:expr,
            |$row:ident, $index:ident, $read_column:tt| $read:expr;
    )*) => {
        $(impl ColumnValue for $type {
            const CLASS: ColumnClass = ColumnClass::$class;

            fn param(&self, column: &str) -> Result<Param> {
                let ($value, $param_column) = (self, column);
                $param
            }

            fn read(row: &(impl ColumnReader + ?Sized), index: usize, column: &str) -> Result<Self> {
                let ($row, $index, $read_column) = (row, index, column);
                $read
            }
        })*
    };
}

column_value! {
    String as Text: |value, _| Ok(Param::Text(value.clone())), |row, index, _| row.text(index);
    Option<String> as Text: |value, _| Ok(Param::OptionalText(value.clone())), |row, index, _| row.optional_text(index);
    f64 as Real: |value, _| Ok(Param::Real(*value)), |row, index, _| row.real(index);
    // Token counts.
    u32 as Integer: |value, _| Ok(Param::Integer(i64::from(*value))),
        |row, index, column| u32::try_from(row.integer(index)?).map_err(|error| corrupt(row.backend(), column, error));
    // Use counts: u64 in engram, BIGINT (i64) in SQL.
    u64 as Integer: |value, column| Ok(Param::Integer(to_integer(*value, column)?)),
        |row, index, column| u64::try_from(row.integer(index)?).map_err(|error| corrupt(row.backend(), column, error));
    Timestamp as Integer: |value, _| Ok(Param::Integer(value.timestamp_millis())),
        |row, index, _| time(row.backend(), row.integer(index)?);
    Option<Timestamp> as Integer: |value, _| Ok(Param::OptionalInteger(optional_millis(*value))),
        |row, index, _| row.optional_integer(index)?.map(|millis| time(row.backend(), millis)).transpose();
    // A record's vector (`embedding`), if set.
    Option<Vec<f32>> as Blob: |value, _| Ok(Param::OptionalBlob(value.as_deref().map(vector_bytes))),
        |row, index, _| row.optional_blob(index)?.map(|bytes| vector(row.backend(), &bytes)).transpose();
    // Lists and JSON values, as JSON text.
    Vec<String> as Text: |value, _| Ok(Param::Text(to_json(value)?)),
        |row, index, column| parse_text(row, index, |text| match text {
            // Most lists are empty.
            "[]" => Ok(Vec::new()),
            text => json(row.backend(), column, text),
        });
    serde_json::Value as Text: |value, _| Ok(Param::Text(to_json(value)?)),
        |row, index, column| parse_text(row, index, |text| json(row.backend(), column, text));
}

/// Enums stored as their names (`as_str`, read back with `parse`).
macro_rules! name_column {
    ($($type:ty),*) => {
        column_value! {$(
            $type as Text: |value, _| Ok(Param::Text(value.as_str().to_string())),
                |row, index, column| parse_name(row, index, column, <$type>::parse);
        )*}
    };
}

name_column!(EventKind, ScopeLevel, FactStatus, CompressionLevel, InsightKind, ValidationState);

fn parse_name<T>(
    row: &(impl ColumnReader + ?Sized),
    index: usize,
    column: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T> {
    parse_text(row, index, |text| {
        parse(text).ok_or_else(|| corrupt(row.backend(), column, format!("unknown value {text:?}")))
    })
}
