-- Saved payment methods and autopay (issue 12). (SQLite flavour; postgres/ holds the same schema.)

-- A card or US bank account saved at the gateway (a SetupIntent through
-- Checkout in setup mode), as the customer sees it: never a card number,
-- only what the gateway tells (brand or bank, last four, expiry). Removing
-- detaches it at the gateway and keeps the row (enrolments and charges
-- name it); at most one live default per customer.
CREATE TABLE saved_payment_methods (
    method_id          INTEGER PRIMARY KEY,
    customer_id        BIGINT NOT NULL REFERENCES customers (customer_id),
    gateway            TEXT NOT NULL,                 -- 'stripe' | 'sandbox'
    gateway_method_id  TEXT NOT NULL UNIQUE,          -- pm_…
    kind               TEXT NOT NULL CHECK (kind IN ('card', 'ach')),
    brand              TEXT NOT NULL,                 -- card brand or bank name
    last4              TEXT NOT NULL,
    exp_month          BIGINT,
    exp_year           BIGINT,
    is_default         BIGINT NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    saved_by_contact   BIGINT NOT NULL REFERENCES contacts (contact_id),
    saved_at           TEXT NOT NULL,
    removed_at         TEXT,
    CHECK (is_default = 0 OR removed_at IS NULL)
);
CREATE INDEX saved_payment_methods_customer ON saved_payment_methods (customer_id);
CREATE UNIQUE INDEX saved_payment_methods_one_default ON saved_payment_methods (customer_id)
    WHERE is_default = 1;

-- One "Save a method" press: the random key of its return URL (hashed) and
-- the gateway's setup-mode Checkout Session. Returning twice saves once.
CREATE TABLE payment_method_setups (
    setup_id           INTEGER PRIMARY KEY,
    customer_id        BIGINT NOT NULL REFERENCES customers (customer_id),
    contact_id         BIGINT NOT NULL REFERENCES contacts (contact_id),
    return_key_hash    TEXT NOT NULL UNIQUE,
    gateway_session_id TEXT UNIQUE,
    method_id          BIGINT REFERENCES saved_payment_methods (method_id),
    created_at         TEXT NOT NULL
);

-- Autopay: the customer's explicit agreement, with the consent text they
-- were shown (versioned in code) and who, when, from where. One active
-- enrolment per customer; canceling keeps the row (the consent record).
CREATE TABLE autopay_enrolments (
    enrolment_id     INTEGER PRIMARY KEY,
    customer_id      BIGINT NOT NULL REFERENCES customers (customer_id),
    contact_id       BIGINT NOT NULL REFERENCES contacts (contact_id),
    method_id        BIGINT NOT NULL REFERENCES saved_payment_methods (method_id),
    scope            TEXT NOT NULL CHECK (scope IN ('plan', 'all', 'up_to')),
    max_minor        BIGINT CHECK (max_minor > 0),   -- scope up_to: the cap per invoice…
    max_currency     TEXT,                           -- …in this currency
    days_before      BIGINT NOT NULL CHECK (days_before BETWEEN 0 AND 10),
    consent_version  BIGINT NOT NULL,
    consent_text     TEXT NOT NULL,
    consented_at     TEXT NOT NULL,
    ip               TEXT,
    user_agent       TEXT,
    canceled_at      TEXT,
    canceled_by_contact BIGINT REFERENCES contacts (contact_id),
    CHECK ((scope = 'up_to') = (max_minor IS NOT NULL AND max_currency IS NOT NULL))
);
CREATE UNIQUE INDEX autopay_enrolments_one_active ON autopay_enrolments (customer_id)
    WHERE canceled_at IS NULL;

-- The notice sent before a debit: one per target (an invoice, or a plan
-- instalment) and planned debit date, inserted in the transaction that
-- queues its email. The debit happens on charge_on (never sooner than two
-- days after the notice). The skip link's token is stored hashed.
CREATE TABLE autopay_notices (
    notice_id        INTEGER PRIMARY KEY,
    enrolment_id     BIGINT NOT NULL REFERENCES autopay_enrolments (enrolment_id),
    customer_id      BIGINT NOT NULL REFERENCES customers (customer_id),
    target           TEXT NOT NULL,                  -- 'invoice:<id>' | 'instalment:<plan>:<seq>'
    debit_date       TEXT NOT NULL,                  -- planned: due date - days before
    charge_on        TEXT NOT NULL,
    amount_minor     BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    skip_token_hash  TEXT NOT NULL UNIQUE,
    sent_at          TEXT NOT NULL,
    skipped_at       TEXT,
    skipped_by_contact BIGINT REFERENCES contacts (contact_id),
    UNIQUE (target, debit_date)
);

-- Each charge attempt of a target. (target, attempt) and the idempotency
-- key are unique, and the row is inserted in the transaction that creates
-- the pending payment (which holds the money like "Pay"), before the
-- gateway is called with that key: two runs, two instances or a retry
-- after a crash or a gateway 500 all lead to the same PaymentIntent.
-- `requested` until the gateway's answer is applied; locked_until is the
-- lease of the run calling the gateway.
CREATE TABLE autopay_charges (
    charge_id        INTEGER PRIMARY KEY,
    enrolment_id     BIGINT NOT NULL REFERENCES autopay_enrolments (enrolment_id),
    customer_id      BIGINT NOT NULL REFERENCES customers (customer_id),
    target           TEXT NOT NULL,
    attempt          BIGINT NOT NULL CHECK (attempt BETWEEN 1 AND 3),
    idempotency_key  TEXT NOT NULL UNIQUE,
    payment_id       BIGINT NOT NULL REFERENCES payments (payment_id),
    method_id        BIGINT NOT NULL REFERENCES saved_payment_methods (method_id),
    amount_minor     BIGINT NOT NULL CHECK (amount_minor > 0),
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'requested'
                     CHECK (status IN ('requested', 'succeeded', 'processing', 'declined', 'abandoned')),
    decline_code     TEXT,
    hard_decline     BIGINT CHECK (hard_decline IN (0, 1)),
    message          TEXT,
    gateway_intent_id TEXT,
    retry_at         TEXT,                           -- a soft decline: when the next attempt may go
    locked_until     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (target, attempt)
);
CREATE INDEX autopay_charges_customer ON autopay_charges (customer_id, created_at);
CREATE INDEX autopay_charges_open ON autopay_charges (status) WHERE status = 'requested';

-- The sandbox gateway's saved methods and off-session PaymentIntents (it
-- keeps Stripe's idempotency: the same key gives the same intent).
CREATE TABLE sandbox_setups (
    session_id        TEXT PRIMARY KEY,
    customer_ref      TEXT NOT NULL,
    method_types      TEXT NOT NULL,                 -- 'card' | 'us_bank_account' | both, comma separated
    success_url       TEXT NOT NULL,
    cancel_url        TEXT NOT NULL,
    status            TEXT NOT NULL,                 -- 'open' | 'complete' | 'expired'
    payment_method_id TEXT,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL
);
CREATE TABLE sandbox_intents (
    idempotency_key   TEXT PRIMARY KEY,
    intent_id         TEXT NOT NULL UNIQUE,
    answer            TEXT NOT NULL,                 -- the JSON answered
    created_at        TEXT NOT NULL
);

INSERT INTO scheduled_jobs (name, next_attempt_at) VALUES ('autopay', '1970-01-01T00:00:00.000000Z');
