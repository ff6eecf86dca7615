-- `runs --version` and `runs --status` over large histories: range scans instead of a full scan.
CREATE INDEX runs_by_version ON runs (version_hash, started_at);
CREATE INDEX runs_by_tag ON runs (version_tag, started_at);
CREATE INDEX runs_by_status ON runs (status, started_at);
