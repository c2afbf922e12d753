-- The job path in fewer round trips (PostgreSQL only: SQLite runs these steps in its own process,
-- where a statement is a call rather than a round trip).

-- Sends `items` (JSON change items, see postgres/changes.rs) as few `scorch_changes` notifications
-- as fit PostgreSQL's payload limit (8000 bytes; kept under 7800), in order. Returns how many were
-- sent. Statements that write several changes announce them with one call.
CREATE FUNCTION scorch_notify(items text[]) RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    payload text := '';
    item text;
    sent integer := 0;
BEGIN
    IF items IS NULL THEN
        RETURN 0;
    END IF;
    FOREACH item IN ARRAY items LOOP
        IF payload <> '' AND octet_length(payload) + octet_length(item) + 3 > 7800 THEN
            PERFORM pg_notify('scorch_changes', '[' || payload || ']');
            sent := sent + 1;
            payload := '';
        END IF;
        payload := CASE WHEN payload = '' THEN item ELSE payload || ',' || item END;
    END LOOP;
    IF payload <> '' THEN
        PERFORM pg_notify('scorch_changes', '[' || payload || ']');
        sent := sent + 1;
    END IF;
    RETURN sent;
END
$$;

-- The claim's two queues, each read in claim order from an index of its own: pending jobs, and
-- running jobs by lease (a job handed back has none), whose expired head is what a claim takes
-- over. They replace jobs_queue, which mixed the two and made every claim step over the live leases.
DROP INDEX jobs_queue;
CREATE INDEX jobs_pending ON jobs (created_at, id) WHERE status = 'pending';
CREATE INDEX jobs_lease ON jobs ((COALESCE(lease_expires_at, 0))) WHERE status = 'running';

-- Takes up to `max_jobs` jobs for runbook server `claimer`, oldest first, in one call (one round
-- trip, one commit): the algorithm of one claim (postgres/jobs.rs), repeated.
--  1. the oldest job the server may take: pending with a free slot in its runbook's concurrency,
--     or running without a live lease; preferred runbook servers honoured (alive: heartbeat within
--     `alive_us`); `FOR UPDATE SKIP LOCKED`, so concurrent claims take different jobs;
--  2. for a pending job, the runbook's transaction-level advisory lock: waited for if this claim
--     holds none yet, else only tried (so claims cannot deadlock); a runbook whose lock is busy or
--     whose slots are gone is skipped for the rest of the claim;
--  3. under the lock, the runbook's running jobs counted in a statement of its own: a VOLATILE
--     function's every statement has a fresh snapshot, so the count sees every claim committed
--     before the lock was granted. The claim keeps the count (plus its own takes) for the rest of
--     its run: holding the runbook's lock, no other claim starts its jobs meanwhile, and jobs that
--     end only free slots, so the kept count is never below the truth (counting the index entries
--     of a busy runbook's running jobs again for every take is what a claim would spend most on);
--  4. the take: the job marked running under a lease (on the database's clock), its instance id
--     kept or made.
-- `new_instances` holds a new instance id per job that may be taken (a job keeps the one it has).
-- Every take is announced in one notification; `resume` says whether the job was running (its
-- instance is continued). The claim's commit does not wait for its WAL flush: nothing acts on a
-- claim before the instance's first durable journal record, whose flush covers the claim too, and
-- a claim lost in a database crash only leaves the job pending, to be claimed again.
CREATE FUNCTION scorch_claim_jobs(claimer text, lease_us bigint, alive_us bigint, max_jobs integer, new_instances uuid[])
RETURNS TABLE (
    id uuid, runbook_id uuid, version bigint, parameters text, status text, created_at bigint, created_by text,
    parent_job uuid, claimed_by text, instance_id uuid, cancel_requested boolean, ended_at bigint,
    runbook_name text, latest_version bigint, checked_out_by text, folder_path text, resume boolean
) LANGUAGE plpgsql VOLATILE
-- Plans made once per connection: planning the candidate query for each take costs more than
-- running it.
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    now_us bigint := scorch_now_us();
    skipped uuid[] := '{}';
    holds_lock boolean := false;
    taken integer := 0;
    rejected integer := 0;
    candidate record;
    lock_key bigint;
    -- The takes' change items not announced yet, packed as scorch_notify packs them.
    payload text := '';
    item text;
    -- The runbooks this claim holds the lock of, and their running jobs (counted, plus taken).
    counted uuid[] := '{}';
    running integer[] := '{}';
    slot integer;
    -- The last pending job taken: the next one is after it (so each take reads the pending queue
    -- from there, not past this claim's earlier takes again).
    after_at bigint := -9223372036854775808;
    after_id uuid := '00000000-0000-0000-0000-000000000000';
BEGIN
    WHILE taken < max_jobs AND rejected < 16 LOOP
        -- The oldest of: the oldest pending job with a free slot, and the oldest running job
        -- without a live lease (each locked, skipping rows other claims hold). Each job's version
        -- is checked in a lateral subquery of its own (OFFSET 0 keeps it one): the pending queue
        -- is read in claim order from jobs_pending and stops at the first job that qualifies,
        -- rather than joining every pending job to every runbook version (the preferred servers
        -- and the running count computed for each) and sorting.
        SELECT c.id, c.runbook_id, c.status, c.created_at, c.concurrency INTO candidate FROM (
            SELECT * FROM (
                SELECT j.id, j.runbook_id, j.status, j.created_at, v.concurrency
                FROM jobs j
                CROSS JOIN LATERAL (
                    SELECT v.concurrency FROM runbook_versions v
                    WHERE v.runbook_id = j.runbook_id AND v.version = j.version
                      AND (cardinality(v.runbook_servers) = 0
                           OR (SELECT p.name FROM unnest(v.runbook_servers) WITH ORDINALITY AS p(name, n)
                                 JOIN runbook_servers s ON s.name = p.name AND s.heartbeat_at >= now_us - alive_us
                               ORDER BY p.n LIMIT 1) = claimer
                           OR (NOT (claimer = ANY (v.runbook_servers))
                               AND NOT EXISTS (SELECT 1 FROM runbook_servers s
                                               WHERE s.name = ANY (v.runbook_servers)
                                                 AND s.heartbeat_at >= now_us - alive_us)))
                      AND COALESCE(running[array_position(counted, j.runbook_id)],
                                   (SELECT COUNT(*) FROM jobs r WHERE r.runbook_id = j.runbook_id AND r.status = 'running'))
                          < v.concurrency
                    OFFSET 0) v
                WHERE j.status = 'pending' AND (j.created_at, j.id) > (after_at, after_id)
                  AND NOT (j.runbook_id = ANY (skipped))
                ORDER BY j.created_at, j.id
                LIMIT 1
                FOR UPDATE OF j SKIP LOCKED) pending
            UNION ALL
            SELECT * FROM (
                SELECT j.id, j.runbook_id, j.status, j.created_at, v.concurrency
                FROM jobs j
                CROSS JOIN LATERAL (
                    SELECT v.concurrency FROM runbook_versions v
                    WHERE v.runbook_id = j.runbook_id AND v.version = j.version
                      AND (cardinality(v.runbook_servers) = 0
                           OR (SELECT p.name FROM unnest(v.runbook_servers) WITH ORDINALITY AS p(name, n)
                                 JOIN runbook_servers s ON s.name = p.name AND s.heartbeat_at >= now_us - alive_us
                               ORDER BY p.n LIMIT 1) = claimer
                           OR (NOT (claimer = ANY (v.runbook_servers))
                               AND NOT EXISTS (SELECT 1 FROM runbook_servers s
                                               WHERE s.name = ANY (v.runbook_servers)
                                                 AND s.heartbeat_at >= now_us - alive_us)))
                    OFFSET 0) v
                WHERE j.status = 'running' AND COALESCE(j.lease_expires_at, 0) < now_us
                  AND NOT (j.runbook_id = ANY (skipped))
                ORDER BY j.created_at, j.id
                LIMIT 1
                FOR UPDATE OF j SKIP LOCKED) expired
        ) c
        ORDER BY c.created_at, c.id
        LIMIT 1;
        EXIT WHEN NOT FOUND;

        slot := NULL;
        IF candidate.status = 'pending' THEN
            slot := array_position(counted, candidate.runbook_id);
            IF slot IS NULL THEN
                -- The same key as the runbook's UUID halves XORed (postgres/jobs.rs).
                lock_key := ('x' || substr(replace(candidate.runbook_id::text, '-', ''), 1, 16))::bit(64)::bigint
                    # ('x' || substr(replace(candidate.runbook_id::text, '-', ''), 17, 16))::bit(64)::bigint;
                IF NOT holds_lock THEN
                    PERFORM pg_advisory_xact_lock(lock_key);
                    holds_lock := true;
                ELSIF NOT pg_try_advisory_xact_lock(lock_key) THEN
                    skipped := skipped || candidate.runbook_id;
                    rejected := rejected + 1;
                    CONTINUE;
                END IF;
                counted := counted || candidate.runbook_id;
                running := running || (SELECT COUNT(*)::integer FROM jobs r
                                       WHERE r.runbook_id = candidate.runbook_id AND r.status = 'running');
                slot := cardinality(counted);
            END IF;
            IF running[slot] >= candidate.concurrency THEN
                -- Another claim took the last slot before this one had the lock.
                skipped := skipped || candidate.runbook_id;
                rejected := rejected + 1;
                CONTINUE;
            END IF;
        END IF;

        RETURN QUERY
        WITH t AS (
            UPDATE jobs SET status = 'running', claimed_by = claimer, lease_expires_at = scorch_now_us() + lease_us,
                instance_id = COALESCE(jobs.instance_id, new_instances[taken + 1])
            WHERE jobs.id = candidate.id
            RETURNING jobs.*)
        SELECT t.id, t.runbook_id, t.version, t.parameters, t.status, t.created_at, t.created_by, t.parent_job,
            t.claimed_by, t.instance_id, t.cancel_requested, t.ended_at, r.name, r.latest_version,
            r.checked_out_by, f.path, candidate.status = 'running'
        FROM t JOIN runbooks r ON r.id = t.runbook_id JOIN folders f ON f.id = r.folder_id;
        IF NOT FOUND THEN
            skipped := skipped || candidate.runbook_id;
            rejected := rejected + 1;
            CONTINUE;
        END IF;
        taken := taken + 1;
        IF slot IS NOT NULL THEN
            running[slot] := running[slot] + 1;
            after_at := candidate.created_at;
            after_id := candidate.id;
        END IF;
        item := json_build_object('j', json_build_array(candidate.id, candidate.runbook_id, 'running'))::text;
        IF payload <> '' AND octet_length(payload) + octet_length(item) + 3 > 7800 THEN
            PERFORM pg_notify('scorch_changes', '[' || payload || ']');
            payload := '';
        END IF;
        payload := CASE WHEN payload = '' THEN item ELSE payload || ',' || item END;
    END LOOP;
    IF taken > 0 THEN
        PERFORM set_config('synchronous_commit', 'off', true);
        PERFORM pg_notify('scorch_changes', '[' || payload || ']');
    END IF;
END
$$;
