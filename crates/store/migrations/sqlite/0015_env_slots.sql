-- DESIGN.md §11: an env's `concurrency` held in the database, so serve replicas share it. A row
-- is a slot an agent step holds while it runs; a slot whose heartbeat stopped (its process died)
-- is taken back by the next process that looks.
CREATE TABLE env_slots (
    project      TEXT NOT NULL,
    env          TEXT NOT NULL,
    slot         INTEGER NOT NULL,
    holder       TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    taken_at     TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    PRIMARY KEY (project, env, slot)
);
CREATE INDEX env_slots_by_run ON env_slots (run_id);
