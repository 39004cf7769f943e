-- Payment plans (issue 12): a customer proposes (or asks AR for) a schedule
-- over chosen open invoices; a policy or AR approves, counters or declines;
-- the plan job moves running plans. (SQLite flavour; postgres/ holds the same schema.)

-- A plan: chosen open invoices of one customer in one currency, paid in
-- instalments. Its total is what was payable on those invoices when it was
-- proposed (balance - pending - disputed), never the invoice totals. The
-- terms (down payment, count, frequency, first date) are NULL only while
-- the customer asked AR to propose (status 'requested'). terms_version
-- counts the schedules written (a counter writes a new one); the current
-- schedule is the plan_instalments rows of that version. Every plan has
-- one request of kind 'payment_plan' (its thread, its SLA clock, its place
-- in AR's queue). Statuses are moved by guarded updates (WHERE status =
-- the old one), so a job run twice or two instances never move one twice.
CREATE TABLE payment_plans (
    plan_id                INTEGER PRIMARY KEY,
    customer_id            INTEGER NOT NULL REFERENCES customers (customer_id),
    request_id             INTEGER NOT NULL UNIQUE REFERENCES requests (request_id),
    currency               TEXT NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('requested', 'proposed', 'countered',
                           'active', 'at_risk', 'completed', 'defaulted', 'declined', 'canceled')),
    total_minor            BIGINT NOT NULL CHECK (total_minor > 0),
    down_payment_minor     BIGINT NOT NULL DEFAULT 0 CHECK (down_payment_minor >= 0),
    instalment_count       BIGINT CHECK (instalment_count BETWEEN 1 AND 36),
    frequency              TEXT CHECK (frequency IN ('weekly', 'biweekly', 'monthly')),
    first_due_date         TEXT,
    terms_version          BIGINT NOT NULL DEFAULT 0,
    proposed_by_contact_id INTEGER NOT NULL REFERENCES contacts (contact_id),
    created_at             TEXT NOT NULL,
    -- When the status last changed, and why a decline or default happened.
    status_changed_at      TEXT NOT NULL,
    decision_note          TEXT,
    activated_at           TEXT,
    ended_at               TEXT,
    CHECK ((instalment_count IS NULL) = (frequency IS NULL)),
    CHECK ((instalment_count IS NULL) = (first_due_date IS NULL)),
    CHECK (status = 'requested' OR status IN ('declined', 'canceled') OR instalment_count IS NOT NULL)
);
CREATE INDEX payment_plans_customer ON payment_plans (customer_id, created_at, plan_id);
-- The plan job walks the running plans only.
CREATE INDEX payment_plans_running ON payment_plans (status, plan_id)
    WHERE status IN ('active', 'at_risk');

-- The invoices of a plan and the amount of each it covers (its payable
-- part when proposed). released_at is set when the plan lets go of the
-- invoice (declined, canceled, defaulted, completed): an invoice is in at
-- most one plan that holds it, whoever proposes at once (the index).
CREATE TABLE plan_invoices (
    plan_id      INTEGER NOT NULL REFERENCES payment_plans (plan_id),
    invoice_id   INTEGER NOT NULL REFERENCES invoices (invoice_id),
    covered_minor BIGINT NOT NULL CHECK (covered_minor > 0),
    released_at  TEXT,
    PRIMARY KEY (plan_id, invoice_id)
);
CREATE UNIQUE INDEX plan_invoices_held ON plan_invoices (invoice_id) WHERE released_at IS NULL;

-- Each version of a plan's schedule: seq 0 is the down payment (when there
-- is one), 1..=count the instalments. Old versions stay (what was
-- countered, what was accepted). Instalment status is never stored: it is
-- derived from what was paid on the plan's invoices (domain::plan).
CREATE TABLE plan_instalments (
    plan_id       INTEGER NOT NULL REFERENCES payment_plans (plan_id),
    terms_version BIGINT NOT NULL CHECK (terms_version >= 1),
    seq           BIGINT NOT NULL CHECK (seq >= 0),
    due_date      TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (plan_id, terms_version, seq)
);

-- Who agreed to which terms: the exact text shown (domain::plan's
-- canonical terms) and its SHA-256, the contact, when, from where.
-- Append-only: the triggers below refuse any UPDATE or DELETE, so an
-- acceptance is evidence that cannot be edited afterwards.
CREATE TABLE plan_acceptances (
    acceptance_id INTEGER PRIMARY KEY,
    plan_id       INTEGER NOT NULL REFERENCES payment_plans (plan_id),
    terms_version BIGINT NOT NULL,
    contact_id    INTEGER NOT NULL REFERENCES contacts (contact_id),
    accepted_at   TEXT NOT NULL,
    ip            TEXT,
    user_agent    TEXT,
    terms_hash    TEXT NOT NULL,
    terms_text    TEXT NOT NULL,
    UNIQUE (plan_id, terms_version)
);
CREATE TRIGGER plan_acceptances_no_update BEFORE UPDATE ON plan_acceptances
BEGIN
    SELECT RAISE(ABORT, 'plan acceptances are never changed');
END;
CREATE TRIGGER plan_acceptances_no_delete BEFORE DELETE ON plan_acceptances
BEGIN
    SELECT RAISE(ABORT, 'plan acceptances are never deleted');
END;

-- What happened to a plan, for the plan page and the invoice timeline:
-- proposed, requested, auto_approved, approved, countered, accepted,
-- declined, auto_declined, counter_declined, at_risk, back_on_track,
-- defaulted, completed, canceled. actor_kind: contact, staff or system.
CREATE TABLE plan_events (
    event_id   INTEGER PRIMARY KEY,
    plan_id    INTEGER NOT NULL REFERENCES payment_plans (plan_id),
    at         TEXT NOT NULL,
    event      TEXT NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('contact', 'staff', 'system')),
    actor_id   INTEGER,
    note       TEXT
);
CREATE INDEX plan_events_plan ON plan_events (plan_id, at, event_id);

-- The approval policy, one row per currency (a currency without a row
-- queues every proposal for AR). auto_*: inside all of these (and no
-- defaulted plan in 12 months) a proposal is approved at once; hard_*:
-- beyond any of these it is declined at once; between, AR decides. Days
-- are the longest term: last due date - proposal date. The down payment
-- minimum is in basis points of the total.
CREATE TABLE plan_policy (
    currency              TEXT PRIMARY KEY,
    auto_max_total_minor  BIGINT NOT NULL CHECK (auto_max_total_minor >= 0),
    auto_max_count        BIGINT NOT NULL CHECK (auto_max_count BETWEEN 1 AND 36),
    auto_max_days         BIGINT NOT NULL CHECK (auto_max_days >= 0),
    auto_min_down_bp      BIGINT NOT NULL CHECK (auto_min_down_bp BETWEEN 0 AND 10000),
    hard_max_total_minor  BIGINT NOT NULL CHECK (hard_max_total_minor >= auto_max_total_minor),
    hard_max_count        BIGINT NOT NULL CHECK (hard_max_count BETWEEN auto_max_count AND 36),
    hard_max_days         BIGINT NOT NULL CHECK (hard_max_days >= auto_max_days),
    updated_at            TEXT NOT NULL,
    updated_by_staff_id   INTEGER REFERENCES staff_users (staff_id)
);
INSERT INTO plan_policy (currency, auto_max_total_minor, auto_max_count, auto_max_days,
    auto_min_down_bp, hard_max_total_minor, hard_max_count, hard_max_days, updated_at)
VALUES ('USD', 500000, 6, 180, 0, 5000000, 24, 365, '2026-12-01T00:00:00.000000Z');

-- The plan job's limits (one row): an instalment late more than grace_days
-- puts its plan at risk; late more than default_after_days defaults it.
CREATE TABLE plan_settings (
    settings_id         BIGINT PRIMARY KEY CHECK (settings_id = 1),
    grace_days          BIGINT NOT NULL CHECK (grace_days >= 0),
    default_after_days  BIGINT NOT NULL CHECK (default_after_days > grace_days),
    updated_at          TEXT NOT NULL,
    updated_by_staff_id INTEGER REFERENCES staff_users (staff_id)
);
INSERT INTO plan_settings (settings_id, grace_days, default_after_days, updated_at)
VALUES (1, 5, 30, '2026-12-01T00:00:00.000000Z');

INSERT INTO scheduled_jobs (name, next_attempt_at) VALUES ('plan_checks', '1970-01-01T00:00:00.000000Z');

-- Plan requests get an SLA policy of their own: a day to the first answer
-- at normal priority, two for each next one, a working week to decide;
-- low twice that, high half, urgent a quarter. Appended to the stored
-- policies (whatever AR admins made of them) unless some are there
-- already; services::staff_requests::default_sla_policies has the same.
UPDATE sla_settings SET value = substr(value, 1, length(value) - 1) || ',{"kind":"payment_plan","priority":"low","targets":{"first_response_minutes":960,"next_response_minutes":1920,"resolution_minutes":4800},"warning_percent":80},{"kind":"payment_plan","priority":"normal","targets":{"first_response_minutes":480,"next_response_minutes":960,"resolution_minutes":2400},"warning_percent":80},{"kind":"payment_plan","priority":"high","targets":{"first_response_minutes":240,"next_response_minutes":480,"resolution_minutes":1200},"warning_percent":80},{"kind":"payment_plan","priority":"urgent","targets":{"first_response_minutes":120,"next_response_minutes":240,"resolution_minutes":480},"warning_percent":80}]'
WHERE key = 'sla_policies' AND value NOT LIKE '%"payment_plan"%' AND value LIKE '%]';
