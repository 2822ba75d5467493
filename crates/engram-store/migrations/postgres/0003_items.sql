-- engram on Postgres, schema 3: items (see migrations/sqlite/0003_items.sql). Namespaces and
-- keys sort by bytes ("C"), as on SQLite and MySQL, so a prefix is one key range.
CREATE TABLE items (
    tenant_id TEXT NOT NULL,
    namespace TEXT COLLATE "C" NOT NULL,
    item_key TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    data BYTEA,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT,
    PRIMARY KEY (tenant_id, namespace, item_key)
);
CREATE INDEX items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;
