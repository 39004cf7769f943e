-- Reminders, the rest of issue 13 (sqlite flavour; the other folder holds the same schema).

-- Extra header lines of an email ("Name: value", one a line), sent as they
-- are by the SMTP transport: the List-Unsubscribe pair (RFC 8058) of a
-- reminder of an optional step. Redacted with the bodies once sent.
ALTER TABLE email_outbox ADD COLUMN headers TEXT;

-- Addresses that unsubscribed from a customer's optional (friendly)
-- reminder steps with the one-click link; firm steps still reach them.
-- Keyed by address (lower case), so a contact and the account's billing
-- address are treated alike. A contact resubscribes from their account.
CREATE TABLE reminder_unsubscribes (
    customer_id     BIGINT NOT NULL REFERENCES customers (customer_id),
    email           TEXT NOT NULL,
    unsubscribed_at TEXT NOT NULL,
    PRIMARY KEY (customer_id, email)
);

-- The one-click links: one per optional reminder email, stored hashed
-- (domain::token), never expiring (an unsubscribe link must keep working).
CREATE TABLE reminder_unsubscribe_tokens (
    token_hash  TEXT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (customer_id),
    email       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- The account's billing address, a recipient of reminders besides the
-- payer and admin contacts (AR admins set it). NULL: none.
ALTER TABLE customer_reminders ADD COLUMN billing_email TEXT;

-- A broken promise puts an item in AR's queue: a request of a new kind,
-- 'promise', naming its promise (one item per promise). SQLite cannot
-- change a CHECK in place, so requests is rebuilt as it stands after 0016
-- with the wider CHECK and the new column.
-- Rebuilt with foreign keys deferred: sqlx runs a SQLite migration in a
-- transaction (0.8 reads "-- no-transaction" for PostgreSQL only), where
-- PRAGMA foreign_keys = OFF does nothing. With defer_foreign_keys, the
-- DROP's implicit delete leaves the rows of request_events, request_lines,
-- request_messages, sla_alerts and payment_plans pointing at no request
-- until the same ids are inserted again below; SQLite checks at COMMIT.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE requests_before_0019 AS SELECT * FROM requests;
DROP TABLE requests;
CREATE TABLE requests (
    request_id           INTEGER PRIMARY KEY,
    customer_id          INTEGER NOT NULL REFERENCES customers (customer_id),
    kind                 TEXT NOT NULL CHECK (kind IN ('dispute', 'payment_plan', 'question', 'promise')),
    status               TEXT NOT NULL DEFAULT 'open'
                         CHECK (status IN ('open', 'waiting_on_customer', 'resolved', 'withdrawn')),
    priority             TEXT NOT NULL DEFAULT 'normal'
                         CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    reason_id            INTEGER REFERENCES request_reasons (reason_id),
    invoice_id           INTEGER REFERENCES invoices (invoice_id),
    scope                TEXT CHECK (scope IN ('invoice', 'lines', 'amount')),
    disputed_minor       BIGINT CHECK (disputed_minor >= 0),
    currency             TEXT,
    assignee_staff_id    INTEGER REFERENCES staff_users (staff_id),
    opened_by_contact_id INTEGER NOT NULL REFERENCES contacts (contact_id),
    opened_at            TEXT NOT NULL,
    resolved_at          TEXT,
    outcome              TEXT CHECK (outcome IN ('credit_note', 'corrected_invoice', 'rejected')),
    outcome_note         TEXT,
    sla_event_count      BIGINT NOT NULL DEFAULT 0,
    sla_folded_events    BIGINT NOT NULL DEFAULT -1,
    sla_folded_settings  BIGINT,
    sla_paused           BIGINT NOT NULL DEFAULT 0,
    sla_next_due         TEXT,
    sla_warn_at          TEXT,
    sla_breached         BIGINT NOT NULL DEFAULT 0,
    sla_paused_left      BIGINT NOT NULL DEFAULT 0,
    -- The broken promise to pay a 'promise' item is about (issue 13).
    promise_id           BIGINT REFERENCES promises_to_pay (promise_id),
    -- A dispute is always about an amount of one invoice, for a reason.
    CHECK (kind <> 'dispute' OR (invoice_id IS NOT NULL AND reason_id IS NOT NULL
        AND scope IS NOT NULL AND disputed_minor IS NOT NULL AND currency IS NOT NULL)),
    -- A promise item names its promise; nothing else does.
    CHECK ((kind = 'promise') = (promise_id IS NOT NULL)),
    -- Only a resolved request has an outcome; a withdrawn one has none.
    CHECK (outcome IS NULL OR status = 'resolved'),
    CHECK ((resolved_at IS NULL) = (status IN ('open', 'waiting_on_customer')))
);
INSERT INTO requests (request_id, customer_id, kind, status, priority, reason_id, invoice_id, scope,
    disputed_minor, currency, assignee_staff_id, opened_by_contact_id, opened_at, resolved_at,
    outcome, outcome_note, sla_event_count, sla_folded_events, sla_folded_settings, sla_paused,
    sla_next_due, sla_warn_at, sla_breached, sla_paused_left)
SELECT request_id, customer_id, kind, status, priority, reason_id, invoice_id, scope,
    disputed_minor, currency, assignee_staff_id, opened_by_contact_id, opened_at, resolved_at,
    outcome, outcome_note, sla_event_count, sla_folded_events, sla_folded_settings, sla_paused,
    sla_next_due, sla_warn_at, sla_breached, sla_paused_left
FROM requests_before_0019;
DROP TABLE requests_before_0019;
-- Its indexes (0007, 0010, 0016), as they were.
CREATE UNIQUE INDEX requests_one_open_dispute ON requests (invoice_id)
    WHERE kind = 'dispute' AND status IN ('open', 'waiting_on_customer');
CREATE INDEX requests_queue ON requests (status, opened_at, request_id);
CREATE INDEX requests_customer ON requests (customer_id, opened_at, request_id);
CREATE INDEX requests_invoice ON requests (invoice_id);
CREATE INDEX requests_sla_queue
    ON requests (sla_paused, sla_next_due, sla_paused_left, opened_at, request_id)
    WHERE status IN ('open', 'waiting_on_customer');
CREATE INDEX requests_sla_folded
    ON requests (sla_folded_settings, sla_folded_events, sla_event_count)
    WHERE status IN ('open', 'waiting_on_customer');
CREATE INDEX requests_sla_new_events ON requests ((sla_event_count - sla_folded_events));
CREATE INDEX requests_open_customer ON requests (customer_id)
    WHERE status IN ('open', 'waiting_on_customer');
-- One item per broken promise, whoever judges it.
CREATE UNIQUE INDEX requests_one_per_promise ON requests (promise_id) WHERE promise_id IS NOT NULL;
-- Every row still points at something: a violation fails the migration
-- here (the CHECK), not later at some unrelated write.
CREATE TEMP TABLE foreign_keys_after_0019 (violations BIGINT NOT NULL CHECK (violations = 0));
INSERT INTO foreign_keys_after_0019 SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE foreign_keys_after_0019;

-- Promise items get an SLA policy of their own (as plans: a day to the
-- first answer at normal priority), appended to the stored policies
-- unless some are there; services::staff_requests::default_sla_policies
-- has the same.
UPDATE sla_settings SET value = substr(value, 1, length(value) - 1) || ',{"kind":"promise","priority":"low","targets":{"first_response_minutes":960,"next_response_minutes":1920,"resolution_minutes":4800},"warning_percent":80},{"kind":"promise","priority":"normal","targets":{"first_response_minutes":480,"next_response_minutes":960,"resolution_minutes":2400},"warning_percent":80},{"kind":"promise","priority":"high","targets":{"first_response_minutes":240,"next_response_minutes":480,"resolution_minutes":1200},"warning_percent":80},{"kind":"promise","priority":"urgent","targets":{"first_response_minutes":120,"next_response_minutes":240,"resolution_minutes":480},"warning_percent":80}]'
WHERE key = 'sla_policies' AND value NOT LIKE '%"promise"%' AND value LIKE '%]';
