-- Running jobs by server: every claim wrote an entry to it, and a job's end looked its job up
-- through it among all the server's running jobs. A job's end now finds its job by key, and the
-- lease renewal, the one read by server, reads the running jobs through jobs_lease, which holds
-- those alone.
DROP INDEX jobs_running_server;
