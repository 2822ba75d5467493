-- engram on SQLite, schema 2: the memory lifecycle.
--
-- * `insights.promoted_to`: what a promoted insight became (`fact:<id>`, `procedure:<id>`).
-- * `working_states.ended_at`: set by end_run; the sweep deletes ended runs' states.
-- * Expiry indexes: the sweep deletes expired records of every tenant, so these are the only
--   indexes that do not lead with tenant_id. Partial: records without expiry cost nothing.
ALTER TABLE insights ADD COLUMN promoted_to TEXT;
ALTER TABLE working_states ADD COLUMN ended_at INTEGER;

CREATE INDEX events_expiry ON events (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX facts_expiry ON facts (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX episodes_expiry ON episodes (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX procedures_expiry ON procedures (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX insights_expiry ON insights (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX working_states_ended ON working_states (ended_at) WHERE ended_at IS NOT NULL;
