//! What a backend stores of an item and how it is read: [`IndexedItem`], [`ItemScan`].

use engram_types::{ItemQuery, ItemWrite, Timestamp, join_namespace};

use crate::lexical::DocumentTerms;

/// An item as backends write it: validated, its expiry set from its TTL, its indexed text
/// analyzed (`None` when it is not indexed).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedItem {
    pub write: ItemWrite,
    pub terms: Option<DocumentTerms>,
}

/// One bounded read of items, as a backend serves it: a namespace (or a prefix), optional keys
/// and key bounds, expired items left out, ordered by (namespace, key), ascending or descending,
/// starting after `cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemScan {
    pub tenant_id: String,
    /// The namespace, labels joined (`join_namespace`).
    pub namespace: String,
    /// Every namespace under `namespace` too (all namespaces of the tenant when it is empty).
    pub prefix: bool,
    pub keys: Vec<String>,
    pub before_key: Option<String>,
    pub after_key: Option<String>,
    /// Only namespaces after this joined one (listing namespaces one by one).
    pub after_namespace: Option<String>,
    pub descending: bool,
    /// The (namespace, key) the previous page ended at.
    pub cursor: Option<(String, String)>,
    pub without_blobs: bool,
    /// Items with `expires_at <= now` are left out.
    pub now: Timestamp,
    pub limit: u32,
}

impl ItemScan {
    pub(crate) fn from_query(query: &ItemQuery, now: Timestamp, limit: u32) -> Self {
        Self {
            tenant_id: query.tenant_id.clone(),
            namespace: join_namespace(&query.namespace),
            prefix: query.prefix,
            keys: query.keys.clone(),
            before_key: query.before_key.clone(),
            after_key: query.after_key.clone(),
            after_namespace: None,
            descending: query.descending,
            cursor: None,
            without_blobs: query.without_blobs,
            now,
            limit,
        }
    }

    pub fn prefix_range(&self) -> (String, String) {
        prefix_range(&self.namespace)
    }

    /// Whether a stored (namespace, key) is one this scan selects (the in-memory store's filter;
    /// SQL backends say the same in their `WHERE`).
    pub fn selects(&self, namespace: &str, key: &str) -> bool {
        let in_namespace =
            if self.prefix { under_prefix(&self.namespace, namespace) } else { namespace == self.namespace };
        in_namespace
            && (self.keys.is_empty() || self.keys.iter().any(|wanted| wanted == key))
            && self.before_key.as_deref().is_none_or(|before| key < before)
            && self.after_key.as_deref().is_none_or(|after| key > after)
            && self.after_namespace.as_deref().is_none_or(|after| namespace > after)
            && self.cursor.as_ref().is_none_or(|(cursor_namespace, cursor_key)| {
                let position = (namespace, key);
                let cursor = (cursor_namespace.as_str(), cursor_key.as_str());
                if self.descending { position < cursor } else { position > cursor }
            })
    }
}

/// The bounds of the namespaces under a joined prefix: labels are joined by `\u{7f}`, so every
/// namespace that extends `namespace` sorts in `[namespace + "\u{7f}", namespace + "\u{80}")`.
pub fn prefix_range(namespace: &str) -> (String, String) {
    (format!("{namespace}\u{7f}"), format!("{namespace}\u{80}"))
}

/// Whether a joined namespace is the joined `prefix` or lies under it (every namespace is under
/// the empty prefix).
pub(crate) fn under_prefix(prefix: &str, namespace: &str) -> bool {
    prefix.is_empty() || namespace == prefix || {
        let (low, high) = prefix_range(prefix);
        namespace >= low.as_str() && namespace < high.as_str()
    }
}
