-- engram on SQLite, schema 5: record vectors.
--
-- * `embedding` on events, facts, episodes and procedures: the record's vector as float32
--   little-endian bytes, NULL without one. Read back with the record.
-- * `record_vectors`: one row per record in the lexical index that has a vector (a superseded
--   fact's row leaves with its postings), written and removed in the same transaction, holding
--   the vector quantized to a byte per value (a float32 scale, then signed bytes; see
--   src/vectors.rs). The vector candidate source reads the newest N of a (tenant, kind, space)
--   as one backward range of the primary key. WITHOUT ROWID: the rows are the key's order, so
--   the range is a sequential walk of leaf pages (a 384-value vector, 388 bytes, stays on its
--   leaf page; vectors past ~900 values spill to overflow pages, still one walk).
-- * `vector_dimensions`: the one length of a tenant's vectors, fixed by its first vector.
ALTER TABLE events ADD COLUMN embedding BLOB;
ALTER TABLE facts ADD COLUMN embedding BLOB;
ALTER TABLE episodes ADD COLUMN embedding BLOB;
ALTER TABLE procedures ADD COLUMN embedding BLOB;

CREATE TABLE record_vectors (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    space TEXT NOT NULL,
    seq INTEGER NOT NULL,
    embedding BLOB NOT NULL,
    PRIMARY KEY (tenant_id, kind, space, seq)
) WITHOUT ROWID;

CREATE TABLE vector_dimensions (
    tenant_id TEXT NOT NULL PRIMARY KEY,
    dimensions INTEGER NOT NULL
) WITHOUT ROWID;
