-- DESIGN.md §9: one scheduler per env across serve processes. The holder renews its lease; a
-- lease past expires_at is free for another process to take.
CREATE TABLE serve_leases (
    project     TEXT NOT NULL,
    env         TEXT NOT NULL,
    holder      TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (project, env)
);

-- The last tick a scheduler handled per (chain, env): a scheduler that takes over, or comes
-- back, knows what it missed (`missed: skip | run_once`).
CREATE TABLE schedule_ticks (
    project   TEXT NOT NULL,
    chain     TEXT NOT NULL,
    env       TEXT NOT NULL,
    last_tick TEXT NOT NULL,
    PRIMARY KEY (project, chain, env)
);
