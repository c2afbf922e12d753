-- The kind of a failed run's error (`invalid_input`, `failed`, `transient`, `timed_out`,
-- `canceled`; NULL when the run did not fail): a resumed instance continues an activity's retries
-- from it, and the API shows it.
ALTER TABLE activity_runs ADD COLUMN error_kind TEXT;
