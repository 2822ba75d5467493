-- engram on SQLite, schema 1.
--
-- Conventions:
-- * `seq` is each record table's INTEGER PRIMARY KEY AUTOINCREMENT rowid: the record's sequence
--   number (monotonic, never reused) and its document id in the lexical index. Every other key
--   and every index leads with tenant_id.
-- * Timestamps are INTEGER unix milliseconds (records are normalized to ms before they are stored).
-- * JSON columns (payload, value, lists) hold compact JSON text.
-- * `space` is the record's memory space key (see record.rs), `lexical_length` its lexical length
--   and `lexical_terms` (all kinds but events) its term frequencies as JSON, kept so the postings
--   of a superseded or replaced record can be removed exactly.
-- * Every fetch is one index range with a LIMIT per (space, partition); partitions are the event
--   kind for events and the status for facts, which is why those lead the ordering columns.

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    space TEXT NOT NULL,
    ts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    payload TEXT NOT NULL,
    tags TEXT NOT NULL,
    entities TEXT NOT NULL,
    importance REAL NOT NULL,
    token_count INTEGER NOT NULL,
    expires_at INTEGER,
    lexical_length INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_id ON events (tenant_id, event_id);
-- The only ordered event index: newest first per session and kind (the conversation window,
-- session and run listings). Events outside a session are reached through the lexical index
-- by sequence, so bulk appends maintain two indexes, not five.
CREATE INDEX events_session ON events (tenant_id, space, session_id, kind, ts DESC, seq DESC);

CREATE TABLE facts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    fact_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    space TEXT NOT NULL,
    scope_level TEXT NOT NULL,
    fact_key TEXT NOT NULL,
    value TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_to INTEGER,
    recorded_at INTEGER NOT NULL,
    confidence REAL NOT NULL,
    importance REAL NOT NULL,
    sources TEXT NOT NULL,
    tags TEXT NOT NULL,
    entities TEXT NOT NULL,
    expires_at INTEGER,
    superseded_by TEXT,
    token_count INTEGER NOT NULL,
    lexical_length INTEGER NOT NULL,
    lexical_terms TEXT NOT NULL
);
CREATE UNIQUE INDEX facts_id ON facts (tenant_id, fact_id);
CREATE INDEX facts_newest ON facts (tenant_id, space, status, recorded_at DESC, seq DESC);
CREATE INDEX facts_important ON facts (tenant_id, space, status, importance DESC, recorded_at DESC, seq DESC);
-- The active version of a key (upsert) and a key's history.
CREATE INDEX facts_key ON facts (tenant_id, space, fact_key, status);

CREATE TABLE episodes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    episode_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    space TEXT NOT NULL,
    scope_level TEXT NOT NULL,
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    summary TEXT NOT NULL,
    highlights TEXT NOT NULL,
    tags TEXT NOT NULL,
    entities TEXT NOT NULL,
    sources TEXT NOT NULL,
    compression_level TEXT NOT NULL,
    importance REAL NOT NULL,
    token_count INTEGER NOT NULL,
    expires_at INTEGER,
    lexical_length INTEGER NOT NULL,
    lexical_terms TEXT NOT NULL
);
CREATE UNIQUE INDEX episodes_id ON episodes (tenant_id, episode_id);
CREATE INDEX episodes_newest ON episodes (tenant_id, space, end_ts DESC, seq DESC);
CREATE INDEX episodes_important ON episodes (tenant_id, space, importance DESC, end_ts DESC, seq DESC);

CREATE TABLE procedures (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    procedure_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    space TEXT NOT NULL,
    scope_level TEXT NOT NULL,
    task_type TEXT NOT NULL,
    title TEXT NOT NULL,
    steps TEXT NOT NULL,
    content TEXT,
    text TEXT NOT NULL,
    priority REAL NOT NULL,
    applicability TEXT,
    tags TEXT NOT NULL,
    entities TEXT NOT NULL,
    use_count INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    token_count INTEGER NOT NULL,
    expires_at INTEGER,
    lexical_length INTEGER NOT NULL,
    lexical_terms TEXT NOT NULL
);
CREATE UNIQUE INDEX procedures_id ON procedures (tenant_id, procedure_id);
CREATE INDEX procedures_newest ON procedures (tenant_id, space, updated_at DESC, seq DESC);
CREATE INDEX procedures_important ON procedures (tenant_id, space, priority DESC, updated_at DESC, seq DESC);

CREATE TABLE insights (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    insight_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    space TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    confidence REAL NOT NULL,
    validation TEXT NOT NULL,
    tags TEXT NOT NULL,
    entities TEXT NOT NULL,
    sources TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    token_count INTEGER NOT NULL,
    lexical_length INTEGER NOT NULL,
    lexical_terms TEXT NOT NULL
);
CREATE UNIQUE INDEX insights_id ON insights (tenant_id, insight_id);
-- Insight spaces are per run already, so Reach::Run only re-checks session_id on the rows read.
CREATE INDEX insights_newest ON insights (tenant_id, space, created_at DESC, seq DESC);
CREATE INDEX insights_important ON insights (tenant_id, space, confidence DESC, created_at DESC, seq DESC);

-- One row per run; `state` is the WorkingState as JSON (version included), `version` repeated
-- for stats.
CREATE TABLE working_states (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, agent_id, session_id, run_id)
) WITHOUT ROWID;

-- One row per session: the ShortTermState as JSON.
CREATE TABLE short_terms (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, agent_id, session_id)
) WITHOUT ROWID;

-- Lexical index (DESIGN.md "Lexical index").
--
-- A (tenant, kind, space) gets a small integer id; tokens are `{space_id}x{hex(term)}`, so
-- tenants and spaces never share a token and a token's doclist holds one space's documents only.
CREATE TABLE lexical_spaces (
    space_id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    space TEXT NOT NULL
);
CREATE UNIQUE INDEX lexical_spaces_key ON lexical_spaces (tenant_id, kind, space);

-- Document frequency per (space, term), maintained by the writer in the record's transaction:
-- one upsert per distinct term per transaction, so reading a df is one point lookup.
CREATE TABLE lexical_terms (
    tenant_id TEXT NOT NULL,
    space_id INTEGER NOT NULL,
    term TEXT NOT NULL,
    df INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, space_id, term)
) WITHOUT ROWID;

-- Documents and summed lexical length per space, for BM25's average length.
CREATE TABLE lexical_totals (
    tenant_id TEXT NOT NULL,
    space_id INTEGER NOT NULL,
    documents INTEGER NOT NULL,
    total_length INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, space_id)
) WITHOUT ROWID;

-- Postings: FTS5 used purely as a postings store (no MATCH ranking, no bm25()). Contentless,
-- rowid = the record's seq, detail=none (only which documents hold a token), the ascii
-- tokenizer splitting the Rust-made tokens on spaces. Read newest first with
-- `MATCH '"token"' ORDER BY rowid DESC LIMIT K`, which walks one token's doclist backwards.
CREATE VIRTUAL TABLE event_postings USING fts5(tokens, content='', contentless_delete=1, detail='none', tokenize='ascii');
CREATE VIRTUAL TABLE fact_postings USING fts5(tokens, content='', contentless_delete=1, detail='none', tokenize='ascii');
CREATE VIRTUAL TABLE episode_postings USING fts5(tokens, content='', contentless_delete=1, detail='none', tokenize='ascii');
CREATE VIRTUAL TABLE procedure_postings USING fts5(tokens, content='', contentless_delete=1, detail='none', tokenize='ascii');
CREATE VIRTUAL TABLE insight_postings USING fts5(tokens, content='', contentless_delete=1, detail='none', tokenize='ascii');
