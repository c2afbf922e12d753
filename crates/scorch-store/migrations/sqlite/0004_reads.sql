-- The console's and the API's lists stay fast with a long history: jobs newest first (all, or
-- of one runbook) and instances newest first, each read from an index instead of a sort.
CREATE INDEX jobs_created ON jobs (created_at, id);
CREATE INDEX jobs_runbook_created ON jobs (runbook_id, created_at, id);
CREATE INDEX instances_started ON instances (started_at, id);
