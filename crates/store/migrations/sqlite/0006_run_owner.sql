-- Runs record their owner (DESIGN.md §9): the host and process that run them and a heartbeat,
-- so a run whose process died ends `interrupted` instead of staying `running` for good.
ALTER TABLE runs ADD COLUMN owner_host TEXT;
ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
CREATE INDEX runs_live ON runs (status) WHERE status IN ('queued', 'running');
