-- engram on MySQL, schema 5: record vectors (see migrations/sqlite/0005_vectors.sql).
-- Record vectors are float32 little-endian bytes; `record_vectors` holds them quantized (a
-- float32 scale, then a signed byte per value). The `record_vectors` key is (128 + 16 + 400)
-- characters of 4 bytes plus a BIGINT, within InnoDB's 3072-byte limit.
ALTER TABLE events ADD COLUMN embedding LONGBLOB NULL;
ALTER TABLE facts ADD COLUMN embedding LONGBLOB NULL;
ALTER TABLE episodes ADD COLUMN embedding LONGBLOB NULL;
ALTER TABLE procedures ADD COLUMN embedding LONGBLOB NULL;

CREATE TABLE record_vectors (
    tenant_id VARCHAR(128) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    space VARCHAR(400) NOT NULL,
    seq BIGINT NOT NULL,
    embedding LONGBLOB NOT NULL,
    PRIMARY KEY (tenant_id, kind, space, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE vector_dimensions (
    tenant_id VARCHAR(128) NOT NULL PRIMARY KEY,
    dimensions BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
