-- Customer requests (issue 11): disputes first, payment plans and questions
-- later, all sharing one record, one thread and one SLA clock. (SQLite
-- flavour; postgres/ holds the same schema.)
--
-- The SLA clock is never stored: it is folded from request_events by
-- domain::sla::sla_clock with the calendar and policies in force, so a
-- change of either applies to open requests at once and the customer and
-- AR always see the same clock.

-- Why a customer disputes, as a list AR admins keep. Retiring a reason
-- (retired_at) takes it off the form but keeps it on the requests that
-- used it; a nullable timestamp rather than an "active" flag, as elsewhere.
CREATE TABLE request_reasons (
    reason_id  INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,              -- stable, in forms and filters
    label      TEXT NOT NULL,                     -- as a customer reads it
    position   INTEGER NOT NULL,                  -- order on the form
    retired_at TEXT
);
INSERT INTO request_reasons (code, label, position) VALUES
    ('pricing', 'The price is not what we agreed', 10),
    ('quantity', 'The quantity is wrong', 20),
    ('not_received', 'We did not receive the goods or service', 30),
    ('damaged', 'The goods arrived damaged or faulty', 40),
    ('duplicate_billing', 'We were billed twice for the same thing', 50),
    ('tax', 'The tax is wrong', 60),
    ('other', 'Something else', 70);

-- One request of a customer. A dispute names its invoice, what part of it
-- (scope) and the amount that part came to when it was raised
-- (disputed_minor, in the invoice's currency): the hold of issue 11 item 2
-- reads it, so it is fixed here rather than recomputed from lines whose
-- invoice may since have been part paid. resolved_at is when the request
-- left the open states (resolved or withdrawn); a reopened request clears it.
CREATE TABLE requests (
    request_id           INTEGER PRIMARY KEY,
    customer_id          INTEGER NOT NULL REFERENCES customers (customer_id),
    kind                 TEXT NOT NULL CHECK (kind IN ('dispute', 'payment_plan', 'question')),
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
    -- A dispute is always about an amount of one invoice, for a reason.
    CHECK (kind <> 'dispute' OR (invoice_id IS NOT NULL AND reason_id IS NOT NULL
        AND scope IS NOT NULL AND disputed_minor IS NOT NULL AND currency IS NOT NULL)),
    -- Only a resolved request has an outcome; a withdrawn one has none.
    CHECK (outcome IS NULL OR status = 'resolved'),
    CHECK ((resolved_at IS NULL) = (status IN ('open', 'waiting_on_customer')))
);
-- One open dispute per invoice, whoever raises it and however many at once:
-- the database decides a race, the service answers it as a conflict.
CREATE UNIQUE INDEX requests_one_open_dispute ON requests (invoice_id)
    WHERE kind = 'dispute' AND status IN ('open', 'waiting_on_customer');
-- The AR queue (open requests, by age until the SLA fold orders them) and a
-- customer's own list.
CREATE INDEX requests_queue ON requests (status, opened_at, request_id);
CREATE INDEX requests_customer ON requests (customer_id, opened_at, request_id);
CREATE INDEX requests_invoice ON requests (invoice_id);

-- The invoice lines a dispute of scope 'lines' is about.
CREATE TABLE request_lines (
    request_id      INTEGER NOT NULL REFERENCES requests (request_id),
    invoice_line_id INTEGER NOT NULL REFERENCES invoice_lines (invoice_line_id),
    PRIMARY KEY (request_id, invoice_line_id)
);

-- The thread. author_id is a contact_id or a staff_id as author_kind says.
-- Internal notes are staff-only and never reach a customer; a contact can
-- only write to the customer.
CREATE TABLE request_messages (
    message_id  INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests (request_id),
    author_kind TEXT NOT NULL CHECK (author_kind IN ('contact', 'staff')),
    author_id   INTEGER NOT NULL,
    visibility  TEXT NOT NULL CHECK (visibility IN ('customer', 'internal')),
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    CHECK (author_kind = 'staff' OR visibility = 'customer')
);
CREATE INDEX request_messages_request ON request_messages (request_id, created_at, message_id);

-- Files of a message, checked by content (domain::attachment). The bytes
-- live in `content` for now; a directory store given by config comes later,
-- and its rows will leave `content` NULL and keep the bytes in a file
-- named stored_name (server-made, never the uploader's name).
CREATE TABLE request_attachments (
    attachment_id INTEGER PRIMARY KEY,
    message_id    INTEGER NOT NULL REFERENCES request_messages (message_id),
    stored_name   TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('pdf', 'png', 'jpeg', 'csv', 'xlsx')),
    size_bytes    BIGINT NOT NULL CHECK (size_bytes > 0),
    content       BLOB,
    created_at    TEXT NOT NULL
);
CREATE INDEX request_attachments_message ON request_attachments (message_id);

-- What happened to a request as the SLA sees it: domain::sla::SlaEvent as
-- JSON in `detail` (the whole event), with its instant and name in columns
-- for reading without parsing. Appended, never updated.
CREATE TABLE request_events (
    event_id   INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests (request_id),
    at         TEXT NOT NULL,
    event      TEXT NOT NULL CHECK (event IN ('opened', 'staff_replied', 'customer_messaged',
               'waiting_on_customer', 'priority_changed', 'resolved', 'reopened')),
    detail     TEXT NOT NULL
);
CREATE INDEX request_events_request ON request_events (request_id, at, event_id);
