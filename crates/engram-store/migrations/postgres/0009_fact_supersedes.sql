-- engram on postgres, schema 9: a fact version names the version it replaced.
--
-- * `facts.supersedes`: the fact_id of the version this one superseded (the reverse of
--   `superseded_by`), so a packet looks up only the facts that replaced something. Filled here
--   for versions written before.
ALTER TABLE facts ADD COLUMN supersedes TEXT;
UPDATE facts SET supersedes = replaced.fact_id
FROM facts AS replaced
WHERE replaced.tenant_id = facts.tenant_id AND replaced.superseded_by = facts.fact_id;
