-- engram on SQLite, schema 5: record vectors.
--
-- * `embedding` on events, facts, episodes and procedures: the record's vector as float32
--   little-endian bytes, NULL without one. Read back with the record.
-- * `record_vectors`: one row per record in the lexical index that has a vector (a superseded
--   fact's row leaves with its postings), written and removed in the same transaction. The
--   vector candidate source reads the newest N of a (tenant, kind, space) as one backward range
--   of `record_vectors_key`. A rowid table, not WITHOUT ROWID: a vector is ~1.5 KB or more, and
--   in a rowid table the index entries stay small while each blob stays on its own row's page.
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
    embedding BLOB NOT NULL
);
CREATE UNIQUE INDEX record_vectors_key ON record_vectors (tenant_id, kind, space, seq);

CREATE TABLE vector_dimensions (
    tenant_id TEXT NOT NULL PRIMARY KEY,
    dimensions INTEGER NOT NULL
) WITHOUT ROWID;
