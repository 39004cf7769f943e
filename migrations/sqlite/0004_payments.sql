-- Paying through Stripe Checkout (or the sandbox gateway): the ledger's
-- reservations, refunds, disputes, stored webhook events.

-- What a payment in flight (pending checkout or ACH processing) holds back
-- from the balance, so the same money cannot be paid twice. A cache of the
-- allocations like paid_minor, kept by repo::invoices::refresh_settlement.
ALTER TABLE invoices ADD COLUMN pending_minor BIGINT NOT NULL DEFAULT 0;

-- One Stripe customer per portal customer, created on the first payment.
ALTER TABLE customers ADD COLUMN gateway_customer_id TEXT;

-- The form token of one "Pay" press: a double click or a retried POST finds
-- the payment it already made instead of making a second one.
ALTER TABLE payments ADD COLUMN attempt_key TEXT;
CREATE UNIQUE INDEX payments_attempt_key ON payments (attempt_key);
ALTER TABLE payments ADD COLUMN receipt_email TEXT;
ALTER TABLE payments ADD COLUMN checkout_url TEXT;
ALTER TABLE payments ADD COLUMN checkout_expires_at TEXT;
-- The gateway's words for the last failed attempt (a declined card, a
-- returned debit), shown to the customer with what to do next.
ALTER TABLE payments ADD COLUMN failure_message TEXT;
ALTER TABLE payments ADD COLUMN disputed_at TEXT;
ALTER TABLE payments ADD COLUMN dispute_reason TEXT;
-- Credit notes applied together with this payment (shown on its receipt).
ALTER TABLE payments ADD COLUMN credit_applied_minor BIGINT NOT NULL DEFAULT 0;
CREATE INDEX payments_status ON payments (status, created_at);

-- The part of an allocation given back by a refund; paid_minor counts
-- amount_minor - refunded_minor of succeeded and refunded payments.
ALTER TABLE payment_allocations ADD COLUMN refunded_minor BIGINT NOT NULL DEFAULT 0;

-- Every webhook event exactly as Stripe sent it, stored under its id before
-- we answer 2xx (a redelivery is a no-op), then processed apart from the
-- request. processed_at is set in the transaction that applies the event,
-- so an event is applied exactly once even if the process dies mid-way.
CREATE TABLE webhook_events (
    event_id        TEXT PRIMARY KEY,
    event_type      TEXT NOT NULL,
    gateway_created BIGINT NOT NULL,              -- Stripe's `created` (Unix seconds)
    payload         TEXT NOT NULL,
    source          TEXT NOT NULL,                -- 'webhook' | 'reconcile'
    received_at     TEXT NOT NULL,
    processed_at    TEXT,
    outcome         TEXT,                         -- what processing did, for AR
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    locked_until    TEXT,
    last_error      TEXT
);
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE processed_at IS NULL;

-- The sandbox gateway's own state: its hosted checkout sessions and the
-- webhook deliveries it has scheduled (ACH settles later).
CREATE TABLE sandbox_checkouts (
    session_id   TEXT PRIMARY KEY,
    payment_id   BIGINT NOT NULL,
    customer_ref TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    method       TEXT NOT NULL,                   -- 'card' | 'us_bank_account'
    lines        TEXT NOT NULL,                   -- JSON [{name, amount_minor}]
    receipt_email TEXT NOT NULL,
    success_url  TEXT NOT NULL,
    cancel_url   TEXT NOT NULL,
    status       TEXT NOT NULL,                   -- 'open' | 'complete' | 'expired'
    payment_status TEXT NOT NULL,                 -- 'unpaid' | 'paid'
    intent_id    TEXT NOT NULL,
    decline_message TEXT,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE TABLE sandbox_deliveries (
    delivery_id  INTEGER PRIMARY KEY,
    payload      TEXT NOT NULL,
    deliver_at   TEXT NOT NULL,
    delivered_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sandbox_deliveries_due ON sandbox_deliveries (deliver_at) WHERE delivered_at IS NULL;
