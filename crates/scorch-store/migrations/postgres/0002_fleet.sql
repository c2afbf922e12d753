-- A fleet of runbook servers around one database: job claiming with leases, cancellation, the
-- runbook settings a claim honours, server capacity, and users, tokens and folder permissions.
-- The same columns and meaning as migrations/sqlite/0002_fleet.sql, in PostgreSQL types (lists of
-- names are text[] here, JSON lists there).

-- Jobs: the job that started this one (invoke_runbook), the instance a claim made (kept when the
-- job fails over, so the next server continues it), a cancellation for the holder to act on, and
-- when the job ended.
ALTER TABLE jobs
    ADD COLUMN parent_job uuid,
    ADD COLUMN instance_id uuid,
    ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false,
    ADD COLUMN ended_at bigint;
-- Small partial indexes: the claim queue (pending and running jobs, oldest first), a runbook's
-- running count (its concurrency) and the jobs a server holds (lease renewal).
CREATE INDEX jobs_queue ON jobs (created_at, id) WHERE status IN ('pending', 'running');
CREATE INDEX jobs_running_runbook ON jobs (runbook_id) WHERE status = 'running';
CREATE INDEX jobs_running_server ON jobs (claimed_by) WHERE status = 'running';
CREATE INDEX jobs_parent ON jobs (parent_job) WHERE parent_job IS NOT NULL;
CREATE INDEX jobs_runbook_created ON jobs (runbook_id, created_at);

-- What a claim honours and a listing shows, extracted from the definition when a version is saved:
-- the runbook's `concurrency` (jobs running at once), its preferred `runbook_servers` (names, in
-- order) and its `description`.
ALTER TABLE runbook_versions
    ADD COLUMN concurrency integer NOT NULL DEFAULT 1,
    ADD COLUMN runbook_servers text[] NOT NULL DEFAULT '{}',
    ADD COLUMN description text;
UPDATE runbook_versions SET
    concurrency = GREATEST(1, COALESCE((d ->> 'concurrency')::numeric::integer, 1)),
    runbook_servers = COALESCE(ARRAY(SELECT json_array_elements_text(d -> 'runbook_servers')), '{}'),
    description = d ->> 'description'
FROM (SELECT runbook_id AS id, version AS v, definition::json AS d FROM runbook_versions) parsed
WHERE parsed.id = runbook_versions.runbook_id AND parsed.v = runbook_versions.version
    AND json_typeof(parsed.d) = 'object';

-- Runbook servers: instances running at the last heartbeat, and the integration packs.
ALTER TABLE runbook_servers
    ADD COLUMN running integer NOT NULL DEFAULT 0,
    ADD COLUMN packs text[] NOT NULL DEFAULT '{}';

CREATE TABLE users (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    admin boolean NOT NULL,
    -- argon2 PHC string; NULL for a token-only user.
    password_hash text,
    created_at bigint NOT NULL
);

-- API tokens by the SHA-256 (hex) of their secret: the secret itself is never stored.
CREATE TABLE tokens (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    hash text NOT NULL UNIQUE,
    label text NOT NULL,
    created_at bigint NOT NULL,
    revoked boolean NOT NULL DEFAULT false
);
CREATE INDEX tokens_user ON tokens (user_id);

-- A role on a folder path ('' is the root) and everything under it; one grant per user and folder.
CREATE TABLE grants (
    user_id uuid NOT NULL REFERENCES users (id),
    folder text NOT NULL,
    role text NOT NULL CHECK (role IN ('viewer', 'operator', 'author', 'admin')),
    PRIMARY KEY (user_id, folder)
);
