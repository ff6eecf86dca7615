-- DESIGN.md §10: rollouts (canary steps, then the window) and their analyses.
--
-- The candidate of a canary is a `deployments` row with action 'canary': it records the version
-- and the config snapshot taken at its deploy, and runs routed to it name it, but it is not the
-- pointer (the pointer is the newest row that is not a canary). The full switch is an ordinary
-- 'deploy' row.
CREATE TABLE rollouts (
    id             TEXT PRIMARY KEY,
    project        TEXT NOT NULL,
    chain          TEXT NOT NULL,
    env            TEXT NOT NULL,
    promotion_id   TEXT REFERENCES promotions (id),
    stable_id      TEXT NOT NULL REFERENCES deployments (id),  -- what a rollback returns to
    canary_id      TEXT REFERENCES deployments (id),           -- the candidate while a canary
    switch_id      TEXT REFERENCES deployments (id),           -- the full switch (the window)
    weight         INTEGER NOT NULL CHECK (weight BETWEEN 0 AND 100),
    step           INTEGER NOT NULL DEFAULT 0,                 -- steps walked so far
    step_since     TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('monitoring', 'paused', 'stable', 'rolled_back')),
    policy         TEXT NOT NULL,                              -- the watch policy at the deploy (JSON)
    started_at     TEXT NOT NULL,
    analyzed_to    TEXT NOT NULL,                              -- the end of the newest analysis
    window_ends_at TEXT,
    ended_at       TEXT,
    reason         TEXT,
    actor          TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    rev            INTEGER NOT NULL DEFAULT 0,                 -- bumped by every change (compare-and-swap)
    CHECK (canary_id IS NOT NULL OR switch_id IS NOT NULL)
);
-- One open rollout per (chain, env): a second writer fails instead of racing.
CREATE UNIQUE INDEX rollouts_one_open ON rollouts (project, chain, env)
    WHERE state IN ('monitoring', 'paused');
CREATE INDEX rollouts_by_target ON rollouts (project, chain, env, started_at);

CREATE TABLE rollout_analyses (
    rollout_id      TEXT NOT NULL REFERENCES rollouts (id),
    interval_start  TEXT NOT NULL,
    interval_end    TEXT NOT NULL,
    at              TEXT NOT NULL,
    metric          TEXT NOT NULL CHECK (metric IN ('failure_rate', 'cost_ratio', 'latency_ratio', 'quality', 'model_drift')),
    verdict         TEXT NOT NULL CHECK (verdict IN ('successful', 'failed', 'inconclusive')),
    value           REAL,
    threshold       REAL,
    runs            INTEGER NOT NULL,
    candidate_value REAL,                                      -- for the charts: the candidate's
    stable_value    REAL,                                      -- and the stable's raw figure
    detail          TEXT,
    -- A restarted monitor never writes an interval twice.
    PRIMARY KEY (rollout_id, interval_end, metric)
);

-- Why a promotion's rollout ended the way it did (a PM reads it on the promotion).
ALTER TABLE promotions ADD COLUMN reason TEXT;

-- The runs of an interval are those that ended in it.
CREATE INDEX runs_by_end ON runs (project, chain, env, ended_at);

-- The closed sets of DESIGN.md §4 and §6, enforced by the database. SQLite adds a CHECK to an
-- existing table only by rebuilding it, which foreign keys into these tables make unsafe inside
-- a migration's transaction; these triggers refuse the same values (docs/DECISIONS.md).
CREATE TRIGGER promotions_state_insert BEFORE INSERT ON promotions
WHEN NEW.state NOT IN ('created', 'gates_running', 'gates_failed', 'awaiting_approval', 'approved',
                       'deployed', 'monitoring', 'paused', 'stable', 'rolled_back')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: promotions.state'); END;
CREATE TRIGGER promotions_state_update BEFORE UPDATE OF state ON promotions
WHEN NEW.state NOT IN ('created', 'gates_running', 'gates_failed', 'awaiting_approval', 'approved',
                       'deployed', 'monitoring', 'paused', 'stable', 'rolled_back')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: promotions.state'); END;
CREATE TRIGGER runs_status_insert BEFORE INSERT ON runs
WHEN NEW.status NOT IN ('queued', 'running', 'completed', 'failed', 'timed_out', 'budget_exceeded',
                        'cancelled', 'interrupted')
  OR NEW.triggered_by NOT IN ('manual', 'api', 'schedule', 'gate')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: runs.status or runs.triggered_by'); END;
CREATE TRIGGER runs_status_update BEFORE UPDATE OF status, triggered_by ON runs
WHEN NEW.status NOT IN ('queued', 'running', 'completed', 'failed', 'timed_out', 'budget_exceeded',
                        'cancelled', 'interrupted')
  OR NEW.triggered_by NOT IN ('manual', 'api', 'schedule', 'gate')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: runs.status or runs.triggered_by'); END;
CREATE TRIGGER deployments_action_insert BEFORE INSERT ON deployments
WHEN NEW.action NOT IN ('deploy', 'redeploy', 'rollback', 'canary')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: deployments.action'); END;

-- The change feed: a rollout moving is history the app shows.
CREATE TRIGGER feed_rollouts_insert AFTER INSERT ON rollouts
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_rollouts_update AFTER UPDATE ON rollouts
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_rollout_analyses_insert AFTER INSERT ON rollout_analyses
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
