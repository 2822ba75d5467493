-- engram on MySQL, schema 2: the memory lifecycle (see migrations/sqlite/0002_lifecycle.sql).
-- MySQL has no partial indexes: NULL expiries share one end of each index.
ALTER TABLE insights ADD COLUMN promoted_to VARCHAR(200) NULL;
ALTER TABLE working_states ADD COLUMN ended_at BIGINT NULL;

CREATE INDEX events_expiry ON events (expires_at);
CREATE INDEX facts_expiry ON facts (expires_at);
CREATE INDEX episodes_expiry ON episodes (expires_at);
CREATE INDEX procedures_expiry ON procedures (expires_at);
CREATE INDEX insights_expiry ON insights (expires_at);
CREATE INDEX working_states_ended ON working_states (ended_at);
