-- What activity runs printed while they ran (live output): chunks of a run's stdout and stderr,
-- keyed like the journal, (instance, seq), then by where the chunk starts in the run's output
-- (bytes): a reader resumes from an offset, and a purge deletes one key range per instance with
-- the instance's runs. At most 1 MiB per run (the runbook server bounds it).
CREATE TABLE activity_output (
    instance_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    -- 0 stdout, 1 stderr.
    stream INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq, at)
) WITHOUT ROWID;
