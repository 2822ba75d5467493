-- engram on MySQL, schema 3: items (see migrations/sqlite/0003_items.sql). The key columns fit
-- InnoDB's 3072-byte index limit: (128 + 384 + 128) characters of 4 bytes.
CREATE TABLE items (
    tenant_id VARCHAR(128) NOT NULL,
    namespace VARCHAR(384) NOT NULL,
    item_key VARCHAR(128) NOT NULL,
    value LONGTEXT NOT NULL,
    data LONGBLOB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT,
    PRIMARY KEY (tenant_id, namespace, item_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX items_expiry ON items (expires_at);
