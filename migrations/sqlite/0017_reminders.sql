-- Reminders and promises to pay (issue 13). (SQLite flavour; postgres/ holds the same schema.)

-- A cadence: named steps, each at a number of days from the due date
-- (negative: before it). Every customer follows the default cadence unless
-- AR gave it another (customer_reminders.cadence_id). At most one default.
CREATE TABLE reminder_cadences (
    cadence_id  INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    is_default  BIGINT NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX reminder_cadences_one_default ON reminder_cadences (is_default) WHERE is_default = 1;

-- A step of a cadence, with its own subject and body templates (plain text
-- with {variables}, rendered by domain::reminder). `optional` steps (the
-- friendly ones) are those a one-click unsubscribe may stop. A removed step
-- keeps its row (sends name it) with retired_at set; one live step per
-- offset and cadence.
CREATE TABLE reminder_steps (
    step_id      INTEGER PRIMARY KEY,
    cadence_id   BIGINT NOT NULL REFERENCES reminder_cadences (cadence_id),
    offset_days  BIGINT NOT NULL CHECK (offset_days BETWEEN -60 AND 365),
    optional     BIGINT NOT NULL DEFAULT 0 CHECK (optional IN (0, 1)),
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    retired_at   TEXT
);
CREATE UNIQUE INDEX reminder_steps_live_offset ON reminder_steps (cadence_id, offset_days)
    WHERE retired_at IS NULL;

-- The reminder settings (one row): the send window in the customer's local
-- time (minutes after midnight, weekdays only, never on the seller's
-- holidays of the SLA calendar), the longest a promise to pay may reach,
-- and the AR contact the final step names.
CREATE TABLE reminder_settings (
    settings_id          BIGINT PRIMARY KEY CHECK (settings_id = 1),
    window_start_minute  BIGINT NOT NULL CHECK (window_start_minute BETWEEN 0 AND 1439),
    window_end_minute    BIGINT NOT NULL CHECK (window_end_minute BETWEEN 1 AND 1440),
    promise_horizon_days BIGINT NOT NULL CHECK (promise_horizon_days BETWEEN 1 AND 365),
    ar_contact_name      TEXT NOT NULL,
    ar_contact_email     TEXT,
    updated_at           TEXT NOT NULL,
    updated_by_staff_id  INTEGER REFERENCES staff_users (staff_id),
    CHECK (window_end_minute > window_start_minute)
);
INSERT INTO reminder_settings (settings_id, window_start_minute, window_end_minute, promise_horizon_days,
    ar_contact_name, ar_contact_email, updated_at)
VALUES (1, 540, 660, 30, 'Accounts Receivable', NULL, '2026-12-01T00:00:00.000000Z');

-- A customer's own reminder settings (no row: the default cadence, not
-- paused, the seller's time zone). paused_until is a date in the customer's
-- zone, included; lifting a pause sets it to the day before, so the date a
-- pause ended stays known (the cadence resumes from it).
CREATE TABLE customer_reminders (
    customer_id         INTEGER PRIMARY KEY REFERENCES customers (customer_id),
    cadence_id          BIGINT REFERENCES reminder_cadences (cadence_id),
    paused_until        TEXT,
    time_zone           TEXT,                         -- IANA name; NULL: the seller's
    updated_at          TEXT NOT NULL,
    updated_by_staff_id INTEGER REFERENCES staff_users (staff_id)
);

-- One invoice paused on its own, until a date (included) in the customer's zone.
CREATE TABLE invoice_reminder_pauses (
    invoice_id          INTEGER PRIMARY KEY REFERENCES invoices (invoice_id),
    paused_until        TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    updated_by_staff_id INTEGER REFERENCES staff_users (staff_id)
);

-- Every reminder sent, per invoice: automatic ones name their step and are
-- unique per (invoice, step), inserted in the transaction that queues the
-- email, so two runs, two instances or a run after a crash send a step
-- once. Manual sends by AR have no step (NULLs never collide): they count
-- for every step that fell due by their day (sent_on, the customer's local
-- date). One email lists every invoice of its batch.
CREATE TABLE reminder_sends (
    send_id       INTEGER PRIMARY KEY,
    invoice_id    BIGINT NOT NULL REFERENCES invoices (invoice_id),
    customer_id   BIGINT NOT NULL REFERENCES customers (customer_id),
    step_id       BIGINT REFERENCES reminder_steps (step_id),
    kind          TEXT NOT NULL CHECK (kind IN ('automatic', 'manual')),
    sent_on       TEXT NOT NULL,
    sent_at       TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL,                    -- what the email asked for (the undisputed rest)
    currency      TEXT NOT NULL,
    staff_id      INTEGER REFERENCES staff_users (staff_id),
    batch         TEXT NOT NULL,
    UNIQUE (invoice_id, step_id),
    CHECK ((kind = 'automatic') = (step_id IS NOT NULL))
);
CREATE INDEX reminder_sends_invoice ON reminder_sends (invoice_id, sent_on);
CREATE INDEX reminder_sends_customer ON reminder_sends (customer_id, sent_at);

-- The emails of a batch (one per payer or admin contact), for the history
-- with each email's status from the outbox.
CREATE TABLE reminder_emails (
    email_id    INTEGER PRIMARY KEY REFERENCES email_outbox (email_id),
    batch       TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (customer_id),
    contact_id  BIGINT NOT NULL REFERENCES contacts (contact_id)
);
CREATE INDEX reminder_emails_batch ON reminder_emails (batch);

-- A promise to pay: by a date (in the customer's zone), optionally an
-- amount, over invoices of one currency. Made by a contact in the portal
-- or recorded by AR from a phone call. Reminders for its invoices pause
-- through promised_on; the job then judges it: kept (paid or being paid
-- in full), partly kept, or broken (the cadence resumes the next morning
-- and the customer is told). Status moves are guarded updates.
CREATE TABLE promises_to_pay (
    promise_id    INTEGER PRIMARY KEY,
    customer_id   BIGINT NOT NULL REFERENCES customers (customer_id),
    promised_on   TEXT NOT NULL,
    currency      TEXT NOT NULL,
    amount_minor  BIGINT CHECK (amount_minor > 0),    -- NULL: what the invoices owed
    owed_minor    BIGINT NOT NULL CHECK (owed_minor > 0),
    channel       TEXT NOT NULL CHECK (channel IN ('portal', 'phone')),
    contact_id    BIGINT REFERENCES contacts (contact_id),
    staff_id      INTEGER REFERENCES staff_users (staff_id),
    note          TEXT,
    status        TEXT NOT NULL CHECK (status IN ('open', 'kept', 'partly_kept', 'broken', 'withdrawn')),
    created_at    TEXT NOT NULL,
    closed_at     TEXT,
    paid_minor    BIGINT,                             -- judged: paid (or being paid) by then
    CHECK (contact_id IS NOT NULL OR staff_id IS NOT NULL)
);
CREATE INDEX promises_to_pay_customer ON promises_to_pay (customer_id, status, promised_on);

-- The invoices of a promise with what each could be paid when promised.
-- An invoice is under at most one open promise (released_at NULL).
CREATE TABLE promise_invoices (
    promise_id    BIGINT NOT NULL REFERENCES promises_to_pay (promise_id),
    invoice_id    BIGINT NOT NULL REFERENCES invoices (invoice_id),
    payable_minor BIGINT NOT NULL,
    released_at   TEXT,
    PRIMARY KEY (promise_id, invoice_id)
);
CREATE UNIQUE INDEX promise_invoices_open ON promise_invoices (invoice_id) WHERE released_at IS NULL;

-- The default cadence.
INSERT INTO reminder_cadences (name, is_default, created_at, updated_at)
VALUES ('Standard', 1, '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z');
INSERT INTO reminder_steps (cadence_id, offset_days, optional, subject, body, created_at, updated_at) VALUES
((SELECT cadence_id FROM reminder_cadences WHERE is_default = 1), -3, 1, 'Coming up: invoices from {seller_name} due soon',
 'Hello {contact_name},

A friendly note: these invoices of {customer_name} fall due in the next few days.

{invoices}

Total: {totals}

You can pay them all at once here: {pay_all_link}

If you have already paid, thank you, and please ignore this email.',
 '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z'),
((SELECT cadence_id FROM reminder_cadences WHERE is_default = 1), 0, 1, 'Due today: invoices from {seller_name}',
 'Hello {contact_name},

These invoices of {customer_name} are due today.

{invoices}

Total: {totals}

Pay them all at once: {pay_all_link}

If you have already paid, thank you, and please ignore this email.',
 '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z'),
((SELECT cadence_id FROM reminder_cadences WHERE is_default = 1), 7, 0, 'Overdue: invoices from {seller_name}',
 'Hello {contact_name},

These invoices of {customer_name} are now past due.

{invoices}

Total overdue: {totals}

Please pay them, or tell us when you will, from the invoice page: {pay_all_link}

If you have already paid, thank you, and please ignore this email.',
 '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z'),
((SELECT cadence_id FROM reminder_cadences WHERE is_default = 1), 14, 0, 'Second notice: overdue invoices from {seller_name}',
 'Hello {contact_name},

We have not yet received payment for these invoices of {customer_name}, now two weeks past due.

{invoices}

Total overdue: {totals}

Please pay them now: {pay_all_link}

If something is wrong with an invoice, open it and raise a dispute, so we can sort it out.',
 '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z'),
((SELECT cadence_id FROM reminder_cadences WHERE is_default = 1), 30, 0, 'Final notice: overdue invoices from {seller_name}',
 'Hello {contact_name},

This is our final reminder: these invoices of {customer_name} are a month past due.

{invoices}

Total overdue: {totals}

Please pay them now: {pay_all_link}

If you cannot pay in full, please contact {ar_contact} today to agree a payment plan or a date.',
 '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z');

INSERT INTO scheduled_jobs (name, next_attempt_at) VALUES ('reminders', '1970-01-01T00:00:00.000000Z');
