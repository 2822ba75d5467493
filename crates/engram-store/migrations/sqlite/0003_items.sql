-- engram on SQLite, schema 3: items, the namespaced documents beside agent memory (LangGraph
-- checkpoints and pending writes, a BaseStore's items). `namespace` holds the labels joined by
-- U+007F (DEL), so the namespaces under a prefix are one key range; `value` is JSON text, `data` an
-- optional blob; times are Unix milliseconds. Items are never in a packet.
CREATE TABLE items (
    tenant_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    item_key TEXT NOT NULL,
    value TEXT NOT NULL,
    data BLOB,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (tenant_id, namespace, item_key)
) WITHOUT ROWID;
CREATE INDEX items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;
