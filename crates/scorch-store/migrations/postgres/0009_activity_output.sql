-- What activity runs printed while they ran (live output): chunks of a run's stdout and stderr,
-- keyed like the journal, (instance, seq), then by where the chunk starts in the run's output
-- (bytes): a reader resumes from an offset, and a purge deletes one key range per instance with
-- the instance's runs. At most 1 MiB per run (the runbook server bounds it). No foreign key, as
-- for jobs and instances since 0005: retention deletes the chunks before their instance.
CREATE TABLE activity_output (
    instance_id bigint NOT NULL,
    seq bigint NOT NULL,
    at bigint NOT NULL,
    -- 0 stdout, 1 stderr.
    stream smallint NOT NULL,
    text text NOT NULL,
    PRIMARY KEY (instance_id, seq, at)
);
