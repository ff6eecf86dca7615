-- Promotions: a version moving to an env through its gates, checklist and approval.
CREATE TABLE promotions (
    id            TEXT PRIMARY KEY,
    project       TEXT NOT NULL,
    chain         TEXT NOT NULL,
    to_env        TEXT NOT NULL,
    version_id    INTEGER NOT NULL REFERENCES versions (id),
    state         TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    approved_by   TEXT,
    approved_at   TEXT,
    approval_note TEXT
);
CREATE INDEX promotions_by_target ON promotions (project, chain, to_env, version_id, created_at);

CREATE TABLE promotion_gates (
    promotion_id TEXT NOT NULL REFERENCES promotions (id),
    gate         TEXT NOT NULL,
    status       TEXT NOT NULL,          -- passed | failed | skipped | waived
    summary      TEXT NOT NULL,
    report       TEXT NOT NULL,          -- the gate report (JSON)
    waived_by    TEXT,
    waived_at    TEXT,
    waiver_note  TEXT,
    PRIMARY KEY (promotion_id, gate)
);

CREATE TABLE checklist_items (
    promotion_id TEXT NOT NULL REFERENCES promotions (id),
    key          TEXT NOT NULL,
    section      TEXT NOT NULL,
    kind         TEXT NOT NULL,          -- auto | manual
    state        TEXT NOT NULL,          -- passed | failed | waived | not_applicable | unticked | ticked
    evidence     TEXT,
    ticked_by    TEXT,
    ticked_at    TEXT,
    note         TEXT,
    PRIMARY KEY (promotion_id, key)
);
