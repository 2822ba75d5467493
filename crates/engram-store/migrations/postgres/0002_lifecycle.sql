-- engram on Postgres, schema 2: the memory lifecycle (see migrations/sqlite/0002_lifecycle.sql).
ALTER TABLE insights ADD COLUMN promoted_to TEXT;
ALTER TABLE working_states ADD COLUMN ended_at BIGINT;

CREATE INDEX events_expiry ON events (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX facts_expiry ON facts (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX episodes_expiry ON episodes (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX procedures_expiry ON procedures (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX insights_expiry ON insights (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX working_states_ended ON working_states (ended_at) WHERE ended_at IS NOT NULL;
