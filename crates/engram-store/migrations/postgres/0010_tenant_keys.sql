-- engram on postgres, schema 10: every primary key leads with tenant_id, as every unique index
-- already did, so each table can be distributed by tenant (README "Sharding by tenant
-- (Citus)": a distributed table's primary and unique keys must hold its distribution column).
--
-- * The record tables' primary key is (tenant_id, seq) instead of seq alone. `seq` stays an
--   identity column (the record's place in its tenant's order and its document id in the
--   lexical index); every statement of a tenant names the tenant with it. A plain index on seq
--   keeps the maintenance scans that page through all tenants in seq order (expiry, retention)
--   one index range per page.
-- * `lexical_spaces`' primary key is (tenant_id, space_id); nothing reads a space by its id alone.
--
-- Each new key is built from the table's rows while the table is locked: on a large database
-- this migration takes time in proportion to the records held.
ALTER TABLE events DROP CONSTRAINT events_pkey, ADD CONSTRAINT events_pkey PRIMARY KEY (tenant_id, seq);
CREATE INDEX events_seq ON events (seq);
ALTER TABLE facts DROP CONSTRAINT facts_pkey, ADD CONSTRAINT facts_pkey PRIMARY KEY (tenant_id, seq);
CREATE INDEX facts_seq ON facts (seq);
ALTER TABLE episodes DROP CONSTRAINT episodes_pkey, ADD CONSTRAINT episodes_pkey PRIMARY KEY (tenant_id, seq);
CREATE INDEX episodes_seq ON episodes (seq);
ALTER TABLE procedures DROP CONSTRAINT procedures_pkey, ADD CONSTRAINT procedures_pkey PRIMARY KEY (tenant_id, seq);
CREATE INDEX procedures_seq ON procedures (seq);
ALTER TABLE insights DROP CONSTRAINT insights_pkey, ADD CONSTRAINT insights_pkey PRIMARY KEY (tenant_id, seq);
CREATE INDEX insights_seq ON insights (seq);
ALTER TABLE lexical_spaces DROP CONSTRAINT lexical_spaces_pkey,
    ADD CONSTRAINT lexical_spaces_pkey PRIMARY KEY (tenant_id, space_id);
