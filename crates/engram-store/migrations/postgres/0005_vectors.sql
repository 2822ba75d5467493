-- engram on Postgres, schema 5: record vectors (see migrations/sqlite/0005_vectors.sql).
-- Record vectors are float32 little-endian bytes; `record_vectors` holds them quantized (a
-- float32 scale, then a signed byte per value) and is read newest first per (tenant, kind,
-- space) through its primary key, one range with a LIMIT per space.
ALTER TABLE events ADD COLUMN embedding BYTEA;
ALTER TABLE facts ADD COLUMN embedding BYTEA;
ALTER TABLE episodes ADD COLUMN embedding BYTEA;
ALTER TABLE procedures ADD COLUMN embedding BYTEA;

CREATE TABLE record_vectors (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    space TEXT NOT NULL,
    seq BIGINT NOT NULL,
    embedding BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, kind, space, seq)
);

CREATE TABLE vector_dimensions (
    tenant_id TEXT NOT NULL PRIMARY KEY,
    dimensions BIGINT NOT NULL
);
