-- Reminders, the rest of issue 13 (postgres flavour; the other folder holds the same schema).

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
-- 'promise', naming its promise (one item per promise). (SQLite rebuilds
-- the table for the same result.)
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
    CHECK (kind IN ('dispute', 'payment_plan', 'question', 'promise'));
ALTER TABLE requests ADD COLUMN promise_id BIGINT REFERENCES promises_to_pay (promise_id);
ALTER TABLE requests ADD CONSTRAINT requests_promise_named
    CHECK ((kind = 'promise') = (promise_id IS NOT NULL));
CREATE UNIQUE INDEX requests_one_per_promise ON requests (promise_id) WHERE promise_id IS NOT NULL;

-- Promise items get an SLA policy of their own (as plans: a day to the
-- first answer at normal priority), appended to the stored policies
-- unless some are there; services::staff_requests::default_sla_policies
-- has the same.
UPDATE sla_settings SET value = substr(value, 1, length(value) - 1) || ',{"kind":"promise","priority":"low","targets":{"first_response_minutes":960,"next_response_minutes":1920,"resolution_minutes":4800},"warning_percent":80},{"kind":"promise","priority":"normal","targets":{"first_response_minutes":480,"next_response_minutes":960,"resolution_minutes":2400},"warning_percent":80},{"kind":"promise","priority":"high","targets":{"first_response_minutes":240,"next_response_minutes":480,"resolution_minutes":1200},"warning_percent":80},{"kind":"promise","priority":"urgent","targets":{"first_response_minutes":120,"next_response_minutes":240,"resolution_minutes":480},"warning_percent":80}]'
WHERE key = 'sla_policies' AND value NOT LIKE '%"promise"%' AND value LIKE '%]';
