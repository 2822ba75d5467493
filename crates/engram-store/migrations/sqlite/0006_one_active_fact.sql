-- engram on SQLite, schema 6: one active fact per key, enforced by the database as on the
-- servers. SQLite's single writer (BEGIN IMMEDIATE, across processes too) already reads the
-- active fact and writes its successor without a race, so no database holds two; the index
-- makes that the database's guarantee rather than the writer's.
CREATE UNIQUE INDEX facts_active_key ON facts (tenant_id, space, fact_key) WHERE status = 'active';
