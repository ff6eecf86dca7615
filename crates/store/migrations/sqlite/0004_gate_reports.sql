-- Gate reports: each gate run's structured report with its evidence, linked to its runs.
CREATE TABLE gate_reports (
    id           TEXT PRIMARY KEY,
    project      TEXT NOT NULL,
    chain        TEXT NOT NULL,
    env          TEXT NOT NULL,
    version_hash TEXT NOT NULL,
    gate         TEXT NOT NULL,
    status       TEXT NOT NULL,
    summary      TEXT NOT NULL,
    report       TEXT NOT NULL,         -- the whole report as JSON (evidence, run ids)
    created_at   TEXT NOT NULL
);
CREATE INDEX gate_reports_by_version ON gate_reports (project, chain, version_hash, gate, created_at);
