-- DESIGN.md §2 and §11: a project's identity is bound per host. On one machine nothing changes
-- (host is '' on SQLite); on a team's PostgreSQL each machine binds its own folder to the
-- project's name, so a PM's checkout at another path is the same project, while a second
-- folder claiming the name on the same machine still gets an id of its own (the keychain it
-- guards is per machine).
CREATE TABLE projects_by_host (
    host     TEXT NOT NULL DEFAULT '',
    id       TEXT NOT NULL,
    name     TEXT NOT NULL,
    root     TEXT NOT NULL,
    bound_at TEXT NOT NULL,
    PRIMARY KEY (host, root),
    UNIQUE (host, id)
);
INSERT INTO projects_by_host (host, id, name, root, bound_at)
    SELECT '', id, name, root, bound_at FROM projects;
DROP TABLE projects;
ALTER TABLE projects_by_host RENAME TO projects;
