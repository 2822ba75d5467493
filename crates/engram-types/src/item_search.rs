//! Searching items: a lexical query over the indexed text of every item under a namespace
//! prefix, and listing the namespaces themselves (LangGraph's `search` and `list_namespaces`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::item::{Item, check_filter, filter_matches};
use crate::limits::Limits;
use crate::validation::{ValidationError, check_id, check_id_at, check_text};

/// A search of the items under a namespace prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemSearch {
    #[serde(default = "crate::item::default_tenant")]
    pub tenant_id: String,
    /// A prefix: items of every namespace that starts with it (all of the tenant's when empty).
    #[serde(default)]
    pub namespace: Vec<String>,
    /// Ranks the indexed items by BM25 over their indexed text; items that match none of its
    /// terms are left out. Without one (or with no searchable word in it), items come in
    /// (namespace, key) order.
    #[serde(default)]
    pub query: Option<String>,
    /// Conditions on the value, as in [`ItemQuery`](crate::ItemQuery).
    #[serde(default)]
    pub filter: BTreeMap<String, Value>,
    #[serde(default)]
    pub offset: u32,
    #[serde(default = "default_limit")]
    pub limit: u32,
    #[serde(default)]
    pub without_blobs: bool,
    /// The returned items that have a `ttl_seconds` expire that long after this read.
    #[serde(default)]
    pub refresh_ttl: bool,
}

/// An item a search returned, with its score (`None` without a query).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FoundItem {
    #[serde(flatten)]
    pub item: Item,
    /// BM25 over the indexed text; `None` without a query.
    pub score: Option<f64>,
}

/// Which namespaces to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamespaceQuery {
    #[serde(default = "crate::item::default_tenant")]
    pub tenant_id: String,
    /// Leading labels a namespace must have; `*` matches any one label.
    #[serde(default)]
    pub prefix: Vec<String>,
    /// Trailing labels a namespace must have; `*` matches any one label.
    #[serde(default)]
    pub suffix: Vec<String>,
    /// Namespaces are cut to this many labels (and listed once).
    #[serde(default)]
    pub max_depth: Option<u32>,
    #[serde(default)]
    pub offset: u32,
    #[serde(default = "default_namespace_limit")]
    pub limit: u32,
}

/// The label that matches any one label in a namespace pattern.
pub const WILDCARD_LABEL: &str = "*";

const fn default_limit() -> u32 {
    10
}

const fn default_namespace_limit() -> u32 {
    100
}

impl ItemSearch {
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        check_id("tenant_id", &self.tenant_id, limits.max_id_bytes)?;
        crate::item::check_namespace("namespace", &self.namespace, true, limits)?;
        if let Some(query) = &self.query {
            check_text("query", query, limits)?;
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

impl NamespaceQuery {
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        check_id("tenant_id", &self.tenant_id, limits.max_id_bytes)?;
        for (field, labels) in [("prefix", &self.prefix), ("suffix", &self.suffix)] {
            if labels.len() > crate::MAX_NAMESPACE_DEPTH {
                return Err(ValidationError::new(
                    field,
                    format!("has {} labels, the limit is {}", labels.len(), crate::MAX_NAMESPACE_DEPTH),
                ));
            }
            for (index, label) in labels.iter().enumerate() {
                check_id_at(field, index, label, limits.max_id_bytes)?;
            }
        }
        if self.max_depth == Some(0) {
            return Err(ValidationError::new("max_depth", "must be at least 1"));
        }
        if self.limit == 0 {
            return Err(ValidationError::new("limit", "must be at least 1"));
        }
        Ok(())
    }

    /// The leading labels before the first wildcard: every match lies under this prefix.
    pub fn literal_prefix(&self) -> Vec<String> {
        self.prefix.iter().take_while(|label| *label != WILDCARD_LABEL).cloned().collect()
    }

    /// Whether a stored namespace matches `prefix` and `suffix`.
    pub fn matches(&self, namespace: &[String]) -> bool {
        let same = |pattern: &String, label: &String| pattern == WILDCARD_LABEL || pattern == label;
        namespace.len() >= self.prefix.len()
            && namespace.len() >= self.suffix.len()
            && self.prefix.iter().zip(namespace).all(|(pattern, label)| same(pattern, label))
            && self.suffix.iter().rev().zip(namespace.iter().rev()).all(|(pattern, label)| same(pattern, label))
    }

    /// A matching namespace as listed: cut to `max_depth` labels.
    pub fn listed(&self, namespace: &[String]) -> Vec<String> {
        let depth = self.max_depth.map_or(namespace.len(), |depth| namespace.len().min(depth as usize));
        namespace[..depth].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(labels: &[&str]) -> Vec<String> {
        labels.iter().map(|label| label.to_string()).collect()
    }

    #[test]
    fn namespace_patterns_match_with_wildcards() {
        let query = NamespaceQuery {
            tenant_id: "t".into(),
            prefix: labels(&["users", "*"]),
            suffix: labels(&["docs"]),
            max_depth: Some(2),
            offset: 0,
            limit: 10,
        };
        assert!(query.matches(&labels(&["users", "ada", "docs"])));
        assert!(!query.matches(&labels(&["users", "ada", "notes"])));
        assert!(!query.matches(&labels(&["teams", "ada", "docs"])));
        assert!(!query.matches(&labels(&["users"])));
        assert_eq!(query.literal_prefix(), labels(&["users"]));
        assert_eq!(query.listed(&labels(&["users", "ada", "docs"])), labels(&["users", "ada"]));
    }
}
