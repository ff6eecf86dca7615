-- DESIGN.md §9: what started a run (manual, api, schedule, gate), filterable.
ALTER TABLE runs ADD COLUMN triggered_by TEXT NOT NULL DEFAULT 'manual';
CREATE INDEX runs_by_trigger ON runs (triggered_by, started_at);

-- serve's API: the same Idempotency-Key within 24 h returns the first run, never a second.
CREATE TABLE idempotency_keys (
    project    TEXT NOT NULL,
    key        TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project, key)
);
