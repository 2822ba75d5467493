-- engram on SQLite, schema 4: lexical search over items, and item TTLs. An item written with
-- index paths has one `item_terms` row per distinct term of its indexed text (its frequency and
-- the text's length beside it, so BM25 needs no other read); `item_totals` keeps per namespace
-- how many items are indexed and their summed length, for BM25's document count and average
-- length. `index_length` is NULL for an item that is not indexed.
ALTER TABLE items ADD COLUMN ttl_ms INTEGER;
ALTER TABLE items ADD COLUMN index_length INTEGER;
CREATE TABLE item_terms (
    tenant_id TEXT NOT NULL,
    term TEXT NOT NULL,
    namespace TEXT NOT NULL,
    item_key TEXT NOT NULL,
    frequency INTEGER NOT NULL,
    length INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, term, namespace, item_key)
) WITHOUT ROWID;
CREATE INDEX item_terms_item ON item_terms (tenant_id, namespace, item_key);
CREATE TABLE item_totals (
    tenant_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    documents INTEGER NOT NULL,
    total_length INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, namespace)
) WITHOUT ROWID;
