-- A fleet of runbook servers around one database: job claiming with leases, cancellation, the
-- runbook settings a claim honours, server capacity, and users, tokens and folder permissions.
-- Same conventions as 0001 (UUIDs as BLOBs, times as unix microseconds, JSON as TEXT, 0/1 booleans).

-- Jobs: the job that started this one (invoke_runbook), the instance a claim made (kept when the
-- job fails over, so the next server continues it), a cancellation for the holder to act on, and
-- when the job ended.
ALTER TABLE jobs ADD COLUMN parent_job BLOB;
ALTER TABLE jobs ADD COLUMN instance_id BLOB;
ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN ended_at INTEGER;
-- Small partial indexes over running jobs only: a runbook's running count (its concurrency) and
-- the jobs a server holds (lease renewal).
CREATE INDEX jobs_running_runbook ON jobs (runbook_id) WHERE status = 'running';
CREATE INDEX jobs_running_server ON jobs (claimed_by) WHERE status = 'running';
CREATE INDEX jobs_parent ON jobs (parent_job) WHERE parent_job IS NOT NULL;

-- What a claim honours and a listing shows, extracted from the definition when a version is saved:
-- the runbook's `concurrency` (jobs running at once), its preferred `runbook_servers` (a JSON list
-- of names, in order) and its `description`.
ALTER TABLE runbook_versions ADD COLUMN concurrency INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runbook_versions ADD COLUMN runbook_servers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runbook_versions ADD COLUMN description TEXT;
UPDATE runbook_versions SET
    concurrency = MAX(1, COALESCE(json_extract(definition, '$.concurrency'), 1)),
    runbook_servers = COALESCE(json_extract(definition, '$.runbook_servers'), '[]'),
    description = json_extract(definition, '$.description')
WHERE json_valid(definition) AND json_type(definition) = 'object';

-- Runbook servers: instances running at the last heartbeat, and the integration packs (JSON list).
ALTER TABLE runbook_servers ADD COLUMN running INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runbook_servers ADD COLUMN packs TEXT NOT NULL DEFAULT '[]';

CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    admin INTEGER NOT NULL,
    -- argon2 PHC string; NULL for a token-only user.
    password_hash TEXT,
    created_at INTEGER NOT NULL
);

-- API tokens by the SHA-256 (hex) of their secret: the secret itself is never stored.
CREATE TABLE tokens (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id),
    hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens (user_id);

-- A role on a folder path ('' is the root) and everything under it; one grant per user and folder.
CREATE TABLE grants (
    user_id BLOB NOT NULL REFERENCES users (id),
    folder TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'author', 'admin')),
    PRIMARY KEY (user_id, folder)
);
