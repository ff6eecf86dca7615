-- Runs: one row per chain run, written when it starts and completed in one transaction.
CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    project       TEXT NOT NULL,
    chain         TEXT NOT NULL,
    env           TEXT NOT NULL,
    version_hash  TEXT NOT NULL,
    version_tag   TEXT,
    deployment_id TEXT,
    status        TEXT NOT NULL,
    input_file    TEXT,
    run_dir       TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    ended_at      TEXT,
    duration_ms   INTEGER,
    cost          REAL,
    tokens_in     INTEGER NOT NULL DEFAULT 0,
    tokens_out    INTEGER NOT NULL DEFAULT 0,
    output        TEXT,
    error         TEXT
);
CREATE INDEX runs_by_chain_env ON runs (project, chain, env, started_at);
CREATE INDEX runs_by_start ON runs (started_at);

CREATE TABLE run_steps (
    run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    agent           TEXT NOT NULL,
    model_requested TEXT NOT NULL,
    model_reported  TEXT,
    attempts        INTEGER NOT NULL,
    tokens_in       INTEGER NOT NULL,
    tokens_out      INTEGER NOT NULL,
    cost            REAL,
    duration_ms     INTEGER NOT NULL,
    status          TEXT NOT NULL,
    error           TEXT,
    PRIMARY KEY (run_id, seq)
);

-- Secret names and when they were set; values live only in the keychain.
CREATE TABLE secrets (
    project TEXT NOT NULL,
    env     TEXT NOT NULL,
    name    TEXT NOT NULL,
    set_at  TEXT NOT NULL,
    PRIMARY KEY (project, env, name)
);
