-- engram on Postgres, schema 6: one active fact per key, enforced by the database (a partial
-- unique index), so writers in several processes or hosts cannot both create one; the loser
-- of such a race gets a unique violation and runs again.
--
-- Before the index, writers in two processes could leave several active facts for a key. The
-- newest (highest seq) stays active; each older one becomes superseded by it, as an upsert
-- would have left it, and leaves the lexical index: postings, df, totals and its vector row.
CREATE TEMPORARY TABLE engram_demoted_facts ON COMMIT DROP AS
SELECT older.seq, older.tenant_id, older.space, older.lexical_length, spaces.space_id,
       newest.fact_id AS superseded_by, GREATEST(newest.valid_from, older.valid_from) AS valid_to
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

UPDATE lexical_terms terms SET df = terms.df - removed.postings
FROM (SELECT postings.tenant_id, postings.space_id, postings.term, COUNT(*) AS postings
      FROM fact_postings postings
      JOIN engram_demoted_facts demoted
        ON demoted.tenant_id = postings.tenant_id AND demoted.space_id = postings.space_id
       AND demoted.seq = postings.seq
      GROUP BY postings.tenant_id, postings.space_id, postings.term) removed
WHERE terms.tenant_id = removed.tenant_id AND terms.space_id = removed.space_id AND terms.term = removed.term;
DELETE FROM lexical_terms WHERE df <= 0;

UPDATE lexical_totals totals
SET documents = GREATEST(totals.documents - removed.documents, 0),
    total_length = GREATEST(totals.total_length - removed.total_length, 0)
FROM (SELECT tenant_id, space_id, COUNT(*) AS documents, SUM(lexical_length) AS total_length
      FROM engram_demoted_facts WHERE space_id IS NOT NULL GROUP BY tenant_id, space_id) removed
WHERE totals.tenant_id = removed.tenant_id AND totals.space_id = removed.space_id;

DELETE FROM fact_postings postings USING engram_demoted_facts demoted
WHERE demoted.tenant_id = postings.tenant_id AND demoted.space_id = postings.space_id AND demoted.seq = postings.seq;

DELETE FROM record_vectors vectors USING engram_demoted_facts demoted
WHERE vectors.tenant_id = demoted.tenant_id AND vectors.kind = 'fact' AND vectors.space = demoted.space
  AND vectors.seq = demoted.seq;

UPDATE facts SET status = 'superseded', valid_to = demoted.valid_to, superseded_by = demoted.superseded_by
FROM engram_demoted_facts demoted WHERE facts.seq = demoted.seq;

CREATE UNIQUE INDEX facts_active_key ON facts (tenant_id, space, fact_key) WHERE status = 'active';
