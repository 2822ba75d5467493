-- engram on MySQL, schema 4: lexical search over items, and item TTLs (see
-- migrations/sqlite/0004_item_search.sql). Terms are at most 48 bytes; the postings key is
-- (128 + 48 + 384 + 128) characters of 4 bytes, within InnoDB's 3072-byte limit.
ALTER TABLE items ADD COLUMN ttl_ms BIGINT;
ALTER TABLE items ADD COLUMN index_length BIGINT;
CREATE TABLE item_terms (
    tenant_id VARCHAR(128) NOT NULL,
    term VARCHAR(48) NOT NULL,
    namespace VARCHAR(384) NOT NULL,
    item_key VARCHAR(128) NOT NULL,
    frequency BIGINT NOT NULL,
    length BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, term, namespace, item_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX item_terms_item ON item_terms (tenant_id, namespace, item_key);
CREATE TABLE item_totals (
    tenant_id VARCHAR(128) NOT NULL,
    namespace VARCHAR(384) NOT NULL,
    documents BIGINT NOT NULL,
    total_length BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, namespace)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
