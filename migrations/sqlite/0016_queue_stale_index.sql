-- The queue's staleness check without a scan (issue 11's benchmark: with
-- 10,000 open requests the check read every open row on every view, the
-- largest single cost of the page).
--
-- A row is stale for two reasons. New events: sla_folded_events differs
-- from sla_event_count; finding the (usually no) rows with new events
-- reads a few entries of an index instead of every open row. New settings: every
-- open row is stale at once; instead of comparing each row's hash with the
-- settings in force, the hash every open row was last folded with is kept
-- here, and a reader whose settings hash differs folds all open rows and
-- then stores its hash.
-- An index on the difference, not a partial index on `<>`: no planner
-- can estimate a comparison of two columns (PostgreSQL guesses 99.5% of
-- the rows and scans the table; SQLite preferred the status index), but
-- both keep statistics of an indexed expression, which is 0 on nearly
-- every row. Closed requests leave it because the fold marks the events
-- of a closed request as seen (repo::staff_requests::mark_events_seen);
-- those closed before this migration are marked here.
UPDATE requests SET sla_folded_events = sla_event_count
    WHERE status NOT IN ('open', 'waiting_on_customer');
CREATE INDEX requests_sla_new_events ON requests ((sla_event_count - sla_folded_events));

CREATE TABLE sla_queue_state (
    state_id          INTEGER PRIMARY KEY CHECK (state_id = 1),
    -- The settings hash (services::staff_requests::settings_hash) all
    -- open requests were folded with; NULL: not yet known.
    folded_settings   BIGINT
);
INSERT INTO sla_queue_state (state_id, folded_settings) VALUES (1, NULL);

-- The queue's customer filter lists the customers with open requests: one
-- probe per customer into the open requests only, however many closed
-- requests a customer has.
CREATE INDEX requests_open_customer ON requests (customer_id)
    WHERE status IN ('open', 'waiting_on_customer');

-- Statistics for the new indexes at once (the planners above rely on them).
ANALYZE requests;
