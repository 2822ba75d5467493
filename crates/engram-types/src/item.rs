//! Items: namespaced documents kept next to agent memory for the frameworks built on engram
//! (LangGraph's checkpoints and pending writes, a `BaseStore`'s items). An item is a JSON value
//! and an optional blob under `(tenant, namespace, key)`; it is not part of any packet.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Timestamp;
use crate::item_index::{IndexPath, check_index_paths};
use crate::limits::Limits;
use crate::validation::{ValidationError, check_id, check_id_at, check_json, check_no_nul};

/// Most labels in a namespace.
pub const MAX_NAMESPACE_DEPTH: usize = 16;
/// Longest namespace, its labels joined, in bytes (the width of the server key columns).
pub const MAX_NAMESPACE_BYTES: usize = 384;

/// One item to store. `blob` travels beside the JSON (bytes are not JSON): the Python layer
/// fills it from a `bytes` value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemWrite {
    #[serde(default = "default_tenant")]
    pub tenant_id: String,
    /// Labels (each non-empty, at most `limits.max_id_bytes`, no control characters; at most 16,
    /// 384 bytes joined).
    pub namespace: Vec<String>,
    pub key: String,
    #[serde(default)]
    pub value: Value,
    #[serde(skip)]
    pub blob: Option<Vec<u8>>,
    /// After this instant the item is gone for every read, and the next sweep deletes it.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// The item expires this many seconds after the write (not with `expires_at`); reads that
    /// ask for it (`refresh_ttl`) start the time again.
    #[serde(default)]
    pub ttl_seconds: Option<f64>,
    /// Where in `value` the text `search_items` finds it by lies (see [`IndexPath`]); not
    /// indexed (listed, never matched by a query) without it.
    #[serde(default)]
    pub index: Option<Vec<String>>,
}

/// What a write does when the key is taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// The new value replaces the stored one (`created_at` is kept).
    #[default]
    Replace,
    /// The stored item stays as it is.
    Keep,
}

/// A stored item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Item {
    pub tenant_id: String,
    pub namespace: Vec<String>,
    pub key: String,
    pub value: Value,
    /// Serialized as bytes (a Python `bytes`), never read from JSON.
    #[serde(serialize_with = "serialize_blob", skip_deserializing, default)]
    pub blob: Option<Vec<u8>>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub ttl_seconds: Option<f64>,
    /// The items of the namespace the query's `children` names, followed by this item's key;
    /// only when the query asks for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<Item>>,
}

/// Which items a read or a delete selects: one namespace (or every namespace under a prefix),
/// optionally only some keys, a key range, and conditions on the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemQuery {
    #[serde(default = "default_tenant")]
    pub tenant_id: String,
    pub namespace: Vec<String>,
    /// `namespace` is a prefix: items of every namespace that starts with it (itself included).
    #[serde(default)]
    pub prefix: bool,
    /// Only these keys (every key when empty).
    #[serde(default)]
    pub keys: Vec<String>,
    /// Only keys strictly before this one.
    #[serde(default)]
    pub before_key: Option<String>,
    /// Only keys strictly after this one.
    #[serde(default)]
    pub after_key: Option<String>,
    /// Newest key first (keys in descending order within a namespace).
    #[serde(default)]
    pub descending: bool,
    /// Conditions on the value, all of which must hold: a dotted path (`metadata.run_id`) to a
    /// value, or to an operator object (`{"$gte": 3}`; `$eq`, `$ne`, `$gt`, `$gte`, `$lt`,
    /// `$lte`, `$in`).
    #[serde(default)]
    pub filter: BTreeMap<String, Value>,
    /// Leaves the blobs out (listing metadata only).
    #[serde(default)]
    pub without_blobs: bool,
    /// The returned items that have a `ttl_seconds` expire that long after this read.
    #[serde(default)]
    pub refresh_ttl: bool,
    /// Items skipped before the first returned.
    #[serde(default)]
    pub offset: u32,
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// With each returned item, its children: every live item of the namespace `children` +
    /// [the item's key], keys ascending, blobs left out with `without_blobs` (a checkpoint and
    /// its pending writes in one read). Ignored by deletes.
    #[serde(default)]
    pub children: Option<Vec<String>>,
}

fn serialize_blob<S: serde::Serializer>(blob: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
    match blob {
        Some(bytes) => serializer.serialize_bytes(bytes),
        None => serializer.serialize_none(),
    }
}

pub(crate) fn default_tenant() -> String {
    "default".to_string()
}

const fn default_limit() -> u32 {
    100
}

impl ItemQuery {
    /// Every item of one namespace, keys ascending, at most `limit`.
    pub fn new(tenant_id: impl Into<String>, namespace: Vec<String>, limit: u32) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            namespace,
            prefix: false,
            keys: Vec::new(),
            before_key: None,
            after_key: None,
            descending: false,
            filter: BTreeMap::new(),
            without_blobs: false,
            refresh_ttl: false,
            offset: 0,
            limit,
            children: None,
        }
    }

    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        check_id("tenant_id", &self.tenant_id, limits.max_id_bytes)?;
        check_namespace("namespace", &self.namespace, self.prefix, limits)?;
        if let Some(children) = &self.children {
            check_namespace("children", children, false, limits)?;
            // The children's namespace takes one more label: the parent's key.
            if children.len() >= MAX_NAMESPACE_DEPTH {
                return Err(ValidationError::new(
                    "children",
                    format!(
                        "has {} labels, the limit is {} (the key is one more)",
                        children.len(),
                        MAX_NAMESPACE_DEPTH - 1
                    ),
                ));
            }
        }
        for (index, key) in self.keys.iter().enumerate() {
            check_id_at("keys", index, key, limits.max_id_bytes)?;
        }
        // Key bounds need not be keys themselves, but are compared by the database.
        for (field, bound) in [("before_key", &self.before_key), ("after_key", &self.after_key)] {
            if let Some(bound) = bound {
                check_no_nul(field, bound)?;
            }
        }
        check_filter(&self.filter)?;
        if self.limit == 0 {
            return Err(ValidationError::new("limit", "must be at least 1"));
        }
        Ok(())
    }

    /// Whether a stored item passes `filter`.
    pub fn matches(&self, item: &Item) -> bool {
        filter_matches(&self.filter, item)
    }
}

/// Checks every condition of a value filter.
pub(crate) fn check_filter(filter: &BTreeMap<String, Value>) -> Result<(), ValidationError> {
    filter.iter().try_for_each(|(path, condition)| check_condition(path, condition))
}

/// Whether an item's value meets every condition of a filter.
pub(crate) fn filter_matches(filter: &BTreeMap<String, Value>, item: &Item) -> bool {
    filter.iter().all(|(path, condition)| {
        let found = path.split('.').try_fold(&item.value, |value, part| value.get(part));
        holds(found, condition)
    })
}

impl ItemWrite {
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        check_id("tenant_id", &self.tenant_id, limits.max_id_bytes)?;
        check_namespace("namespace", &self.namespace, false, limits)?;
        check_id("key", &self.key, limits.max_id_bytes)?;
        check_json("value", &self.value, limits)?;
        if let Some(blob) = &self.blob
            && blob.len() > limits.max_blob_bytes
        {
            return Err(ValidationError::new(
                "blob",
                format!("is {} bytes, the limit is {}", blob.len(), limits.max_blob_bytes),
            ));
        }
        if let Some(ttl) = self.ttl_seconds {
            if !(ttl.is_finite() && ttl > 0.0 && ttl <= MAX_TTL_SECONDS) {
                return Err(ValidationError::new(
                    "ttl_seconds",
                    format!("must be a number of seconds above 0 and at most {MAX_TTL_SECONDS}"),
                ));
            }
            if self.expires_at.is_some() {
                return Err(ValidationError::new("ttl_seconds", "cannot be given with expires_at"));
            }
        }
        if let Some(paths) = &self.index {
            check_index_paths("index", paths)?;
        }
        Ok(())
    }

    /// The text `search_items` matches this item by: the text under each `index` path, or
    /// `None` when the item is not indexed.
    pub fn indexed_text(&self) -> Option<String> {
        let paths = self.index.as_ref()?;
        let mut text = String::new();
        for path in paths {
            // Validated already; a path that does not parse selects nothing.
            if let Ok(path) = IndexPath::parse(path) {
                path.collect_text(&self.value, &mut text);
            }
        }
        Some(text)
    }
}

/// A validated `ttl_seconds` in whole milliseconds, as stored (`ttl_ms`) and added to expiries.
pub fn ttl_millis(ttl_seconds: f64) -> i64 {
    (ttl_seconds * 1000.0) as i64
}

/// The longest `ttl_seconds`: a century.
pub const MAX_TTL_SECONDS: f64 = 100.0 * 365.25 * 86_400.0;

/// The separator of namespace labels in storage: DEL, a control character (labels never hold one)
/// that sorts above every character a label may hold below it, space included. MySQL compares
/// text as if padded with spaces, so a separator below space would sort `a` after `a<sep>b`.
pub const NAMESPACE_SEPARATOR: char = '\u{7f}';

/// The stored form of a namespace: its labels joined by [`NAMESPACE_SEPARATOR`].
pub fn join_namespace(namespace: &[String]) -> String {
    namespace.join(&NAMESPACE_SEPARATOR.to_string())
}

/// The labels of a stored namespace.
pub fn split_namespace(joined: &str) -> Vec<String> {
    joined.split(NAMESPACE_SEPARATOR).map(str::to_string).collect()
}

pub(crate) fn check_namespace(
    field: &str,
    namespace: &[String],
    prefix: bool,
    limits: &Limits,
) -> Result<(), ValidationError> {
    if namespace.is_empty() && !prefix {
        return Err(ValidationError::new(field, "must have at least one label"));
    }
    if namespace.len() > MAX_NAMESPACE_DEPTH {
        return Err(ValidationError::new(
            field,
            format!("has {} labels, the limit is {MAX_NAMESPACE_DEPTH}", namespace.len()),
        ));
    }
    for (index, label) in namespace.iter().enumerate() {
        check_id_at(field, index, label, limits.max_id_bytes)?;
    }
    let joined = join_namespace(namespace).len();
    if joined > MAX_NAMESPACE_BYTES {
        return Err(ValidationError::new(
            field,
            format!("is {joined} bytes joined, the limit is {MAX_NAMESPACE_BYTES}"),
        ));
    }
    Ok(())
}

const OPERATORS: [&str; 7] = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in"];

fn check_condition(path: &str, condition: &Value) -> Result<(), ValidationError> {
    let field = format!("filter.{path}");
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(ValidationError::new(field, "is not a dotted path of keys"));
    }
    let Some(operators) = operator_object(condition) else { return Ok(()) };
    for (operator, operand) in operators {
        if !OPERATORS.contains(&operator.as_str()) {
            return Err(ValidationError::new(
                format!("{field}.{operator}"),
                format!("unknown operator; expected one of {}", OPERATORS.join(", ")),
            ));
        }
        if operator == "$in" && !operand.is_array() {
            return Err(ValidationError::new(format!("{field}.$in"), "expects a list"));
        }
    }
    Ok(())
}

/// An object whose keys all start with `$` is a set of operators; anything else is a value to equal.
fn operator_object(condition: &Value) -> Option<&serde_json::Map<String, Value>> {
    condition.as_object().filter(|map| !map.is_empty() && map.keys().all(|key| key.starts_with('$')))
}

fn holds(found: Option<&Value>, condition: &Value) -> bool {
    let Some(operators) = operator_object(condition) else { return found == Some(condition) };
    operators.iter().all(|(operator, operand)| match operator.as_str() {
        "$eq" => found == Some(operand),
        "$ne" => found != Some(operand),
        "$in" => operand.as_array().is_some_and(|options| found.is_some_and(|value| options.contains(value))),
        ordering => found.and_then(|value| compare(value, operand)).is_some_and(|order| match ordering {
            "$gt" => order.is_gt(),
            "$gte" => order.is_ge(),
            "$lt" => order.is_lt(),
            "$lte" => order.is_le(),
            _ => false,
        }),
    })
}

/// Numbers compare with numbers and strings with strings; anything else does not compare.
fn compare(left: &Value, right: &Value) -> Option<std::cmp::Ordering> {
    match (left, right) {
        (Value::Number(left), Value::Number(right)) => left.as_f64()?.partial_cmp(&right.as_f64()?),
        (Value::String(left), Value::String(right)) => Some(left.cmp(right)),
        _ => None,
    }
}
