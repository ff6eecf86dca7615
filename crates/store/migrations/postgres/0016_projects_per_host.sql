-- A project's identity is bound per host (see SQLite's 0016): each machine binds its own folder.
ALTER TABLE projects ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE projects DROP CONSTRAINT projects_pkey;
ALTER TABLE projects DROP CONSTRAINT projects_root_key;
ALTER TABLE projects ADD PRIMARY KEY (host, root);
ALTER TABLE projects ADD CONSTRAINT projects_host_id_key UNIQUE (host, id);
