-- Jobs and instances by the last 8 hex digits of their id, as the console shows them and people
-- type them (`scorch job show 9c1f0a2b`): ids are UUID v7, whose first digits are a timestamp, so
-- only their last digits tell jobs started together apart. A prefix is a range of the key (uuids
-- compare as their bytes) and needs no index of its own; the lookup uses the same expression.
CREATE INDEX jobs_id_tail ON jobs (right(id::text, 8));
CREATE INDEX instances_uuid_tail ON instances (right(uuid::text, 8));
