-- AR's queue with thousands of open requests (issue 11): each open
-- request's SLA position, folded once and kept beside it, so the queue is
-- sorted, filtered, counted and paged by the database instead of folding
-- every clock on every view. (SQLite flavour; postgres/ holds the same.)
--
-- What is kept does not depend on the time of the read: the instants the
-- earliest open target falls due and reaches its warning share, whether
-- the clock is paused, and whether a breach is in the record. With no new
-- event those instants stay fixed, so "breached" and "at risk" are
-- comparisons with now made by the query (a breach happens at its instant
-- without any write). The fold is still the domain's (`sla_clock`):
-- services::staff_requests recomputes a row when it is stale, that is when
-- its event count or the settings it was folded with changed.
--
-- sla_event_count is raised by a trigger on every event, whoever writes
-- it, in the event's transaction: no writer has to remember the cache.
ALTER TABLE requests ADD COLUMN sla_event_count BIGINT NOT NULL DEFAULT 0;
-- The event count and settings hash the columns below were folded from;
-- -1 / NULL: never folded.
ALTER TABLE requests ADD COLUMN sla_folded_events BIGINT NOT NULL DEFAULT -1;
ALTER TABLE requests ADD COLUMN sla_folded_settings BIGINT;
-- 1 while waiting on the customer (no due instants then).
ALTER TABLE requests ADD COLUMN sla_paused BIGINT NOT NULL DEFAULT 0;
-- The earliest due instant of an open target (past once breached).
ALTER TABLE requests ADD COLUMN sla_next_due TEXT;
-- The earliest instant an open target reaches its warning share.
ALTER TABLE requests ADD COLUMN sla_warn_at TEXT;
-- 1 when some target (met or not) breached: a breach stays in the record.
ALTER TABLE requests ADD COLUMN sla_breached BIGINT NOT NULL DEFAULT 0;
-- While paused: the fewest business minutes left of an open target (the
-- order among waiting requests); 0 otherwise.
ALTER TABLE requests ADD COLUMN sla_paused_left BIGINT NOT NULL DEFAULT 0;

UPDATE requests SET sla_event_count =
    (SELECT COUNT(*) FROM request_events e WHERE e.request_id = requests.request_id);

CREATE TRIGGER request_events_counted AFTER INSERT ON request_events
BEGIN
    UPDATE requests SET sla_event_count = sla_event_count + 1 WHERE request_id = NEW.request_id;
END;

-- The queue's order, over open requests only: an unfiltered page walks it.
CREATE INDEX requests_sla_queue
    ON requests (sla_paused, sla_next_due, sla_paused_left, opened_at, request_id)
    WHERE status IN ('open', 'waiting_on_customer');
-- The staleness check of every queue read: answered from this index alone.
CREATE INDEX requests_sla_folded
    ON requests (sla_folded_settings, sla_folded_events, sla_event_count)
    WHERE status IN ('open', 'waiting_on_customer');
