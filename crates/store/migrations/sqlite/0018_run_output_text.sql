-- DESIGN.md §11: a run's files stay on the machine that ran it (`owner_host`); the database
-- keeps its output's text too (at most 64 KiB), so a PM on another machine reads it.
ALTER TABLE runs ADD COLUMN output_text TEXT;
