-- engram on MySQL / MariaDB, schema 6: one active fact per key, enforced by the database, so
-- writers in several processes or hosts cannot both create one; the loser of such a race gets
-- a unique violation and runs again. Without partial indexes, a generated column holds the key
-- of active facts only (NULL otherwise, and NULLs never collide in a unique index). The index
-- is (128 + 400 + 128) characters of 4 bytes, within InnoDB's 3072-byte limit.
--
-- Before the index, writers in two processes could leave several active facts for a key. The
-- newest (highest seq) stays active; each older one becomes superseded by it, as an upsert
-- would have left it, and leaves the lexical index: postings, df, totals and its vector row.
-- (A temporary table is read once per statement: MySQL cannot reopen it within one.)
CREATE TEMPORARY TABLE engram_demoted_facts (
    seq BIGINT NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(128) NOT NULL,
    space VARCHAR(400) NOT NULL,
    lexical_length BIGINT NOT NULL,
    space_id BIGINT,
    superseded_by VARCHAR(128) NOT NULL,
    valid_to BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO engram_demoted_facts (seq, tenant_id, space, lexical_length, space_id, superseded_by, valid_to)
SELECT older.seq, older.tenant_id, older.space, older.lexical_length, spaces.space_id,
       newest.fact_id, GREATEST(newest.valid_from, older.valid_from)
FROM facts older
JOIN facts newest
  ON newest.tenant_id = older.tenant_id AND newest.space = older.space AND newest.fact_key = older.fact_key
 AND newest.status = 'active' AND newest.seq > older.seq
LEFT JOIN lexical_spaces spaces
  ON spaces.tenant_id = older.tenant_id AND spaces.kind = 'fact' AND spaces.space = older.space
WHERE older.status = 'active'
  AND NOT EXISTS (
      SELECT 1 FROM facts newer
      WHERE newer.tenant_id = newest.tenant_id AND newer.space = newest.space AND newer.fact_key = newest.fact_key
        AND newer.status = 'active' AND newer.seq > newest.seq);

UPDATE lexical_terms terms
JOIN (SELECT postings.tenant_id, postings.space_id, postings.term, COUNT(*) AS postings
      FROM fact_postings postings
      JOIN engram_demoted_facts demoted
        ON demoted.tenant_id = postings.tenant_id AND demoted.space_id = postings.space_id
       AND demoted.seq = postings.seq
      GROUP BY postings.tenant_id, postings.space_id, postings.term) removed
  ON terms.tenant_id = removed.tenant_id AND terms.space_id = removed.space_id AND terms.term = removed.term
SET terms.df = terms.df - removed.postings;
DELETE FROM lexical_terms WHERE df <= 0;

UPDATE lexical_totals totals
JOIN (SELECT tenant_id, space_id, COUNT(*) AS documents, SUM(lexical_length) AS total_length
      FROM engram_demoted_facts WHERE space_id IS NOT NULL GROUP BY tenant_id, space_id) removed
  ON totals.tenant_id = removed.tenant_id AND totals.space_id = removed.space_id
SET totals.documents = GREATEST(totals.documents - removed.documents, 0),
    totals.total_length = GREATEST(totals.total_length - removed.total_length, 0);

DELETE postings FROM fact_postings postings
JOIN engram_demoted_facts demoted
  ON demoted.tenant_id = postings.tenant_id AND demoted.space_id = postings.space_id AND demoted.seq = postings.seq;

DELETE vectors FROM record_vectors vectors
JOIN engram_demoted_facts demoted
  ON vectors.tenant_id = demoted.tenant_id AND vectors.kind = 'fact' AND vectors.space = demoted.space
 AND vectors.seq = demoted.seq;

UPDATE facts JOIN engram_demoted_facts demoted ON facts.seq = demoted.seq
SET facts.status = 'superseded', facts.valid_to = demoted.valid_to, facts.superseded_by = demoted.superseded_by;

DROP TEMPORARY TABLE engram_demoted_facts;

ALTER TABLE facts ADD COLUMN active_fact_key VARCHAR(128)
    AS (CASE WHEN status = 'active' THEN fact_key END) STORED;
CREATE UNIQUE INDEX facts_active_key ON facts (tenant_id, space, active_fact_key);
