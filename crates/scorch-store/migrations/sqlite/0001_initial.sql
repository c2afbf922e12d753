-- The orchestration database, SQLite dialect. Kept translatable to PostgreSQL: UUIDs are 16-byte
-- BLOBs (uuid there), times are INTEGER unix microseconds (bigint), JSON is compact TEXT (jsonb),
-- booleans are 0/1 INTEGERs (boolean), and no SQLite-only column type is used.

-- The folder tree. The root folder has the empty path and no parent.
CREATE TABLE folders (
    id BLOB PRIMARY KEY NOT NULL,
    parent_id BLOB REFERENCES folders (id),
    name TEXT NOT NULL,
    -- '/'-joined names from the root: the lookup key for "Operations/Web".
    path TEXT NOT NULL UNIQUE
);
CREATE INDEX folders_parent ON folders (parent_id);

CREATE TABLE runbooks (
    id BLOB PRIMARY KEY NOT NULL,
    folder_id BLOB NOT NULL REFERENCES folders (id),
    name TEXT NOT NULL,
    latest_version INTEGER NOT NULL,
    checked_out_by TEXT,
    UNIQUE (folder_id, name)
);

CREATE TABLE runbook_versions (
    runbook_id BLOB NOT NULL REFERENCES runbooks (id),
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (runbook_id, version)
);

-- Parameters and activities of each version, with their own UUIDs so that identities from
-- imported Orchestrator exports survive, and stay the same from one version to the next.
CREATE TABLE runbook_parameters (
    runbook_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    id BLOB NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    default_value TEXT,
    PRIMARY KEY (runbook_id, version, id),
    UNIQUE (runbook_id, version, name),
    FOREIGN KEY (runbook_id, version) REFERENCES runbook_versions (runbook_id, version)
);

CREATE TABLE runbook_activities (
    runbook_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    id BLOB NOT NULL,
    position INTEGER NOT NULL,
    activity_key TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    PRIMARY KEY (runbook_id, version, id),
    UNIQUE (runbook_id, version, activity_key),
    FOREIGN KEY (runbook_id, version) REFERENCES runbook_versions (runbook_id, version)
);

CREATE TABLE jobs (
    id BLOB PRIMARY KEY NOT NULL,
    runbook_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    parameters TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'canceled')),
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    -- The runbook server holding the job and until when: another server may take it over
    -- once the lease has expired.
    claimed_by TEXT,
    lease_expires_at INTEGER,
    FOREIGN KEY (runbook_id, version) REFERENCES runbook_versions (runbook_id, version)
);
CREATE INDEX jobs_status_created ON jobs (status, created_at);

CREATE TABLE instances (
    -- Internal key: keys the journal in a few bytes instead of a 16-byte UUID per run.
    id INTEGER PRIMARY KEY,
    uuid BLOB NOT NULL UNIQUE,
    job_id BLOB NOT NULL REFERENCES jobs (id),
    runbook_id BLOB NOT NULL REFERENCES runbooks (id),
    server TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'success', 'warning', 'failed', 'canceled')),
    parameters TEXT NOT NULL,
    -- NULL when the instance returned nothing.
    returns TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER
);
-- Retention by runbook and age, and "latest instances of a runbook", walk this index.
CREATE INDEX instances_runbook_started ON instances (runbook_id, started_at);
CREATE INDEX instances_job ON instances (job_id);

-- The journal: one row per activity run (attempt). Clustered on (instance, seq) so that one
-- instance's runs are contiguous: a resume reads, and a purge deletes, one key range. Kept small:
-- no per-run UUID, NULL for empty values.
CREATE TABLE activity_runs (
    instance_id INTEGER NOT NULL REFERENCES instances (id),
    seq INTEGER NOT NULL,
    -- The u64 RunKey's bits.
    run_key INTEGER NOT NULL,
    activity_id TEXT NOT NULL,
    -- NULL when the name is the id (the runbook format's default).
    activity_name TEXT,
    attempt INTEGER NOT NULL,
    -- 0 running, 1 success, 2 warning, 3 failed.
    state INTEGER NOT NULL,
    error TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    -- Published rows as a compact JSON array; NULL when there are none.
    published TEXT,
    truncated INTEGER NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;

-- Global settings. Encrypted variables are flagged here; their values are stored as given until
-- encryption at rest (with a key from the configuration) lands.
CREATE TABLE variables (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    encrypted INTEGER NOT NULL
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL,
    default_value INTEGER NOT NULL
);

CREATE TABLE runbook_servers (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    max_instances INTEGER NOT NULL DEFAULT 50,
    heartbeat_at INTEGER
);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id BLOB,
    detail TEXT
);
