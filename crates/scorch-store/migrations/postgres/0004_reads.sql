-- The console's and the API's lists stay fast with a long history: jobs and instances newest
-- first, read from an index instead of a sort (jobs of one runbook use jobs_runbook_created).
CREATE INDEX jobs_created ON jobs (created_at, id);
CREATE INDEX instances_started ON instances (started_at, id);
