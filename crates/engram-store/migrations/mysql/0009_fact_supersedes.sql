-- engram on mysql, schema 9: a fact version names the version it replaced.
--
-- * `facts.supersedes`: the fact_id of the version this one superseded (the reverse of
--   `superseded_by`), so a packet looks up only the facts that replaced something. Filled here
--   for versions written before.
ALTER TABLE facts ADD COLUMN supersedes VARCHAR(128) NULL;
UPDATE facts
JOIN facts AS replaced ON replaced.tenant_id = facts.tenant_id AND replaced.superseded_by = facts.fact_id
SET facts.supersedes = replaced.fact_id;
