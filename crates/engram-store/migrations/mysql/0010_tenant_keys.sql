-- engram on mysql, schema 10: every primary key leads with tenant_id, as every unique index
-- already did, so each table can be distributed by tenant (see
-- migrations/postgres/0010_tenant_keys.sql; the two schemas stay in step).
--
-- * The record tables' primary key is (tenant_id, seq) instead of seq alone, so InnoDB now
--   clusters a tenant's records together. `seq` stays AUTO_INCREMENT, which InnoDB allows only
--   on the first column of some index: the plain index on seq is that index, and it keeps the
--   maintenance scans that page through all tenants in seq order (expiry, retention) one index
--   range per page, as on Postgres.
-- * `lexical_spaces`' primary key is (tenant_id, space_id); its plain index on space_id is there
--   for AUTO_INCREMENT only (Postgres has none).
--
-- InnoDB rebuilds each record table in its new key order: on a large database this migration
-- takes time in proportion to the records held.
ALTER TABLE events DROP PRIMARY KEY, ADD PRIMARY KEY (tenant_id, seq), ADD INDEX events_seq (seq);
ALTER TABLE facts DROP PRIMARY KEY, ADD PRIMARY KEY (tenant_id, seq), ADD INDEX facts_seq (seq);
ALTER TABLE episodes DROP PRIMARY KEY, ADD PRIMARY KEY (tenant_id, seq), ADD INDEX episodes_seq (seq);
ALTER TABLE procedures DROP PRIMARY KEY, ADD PRIMARY KEY (tenant_id, seq), ADD INDEX procedures_seq (seq);
ALTER TABLE insights DROP PRIMARY KEY, ADD PRIMARY KEY (tenant_id, seq), ADD INDEX insights_seq (seq);
ALTER TABLE lexical_spaces DROP PRIMARY KEY, ADD PRIMARY KEY (tenant_id, space_id),
    ADD INDEX lexical_spaces_space_id (space_id);
