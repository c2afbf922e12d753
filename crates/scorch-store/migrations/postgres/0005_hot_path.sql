-- The job path's writes, cheaper.
--
-- The foreign keys of jobs and instances to the rows every job of a runbook shares go: each
-- insert's check locked the parent row (the runbook's version, the runbook) FOR KEY SHARE, a
-- WAL-logged lock that concurrent inserts turn into multixacts. The statements that add these
-- rows check their parents themselves (a new job joins its runbook version; an instance start
-- checks its job and runbook exist), and retention deletes children before parents. A run's key
-- to its instance stays: only its own instance's writer locks that row.
ALTER TABLE jobs DROP CONSTRAINT jobs_runbook_id_version_fkey;
ALTER TABLE instances DROP CONSTRAINT instances_job_id_fkey;
ALTER TABLE instances DROP CONSTRAINT instances_runbook_id_fkey;
-- Superseded by jobs_pending and jobs_lease (claims) and jobs_created (lists): every status
-- change of every job wrote an entry to it.
DROP INDEX jobs_status_created;

-- A claim takes its jobs in one update instead of one per job: the same rules as version 3's
-- (see there), applied to a batch.
--  1. jobs whose lease expired (their server stopped), longest expired first, that this server may take
--     (preferred servers), locked FOR UPDATE SKIP LOCKED; they are running already, so they use
--     no slot of their runbook's concurrency;
--  2. pending jobs in queue order, read from jobs_pending in rounds of the jobs still wanted and
--     locked as read (SKIP LOCKED); for each runbook met, its advisory lock (the first one waited
--     for, later ones only tried, so claims cannot deadlock) and then its running jobs counted
--     once, in a statement of its own (a fresh snapshot, which sees every claim committed before
--     the lock was granted); a job is taken while its version's concurrency has a free slot, and
--     a runbook without one (or whose lock is busy) is passed over for the rest of the claim;
--  3. one update marks them all running under a lease and gives each its instance id, and one
--     notification announces them.
CREATE OR REPLACE FUNCTION scorch_claim_jobs(claimer text, lease_us bigint, alive_us bigint, max_jobs integer, new_instances uuid[])
RETURNS TABLE (
    id uuid, runbook_id uuid, version bigint, parameters text, status text, created_at bigint, created_by text,
    parent_job uuid, claimed_by text, instance_id uuid, cancel_requested boolean, ended_at bigint,
    runbook_name text, latest_version bigint, checked_out_by text, folder_path text, resume boolean
) LANGUAGE plpgsql VOLATILE
-- Plans made once per connection: planning these queries costs more than running them.
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    now_us bigint := scorch_now_us();
    -- The jobs taken, in the order they are returned; the first `resumed` were running.
    take uuid[];
    items text[];
    resumed integer;
    skipped uuid[] := '{}';
    holds_lock boolean := false;
    lock_key bigint;
    -- The runbooks whose lock this claim holds, and their running jobs (counted, plus taken).
    counted uuid[] := '{}';
    running integer[] := '{}';
    slot integer;
    candidate record;
    wanted integer;
    seen integer;
    rounds integer := 0;
    -- Where the next round reads the pending queue from: after the last job this claim saw.
    after_at bigint := -9223372036854775808;
    after_id uuid := '00000000-0000-0000-0000-000000000000';
BEGIN
    SELECT COALESCE(array_agg(e.id ORDER BY e.created_at, e.id), '{}'),
           COALESCE(array_agg(json_build_object('j', json_build_array(e.id, e.runbook_id, 'running'))::text
                              ORDER BY e.created_at, e.id), '{}')
    INTO take, items
    FROM (
        SELECT j.id, j.runbook_id, j.created_at FROM jobs j
        JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.version
        WHERE j.status = 'running' AND COALESCE(j.lease_expires_at, 0) < now_us
          AND (cardinality(v.runbook_servers) = 0
               OR (SELECT p.name FROM unnest(v.runbook_servers) WITH ORDINALITY AS p(name, n)
                     JOIN runbook_servers s ON s.name = p.name AND s.heartbeat_at >= now_us - alive_us
                   ORDER BY p.n LIMIT 1) = claimer
               OR (NOT (claimer = ANY (v.runbook_servers))
                   AND NOT EXISTS (SELECT 1 FROM runbook_servers s
                                   WHERE s.name = ANY (v.runbook_servers) AND s.heartbeat_at >= now_us - alive_us)))
        ORDER BY COALESCE(j.lease_expires_at, 0)
        LIMIT max_jobs
        FOR UPDATE OF j SKIP LOCKED) e;
    resumed := cardinality(take);

    WHILE cardinality(take) < max_jobs AND rounds < 8 LOOP
        rounds := rounds + 1;
        wanted := max_jobs - cardinality(take);
        seen := 0;
        FOR candidate IN
            SELECT j.id, j.runbook_id, j.created_at, v.concurrency FROM jobs j
            JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.version
            WHERE j.status = 'pending' AND (j.created_at, j.id) > (after_at, after_id)
              AND NOT (j.runbook_id = ANY (skipped))
              AND (cardinality(v.runbook_servers) = 0
                   OR (SELECT p.name FROM unnest(v.runbook_servers) WITH ORDINALITY AS p(name, n)
                         JOIN runbook_servers s ON s.name = p.name AND s.heartbeat_at >= now_us - alive_us
                       ORDER BY p.n LIMIT 1) = claimer
                   OR (NOT (claimer = ANY (v.runbook_servers))
                       AND NOT EXISTS (SELECT 1 FROM runbook_servers s
                                       WHERE s.name = ANY (v.runbook_servers) AND s.heartbeat_at >= now_us - alive_us)))
            ORDER BY j.created_at, j.id
            LIMIT wanted
            FOR UPDATE OF j SKIP LOCKED
        LOOP
            seen := seen + 1;
            after_at := candidate.created_at;
            after_id := candidate.id;
            CONTINUE WHEN candidate.runbook_id = ANY (skipped);
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
                    CONTINUE;
                END IF;
                counted := counted || candidate.runbook_id;
                running := running || (SELECT COUNT(*)::integer FROM jobs r
                                       WHERE r.runbook_id = candidate.runbook_id AND r.status = 'running');
                slot := cardinality(counted);
            END IF;
            IF running[slot] >= candidate.concurrency THEN
                skipped := skipped || candidate.runbook_id;
                CONTINUE;
            END IF;
            running[slot] := running[slot] + 1;
            take := take || candidate.id;
            items := items || json_build_object('j', json_build_array(candidate.id, candidate.runbook_id, 'running'))::text;
        END LOOP;
        -- The queue has no more jobs for this server.
        EXIT WHEN seen < wanted;
    END LOOP;

    IF cardinality(take) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH t AS (
        UPDATE jobs SET status = 'running', claimed_by = claimer, lease_expires_at = scorch_now_us() + lease_us,
            instance_id = COALESCE(jobs.instance_id, new_instances[array_position(take, jobs.id)])
        WHERE jobs.id = ANY (take)
        RETURNING jobs.*)
    SELECT t.id, t.runbook_id, t.version, t.parameters, t.status, t.created_at, t.created_by, t.parent_job,
        t.claimed_by, t.instance_id, t.cancel_requested, t.ended_at, r.name, r.latest_version,
        r.checked_out_by, f.path, array_position(take, t.id) <= resumed
    FROM t JOIN runbooks r ON r.id = t.runbook_id JOIN folders f ON f.id = r.folder_id
    ORDER BY array_position(take, t.id);
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM scorch_notify(items);
END
$$;

-- Job changes get a channel of their own, scorch_jobs: runbook servers (and job waiters) act on
-- job changes only, and a process that listens to nothing else is not woken by the several
-- changes of every activity run. Instance and run changes stay on scorch_changes.
CREATE OR REPLACE FUNCTION scorch_notify(items text[]) RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    jobs text := '';
    others text := '';
    item text;
    sent integer := 0;
BEGIN
    IF items IS NULL THEN
        RETURN 0;
    END IF;
    FOREACH item IN ARRAY items LOOP
        IF left(item, 4) = '{"j"' THEN
            IF jobs <> '' AND octet_length(jobs) + octet_length(item) + 3 > 7800 THEN
                PERFORM pg_notify('scorch_jobs', '[' || jobs || ']');
                sent := sent + 1;
                jobs := '';
            END IF;
            jobs := CASE WHEN jobs = '' THEN item ELSE jobs || ',' || item END;
        ELSE
            IF others <> '' AND octet_length(others) + octet_length(item) + 3 > 7800 THEN
                PERFORM pg_notify('scorch_changes', '[' || others || ']');
                sent := sent + 1;
                others := '';
            END IF;
            others := CASE WHEN others = '' THEN item ELSE others || ',' || item END;
        END IF;
    END LOOP;
    -- Instances' and runs' changes before jobs': a statement that ends both lists them in that order.
    IF others <> '' THEN
        PERFORM pg_notify('scorch_changes', '[' || others || ']');
        sent := sent + 1;
    END IF;
    IF jobs <> '' THEN
        PERFORM pg_notify('scorch_jobs', '[' || jobs || ']');
        sent := sent + 1;
    END IF;
    RETURN sent;
END
$$;
