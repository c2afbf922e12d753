-- Running jobs by server: every claim wrote an entry to it, and a job's end looked its job up
-- through it among all the server's running jobs. A job's end now finds its job by key, and the
-- lease renewal, the one read by server, reads the running jobs through jobs_lease, which holds
-- those alone.
DROP INDEX jobs_running_server;
-- A run's foreign key to its instance: its check ran once per run written, as an AFTER trigger
-- whose query locked the instance's row FOR KEY SHARE (a WAL record each). The journal's writer
-- looks the instance up by key in the statement that writes the run, and a run whose instance is
-- not there fails that statement as the check did; retention deletes an instance's runs before it.
ALTER TABLE activity_runs DROP CONSTRAINT activity_runs_instance_id_fkey;
