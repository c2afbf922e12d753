-- Jobs and instances by the last 8 hex digits of their id, as the console shows them and people
-- type them (`scorch job show 9c1f0a2b`): ids are UUID v7, whose first digits are a timestamp, so
-- only their last digits tell jobs started together apart. A prefix is a range of the key and
-- needs no index of its own. `substr` of a blob reads its bytes; the lookup uses the same expression.
CREATE INDEX jobs_id_tail ON jobs (substr(id, 13, 4));
CREATE INDEX instances_uuid_tail ON instances (substr(uuid, 13, 4));
