-- Core records of the receivables portal (SQLite flavour; postgres/ holds the
-- same schema for PostgreSQL, and both run the same queries through sqlx's
-- Any driver).
--
-- Conventions, kept identical on both engines so one set of queries serves both:
--   * keys are named <table>_id and are 64-bit integers;
--   * money is BIGINT minor units next to a `currency` ISO 4217 code;
--   * timestamps are UTC TEXT in fixed-width RFC 3339 ('2026-01-31T09:30:00.000000Z'),
--     so text order is time order; calendar dates are TEXT 'YYYY-MM-DD';
--   * no booleans: a nullable timestamp says when something happened.
-- Balances and statuses are never stored: they are derived from totals,
-- allocations and credits (see portal-core domain::invoice_status).

-- A customer account of the seller (the company that owes money).
CREATE TABLE customers (
    customer_id        INTEGER PRIMARY KEY,
    external_id        TEXT UNIQUE,              -- id in the seller's ERP
    name               TEXT NOT NULL,
    currency           TEXT NOT NULL,            -- default currency of the account
    payment_terms_days INTEGER NOT NULL DEFAULT 30,
    segment            TEXT,
    created_at         TEXT NOT NULL
);

-- A person at a customer's accounts-payable team. One email, one contact,
-- possibly on several customer accounts (customer_contacts).
CREATE TABLE contacts (
    contact_id  INTEGER PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,            -- normalised: trimmed, lower case
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    disabled_at TEXT
);

CREATE TABLE customer_contacts (
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    contact_id  INTEGER NOT NULL REFERENCES contacts (contact_id),
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'payer', 'admin')),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (customer_id, contact_id)
);
CREATE INDEX customer_contacts_contact ON customer_contacts (contact_id);

-- The seller's AR team.
CREATE TABLE staff_users (
    staff_id    INTEGER PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    created_at  TEXT NOT NULL,
    disabled_at TEXT
);

CREATE TABLE invoices (
    invoice_id     INTEGER PRIMARY KEY,
    customer_id    INTEGER NOT NULL REFERENCES customers (customer_id),
    number         TEXT NOT NULL UNIQUE,
    external_id    TEXT,
    issue_date     TEXT NOT NULL,
    due_date       TEXT NOT NULL,
    po_number      TEXT,
    currency       TEXT NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    tax_minor      BIGINT NOT NULL,
    total_minor    BIGINT NOT NULL CHECK (total_minor >= 0),
    voided_at      TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX invoices_customer_due ON invoices (customer_id, due_date);
CREATE INDEX invoices_customer_issue ON invoices (customer_id, issue_date);

CREATE TABLE invoice_lines (
    invoice_line_id  INTEGER PRIMARY KEY,
    invoice_id       INTEGER NOT NULL REFERENCES invoices (invoice_id),
    position         INTEGER NOT NULL,
    description      TEXT NOT NULL,
    quantity_milli   BIGINT NOT NULL,            -- quantity in thousandths (2.5 -> 2500)
    unit_price_minor BIGINT NOT NULL,
    tax_rate_bp      INTEGER NOT NULL,           -- basis points (8.25% -> 825)
    amount_minor     BIGINT NOT NULL,            -- before tax
    tax_minor        BIGINT NOT NULL,
    UNIQUE (invoice_id, position)
);

-- The original PDF when the ERP sent one; otherwise the portal renders one.
CREATE TABLE invoice_documents (
    invoice_id   INTEGER PRIMARY KEY REFERENCES invoices (invoice_id),
    content_type TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE credit_notes (
    credit_note_id INTEGER PRIMARY KEY,
    customer_id    INTEGER NOT NULL REFERENCES customers (customer_id),
    number         TEXT NOT NULL UNIQUE,
    currency       TEXT NOT NULL,
    amount_minor   BIGINT NOT NULL CHECK (amount_minor > 0),
    reason         TEXT NOT NULL,
    issue_date     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX credit_notes_customer ON credit_notes (customer_id);

-- A credit note applied to an invoice (a note may be split over several).
CREATE TABLE credit_allocations (
    credit_note_id INTEGER NOT NULL REFERENCES credit_notes (credit_note_id),
    invoice_id     INTEGER NOT NULL REFERENCES invoices (invoice_id),
    amount_minor   BIGINT NOT NULL CHECK (amount_minor > 0),
    applied_at     TEXT NOT NULL,
    PRIMARY KEY (credit_note_id, invoice_id)
);
CREATE INDEX credit_allocations_invoice ON credit_allocations (invoice_id);

-- Money received or on its way. Only `succeeded` payments reduce balances.
CREATE TABLE payments (
    payment_id          INTEGER PRIMARY KEY,
    customer_id         INTEGER NOT NULL REFERENCES customers (customer_id),
    currency            TEXT NOT NULL,
    amount_minor        BIGINT NOT NULL CHECK (amount_minor > 0),
    refunded_minor      BIGINT NOT NULL DEFAULT 0,
    method              TEXT NOT NULL CHECK (method IN ('card', 'ach', 'bank_transfer', 'check', 'offline')),
    status              TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'succeeded', 'failed', 'canceled', 'refunded')),
    reference           TEXT,                    -- what the customer sees (cheque no., wire ref.)
    gateway             TEXT,                    -- 'stripe', 'sandbox', NULL for offline
    gateway_session_id  TEXT UNIQUE,
    gateway_intent_id   TEXT UNIQUE,
    created_by_contact  INTEGER REFERENCES contacts (contact_id),
    received_at         TEXT,                    -- when it succeeded
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX payments_customer ON payments (customer_id, created_at);

CREATE TABLE payment_allocations (
    payment_id   INTEGER NOT NULL REFERENCES payments (payment_id),
    invoice_id   INTEGER NOT NULL REFERENCES invoices (invoice_id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (payment_id, invoice_id)
);
CREATE INDEX payment_allocations_invoice ON payment_allocations (invoice_id);

-- Server-side sessions (tower-sessions records). The cookie holds a random
-- 128-bit id; only its SHA-256 is stored. Principal columns let a contact
-- list and end their own sessions.
CREATE TABLE sessions (
    session_id     INTEGER PRIMARY KEY,          -- public handle for "sign out this session"
    id_hash        TEXT NOT NULL UNIQUE,
    principal_kind TEXT,                         -- 'contact' | 'staff' | NULL (anonymous)
    principal_id   BIGINT,
    data           TEXT NOT NULL,                -- JSON
    user_agent     TEXT,
    ip             TEXT,
    created_at     TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    expires_at     TEXT NOT NULL
);
CREATE INDEX sessions_principal ON sessions (principal_kind, principal_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Magic links. Only the SHA-256 of the 256-bit token is stored.
CREATE TABLE one_time_tokens (
    token_hash     TEXT PRIMARY KEY,
    purpose        TEXT NOT NULL CHECK (purpose IN ('contact_sign_in', 'staff_sign_in')),
    principal_id   BIGINT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT,
    requested_ip   TEXT
);
CREATE INDEX one_time_tokens_expires ON one_time_tokens (expires_at);

-- Every sign-in request, known email or not, for the per-email rate limit.
-- The email is stored hashed: unknown addresses are nobody's data.
CREATE TABLE sign_in_requests (
    sign_in_request_id INTEGER PRIMARY KEY,
    email_hash         TEXT NOT NULL,
    area               TEXT NOT NULL,            -- 'contact' | 'staff'
    ip                 TEXT,
    requested_at       TEXT NOT NULL
);
CREATE INDEX sign_in_requests_email ON sign_in_requests (email_hash, requested_at);

CREATE TABLE audit_events (
    audit_event_id INTEGER PRIMARY KEY,
    occurred_at    TEXT NOT NULL,
    actor_kind     TEXT NOT NULL,                -- 'contact' | 'staff' | 'system' | 'anonymous'
    actor_id       BIGINT,
    customer_id    BIGINT,
    action         TEXT NOT NULL,                -- e.g. 'sign_in.succeeded'
    detail         TEXT NOT NULL,                -- JSON, never secrets
    ip             TEXT
);
CREATE INDEX audit_events_customer ON audit_events (customer_id, occurred_at);
CREATE INDEX audit_events_action ON audit_events (action, occurred_at);

-- Transactional outbox: an email is written in the same transaction as the
-- change that causes it and sent later by the worker, retried with backoff.
CREATE TABLE email_outbox (
    email_id        INTEGER PRIMARY KEY,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    locked_until    TEXT,
    last_error      TEXT,
    transport       TEXT,                        -- 'smtp' | 'dev_mailbox', once sent
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
