-- `cost_per_day` is checked before every run (a serve request each): today's spend of one env,
-- read from this covering index instead of every run of the project.
CREATE INDEX runs_cost_by_env ON runs (project, env, started_at, cost);
