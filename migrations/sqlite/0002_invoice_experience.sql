-- The invoice pages (list, statement, links from reminder emails), fast for
-- a customer with thousands of invoices in a database of millions.
--
-- Settled amounts are kept on the invoice row so that status filters, balance
-- sorts and totals are index reads instead of per-row sums. They are a cache
-- of the allocations, never edited on their own: every write of an
-- allocation calls repo::invoices::refresh_settlement for the invoices it
-- touched, in the same transaction, and a test checks cache == sums.
ALTER TABLE invoices ADD COLUMN paid_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN credited_minor BIGINT NOT NULL DEFAULT 0;
-- total - paid - credited, floored at 0; 0 for void invoices.
ALTER TABLE invoices ADD COLUMN balance_minor BIGINT NOT NULL DEFAULT 0;

UPDATE invoices SET
    paid_minor = COALESCE((SELECT SUM(pa.amount_minor) FROM payment_allocations pa
                           JOIN payments p ON p.payment_id = pa.payment_id
                           WHERE pa.invoice_id = invoices.invoice_id AND p.status = 'succeeded'), 0),
    credited_minor = COALESCE((SELECT SUM(ca.amount_minor) FROM credit_allocations ca
                               WHERE ca.invoice_id = invoices.invoice_id), 0);
UPDATE invoices SET balance_minor = CASE
    WHEN voided_at IS NOT NULL THEN 0
    WHEN total_minor - paid_minor - credited_minor < 0 THEN 0
    ELSE total_minor - paid_minor - credited_minor END;

-- One index per sort of the invoice list, each ending in the id so keyset
-- pagination (sort value, invoice_id) is a range read.
DROP INDEX invoices_customer_due;
DROP INDEX invoices_customer_issue;
CREATE INDEX invoices_customer_due ON invoices (customer_id, due_date, invoice_id);
CREATE INDEX invoices_customer_issue ON invoices (customer_id, issue_date, invoice_id);
CREATE INDEX invoices_customer_number ON invoices (customer_id, number, invoice_id);
CREATE INDEX invoices_customer_total ON invoices (customer_id, total_minor, invoice_id);
CREATE INDEX invoices_customer_balance ON invoices (customer_id, balance_minor, invoice_id);
CREATE INDEX invoices_customer_po ON invoices (customer_id, po_number, invoice_id);
-- Open invoices only: the per-currency totals and the aging read this.
CREATE INDEX invoices_customer_open ON invoices (customer_id, currency, due_date) WHERE balance_minor > 0;
CREATE INDEX payments_customer_received ON payments (customer_id, received_at);
CREATE INDEX credit_notes_customer_issue ON credit_notes (customer_id, issue_date);

-- A link to one invoice, put into reminder emails. Whoever holds it sees that
-- invoice and its PDF, nothing else. Only the SHA-256 of the 256-bit token
-- is stored; AR staff can revoke a link.
CREATE TABLE invoice_links (
    invoice_link_id INTEGER PRIMARY KEY,
    invoice_id      INTEGER NOT NULL REFERENCES invoices (invoice_id),
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    revoked_at      TEXT,
    revoked_by      BIGINT,                      -- staff_id
    created_by      TEXT NOT NULL,               -- 'cli', 'reminder', 'staff:<id>'
    last_used_at    TEXT
);
CREATE INDEX invoice_links_invoice ON invoice_links (invoice_id);

-- What an audit event is about ('invoice:42', 'payment:7'), so an invoice's
-- activity is an index read.
ALTER TABLE audit_events ADD COLUMN subject TEXT;
CREATE INDEX audit_events_subject ON audit_events (subject, occurred_at);
