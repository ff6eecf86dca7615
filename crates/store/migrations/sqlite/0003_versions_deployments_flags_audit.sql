-- Versions: immutable snapshots of a chain's definition, compressed.
CREATE TABLE versions (
    id         INTEGER PRIMARY KEY,
    project    TEXT NOT NULL,
    chain      TEXT NOT NULL,
    seq        INTEGER NOT NULL,          -- 1, 2, 3… per chain: the N of an automatic `v<N>`
    hash       TEXT NOT NULL,
    tag        TEXT,
    author     TEXT NOT NULL,
    note       TEXT,
    created_at TEXT NOT NULL,
    files      BLOB NOT NULL,             -- deflate of the JSON list of {path, content (base64)}
    UNIQUE (project, chain, hash),
    UNIQUE (project, chain, seq),
    UNIQUE (project, chain, tag)
);

-- Deployments: every move of the (chain, env) pointer is a row; the newest row is the pointer.
CREATE TABLE deployments (
    id            TEXT PRIMARY KEY,
    project       TEXT NOT NULL,
    chain         TEXT NOT NULL,
    env           TEXT NOT NULL,
    version_id    INTEGER NOT NULL REFERENCES versions (id),
    config        TEXT NOT NULL,          -- the merged env config without secret values (JSON)
    config_hash   TEXT NOT NULL,
    previous_id   TEXT REFERENCES deployments (id),
    action        TEXT NOT NULL,          -- deploy | redeploy | rollback
    config_diff   TEXT,                   -- JSON: keys changed since the previous deployment
    actor         TEXT NOT NULL,
    reason        TEXT,
    created_at    TEXT NOT NULL,
    seq           INTEGER NOT NULL        -- order of pointer moves per (chain, env)
);
CREATE UNIQUE INDEX deployments_by_pointer ON deployments (project, chain, env, seq);

-- Flags: per-environment values that ${FLAG:then:else} reads at the next run.
CREATE TABLE flags (
    project    TEXT NOT NULL,
    env        TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (project, env, name)
);

-- The audit log: append-only, each row's hash covers its columns and the previous row's hash.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    project   TEXT NOT NULL,
    chain     TEXT,
    env       TEXT,
    subject   TEXT,
    detail    TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
-- A first line of defence only: `audit --verify` does not rely on these.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
