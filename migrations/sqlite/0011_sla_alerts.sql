-- SLA warning and breach alerts (issue 11 item 5). (SQLite flavour; postgres/ holds the same schema.)
--
-- One row per alert queued: (request, target, level). The target is the
-- first response, the n-th next response (target_number n >= 1; 0 for the
-- other two) or the resolution; the level is the warning share or the
-- breach. The job (services::sla_alerts) inserts the row and queues the
-- mails in one transaction, and only queues them when the insert added
-- the row: two instances, or two runs of one, never mail twice.
CREATE TABLE sla_alerts (
    request_id    BIGINT NOT NULL REFERENCES requests (request_id),
    target        TEXT NOT NULL CHECK (target IN ('first_response', 'next_response', 'resolution')),
    target_number BIGINT NOT NULL CHECK (target_number >= 0),
    level         TEXT NOT NULL CHECK (level IN ('warning', 'breach')),
    recipients    BIGINT NOT NULL,                -- mails queued (0: nobody to tell)
    queued_at     TEXT NOT NULL,
    PRIMARY KEY (request_id, target, target_number, level),
    CHECK ((target = 'next_response') = (target_number > 0))
);

-- Jobs that run on a schedule, one row each: the instance that claims the
-- row (repo::leases::claim_due, as the outbox's rows are claimed) runs the
-- job and sets the next run; the others skip it. A claimer that dies
-- leaves a lease that runs out.
CREATE TABLE scheduled_jobs (
    name            TEXT PRIMARY KEY,
    next_attempt_at TEXT NOT NULL,
    locked_until    TEXT,
    attempts        BIGINT NOT NULL DEFAULT 0
);
INSERT INTO scheduled_jobs (name, next_attempt_at) VALUES ('sla_alerts', '1970-01-01T00:00:00.000000Z');
