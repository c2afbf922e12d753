-- Schedules (global settings): a name and its definition, JSON as scorch-model's Schedule reads it.
CREATE TABLE schedules (
    name TEXT PRIMARY KEY NOT NULL,
    definition TEXT NOT NULL
);

-- What a monitor job's watcher last saved (the last scheduled time fired, a folder's listing),
-- so that the server taking the job over resumes from it.
CREATE TABLE monitor_checkpoints (
    job_id BLOB PRIMARY KEY NOT NULL,
    checkpoint TEXT NOT NULL,
    saved_at INTEGER NOT NULL
);

-- Every trigger of a monitor job, recorded before its instance starts, and every occurrence it
-- skipped or missed (a note: no instance). Unique by (job, key): a trigger seen twice (after a
-- takeover, or by two writers) is recorded once, by the database. seq orders a job's triggers.
CREATE TABLE triggers (
    seq INTEGER PRIMARY KEY,
    job_id BLOB NOT NULL,
    key TEXT NOT NULL,
    -- The instance the trigger starts; NULL for a note.
    instance_id BLOB,
    -- The published row (a JSON object), or a note's text.
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (job_id, key)
);
CREATE INDEX triggers_job_seq ON triggers (job_id, seq);

-- Webhooks: a hook's name to the runbook whose latest version starts with monitor_webhook on it;
-- kept at check-in, so a name belongs to one runbook.
CREATE TABLE hooks (
    name TEXT PRIMARY KEY NOT NULL,
    runbook_id BLOB NOT NULL
);
CREATE INDEX hooks_runbook ON hooks (runbook_id);
