-- engram on MySQL / MariaDB, schema 1. The same logical schema as SQLite's (see
-- migrations/sqlite/0001_init.sql for the conventions); kept column for column in step
-- with the Postgres one.
--
-- Every table is utf8mb4 with the binary collation: identifiers and terms compare byte for
-- byte, as in SQLite and Postgres. Postings are B-tree tables `(tenant_id, space_id, term, seq)`.
CREATE TABLE events (
    seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id VARCHAR(128) NOT NULL,
    event_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    agent_id VARCHAR(128) NOT NULL,
    session_id VARCHAR(128) NOT NULL,
    run_id VARCHAR(128) NOT NULL,
    space VARCHAR(400) NOT NULL,
    ts BIGINT NOT NULL,
    kind VARCHAR(32) NOT NULL,
    role MEDIUMTEXT NOT NULL,
    text MEDIUMTEXT NOT NULL,
    payload MEDIUMTEXT NOT NULL,
    tags MEDIUMTEXT NOT NULL,
    entities MEDIUMTEXT NOT NULL,
    importance DOUBLE NOT NULL,
    token_count BIGINT NOT NULL,
    expires_at BIGINT,
    lexical_length BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX events_id ON events (tenant_id, event_id);
CREATE INDEX events_session ON events (tenant_id, space, session_id, kind, ts DESC, seq DESC);

CREATE TABLE facts (
    seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id VARCHAR(128) NOT NULL,
    fact_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    agent_id VARCHAR(128) NOT NULL,
    session_id VARCHAR(128) NOT NULL,
    run_id VARCHAR(128) NOT NULL,
    space VARCHAR(400) NOT NULL,
    scope_level VARCHAR(32) NOT NULL,
    fact_key VARCHAR(128) NOT NULL,
    value MEDIUMTEXT NOT NULL,
    text MEDIUMTEXT NOT NULL,
    status VARCHAR(32) NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT,
    recorded_at BIGINT NOT NULL,
    confidence DOUBLE NOT NULL,
    importance DOUBLE NOT NULL,
    sources MEDIUMTEXT NOT NULL,
    tags MEDIUMTEXT NOT NULL,
    entities MEDIUMTEXT NOT NULL,
    expires_at BIGINT,
    superseded_by VARCHAR(128),
    token_count BIGINT NOT NULL,
    lexical_length BIGINT NOT NULL,
    lexical_terms MEDIUMTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX facts_id ON facts (tenant_id, fact_id);
CREATE INDEX facts_newest ON facts (tenant_id, space, status, recorded_at DESC, seq DESC);
CREATE INDEX facts_important ON facts (tenant_id, space, status, importance DESC, recorded_at DESC, seq DESC);
CREATE INDEX facts_key ON facts (tenant_id, space, fact_key, status);

CREATE TABLE episodes (
    seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id VARCHAR(128) NOT NULL,
    episode_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    agent_id VARCHAR(128) NOT NULL,
    session_id VARCHAR(128) NOT NULL,
    run_id VARCHAR(128) NOT NULL,
    space VARCHAR(400) NOT NULL,
    scope_level VARCHAR(32) NOT NULL,
    start_ts BIGINT NOT NULL,
    end_ts BIGINT NOT NULL,
    summary MEDIUMTEXT NOT NULL,
    highlights MEDIUMTEXT NOT NULL,
    tags MEDIUMTEXT NOT NULL,
    entities MEDIUMTEXT NOT NULL,
    sources MEDIUMTEXT NOT NULL,
    compression_level VARCHAR(32) NOT NULL,
    importance DOUBLE NOT NULL,
    token_count BIGINT NOT NULL,
    expires_at BIGINT,
    lexical_length BIGINT NOT NULL,
    lexical_terms MEDIUMTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX episodes_id ON episodes (tenant_id, episode_id);
CREATE INDEX episodes_newest ON episodes (tenant_id, space, end_ts DESC, seq DESC);
CREATE INDEX episodes_important ON episodes (tenant_id, space, importance DESC, end_ts DESC, seq DESC);

CREATE TABLE procedures (
    seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id VARCHAR(128) NOT NULL,
    procedure_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    agent_id VARCHAR(128) NOT NULL,
    session_id VARCHAR(128) NOT NULL,
    run_id VARCHAR(128) NOT NULL,
    space VARCHAR(400) NOT NULL,
    scope_level VARCHAR(32) NOT NULL,
    task_type MEDIUMTEXT NOT NULL,
    title MEDIUMTEXT NOT NULL,
    steps MEDIUMTEXT NOT NULL,
    content MEDIUMTEXT,
    text MEDIUMTEXT NOT NULL,
    priority DOUBLE NOT NULL,
    applicability MEDIUMTEXT,
    tags MEDIUMTEXT NOT NULL,
    entities MEDIUMTEXT NOT NULL,
    use_count BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    token_count BIGINT NOT NULL,
    expires_at BIGINT,
    lexical_length BIGINT NOT NULL,
    lexical_terms MEDIUMTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX procedures_id ON procedures (tenant_id, procedure_id);
CREATE INDEX procedures_newest ON procedures (tenant_id, space, updated_at DESC, seq DESC);
CREATE INDEX procedures_important ON procedures (tenant_id, space, priority DESC, updated_at DESC, seq DESC);

CREATE TABLE insights (
    seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id VARCHAR(128) NOT NULL,
    insight_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    agent_id VARCHAR(128) NOT NULL,
    session_id VARCHAR(128) NOT NULL,
    run_id VARCHAR(128) NOT NULL,
    space VARCHAR(400) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    text MEDIUMTEXT NOT NULL,
    confidence DOUBLE NOT NULL,
    validation VARCHAR(32) NOT NULL,
    tags MEDIUMTEXT NOT NULL,
    entities MEDIUMTEXT NOT NULL,
    sources MEDIUMTEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    token_count BIGINT NOT NULL,
    lexical_length BIGINT NOT NULL,
    lexical_terms MEDIUMTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX insights_id ON insights (tenant_id, insight_id);
CREATE INDEX insights_newest ON insights (tenant_id, space, created_at DESC, seq DESC);
CREATE INDEX insights_important ON insights (tenant_id, space, confidence DESC, created_at DESC, seq DESC);

-- One row per run: the WorkingState as JSON (version repeated for stats).
CREATE TABLE working_states (
    tenant_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    agent_id VARCHAR(128) NOT NULL,
    session_id VARCHAR(128) NOT NULL,
    run_id VARCHAR(128) NOT NULL,
    version BIGINT NOT NULL,
    state MEDIUMTEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, agent_id, session_id, run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per session: the ShortTermState as JSON.
CREATE TABLE short_terms (
    tenant_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    agent_id VARCHAR(128) NOT NULL,
    session_id VARCHAR(128) NOT NULL,
    state MEDIUMTEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, agent_id, session_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Lexical index (DESIGN.md "Lexical index"). A (tenant, kind, space) gets a small integer id.
CREATE TABLE lexical_spaces (
    space_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id VARCHAR(128) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    space VARCHAR(400) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX lexical_spaces_key ON lexical_spaces (tenant_id, kind, space);

-- Document frequency per (space, term): one point lookup per term.
CREATE TABLE lexical_terms (
    tenant_id VARCHAR(128) NOT NULL,
    space_id BIGINT NOT NULL,
    term VARCHAR(200) NOT NULL,
    df BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, space_id, term)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Documents and summed lexical length per space, for BM25's average length.
CREATE TABLE lexical_totals (
    tenant_id VARCHAR(128) NOT NULL,
    space_id BIGINT NOT NULL,
    documents BIGINT NOT NULL,
    total_length BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, space_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Postings, one table per kind: the newest K of a (space, term) are one backward index range.
CREATE TABLE event_postings (
    tenant_id VARCHAR(128) NOT NULL,
    space_id BIGINT NOT NULL,
    term VARCHAR(200) NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, space_id, term, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE fact_postings (
    tenant_id VARCHAR(128) NOT NULL,
    space_id BIGINT NOT NULL,
    term VARCHAR(200) NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, space_id, term, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE episode_postings (
    tenant_id VARCHAR(128) NOT NULL,
    space_id BIGINT NOT NULL,
    term VARCHAR(200) NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, space_id, term, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE procedure_postings (
    tenant_id VARCHAR(128) NOT NULL,
    space_id BIGINT NOT NULL,
    term VARCHAR(200) NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, space_id, term, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE insight_postings (
    tenant_id VARCHAR(128) NOT NULL,
    space_id BIGINT NOT NULL,
    term VARCHAR(200) NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, space_id, term, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
