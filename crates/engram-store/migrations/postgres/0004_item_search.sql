-- engram on Postgres, schema 4: lexical search over items, and item TTLs (see
-- migrations/sqlite/0004_item_search.sql).
ALTER TABLE items ADD COLUMN ttl_ms BIGINT;
ALTER TABLE items ADD COLUMN index_length BIGINT;
CREATE TABLE item_terms (
    tenant_id TEXT NOT NULL,
    term TEXT COLLATE "C" NOT NULL,
    namespace TEXT COLLATE "C" NOT NULL,
    item_key TEXT COLLATE "C" NOT NULL,
    frequency BIGINT NOT NULL,
    length BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, term, namespace, item_key)
);
CREATE INDEX item_terms_item ON item_terms (tenant_id, namespace, item_key);
CREATE TABLE item_totals (
    tenant_id TEXT NOT NULL,
    namespace TEXT COLLATE "C" NOT NULL,
    documents BIGINT NOT NULL,
    total_length BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, namespace)
);
