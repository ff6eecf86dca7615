-- Project identity bound to the project's canonical root (DESIGN.md §2): the first folder to
-- open a name keeps it; another folder claiming the same name gets an id of its own, so it
-- cannot read that project's keychain entries, deployments or flags.
CREATE TABLE projects (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    root     TEXT NOT NULL UNIQUE,
    bound_at TEXT NOT NULL
);
