-- Early-payment discounts (issue 13 item 7): payment terms like "2/10 net 30".
--
-- The discount part of the terms: a rate in basis points (200 = 2%) and a
-- number of days from the invoice's issue date; the net part is the due
-- date the invoice already has. On the customer: the default for all its
-- invoices; on an invoice: an override (discount_bp = 0 there means "no
-- discount on this invoice"). NULL: not set (no discount / the customer's).
ALTER TABLE customers ADD COLUMN discount_bp BIGINT CHECK (discount_bp BETWEEN 0 AND 5000);
ALTER TABLE customers ADD COLUMN discount_days BIGINT CHECK (discount_days BETWEEN 1 AND 365);
ALTER TABLE invoices ADD COLUMN discount_bp BIGINT CHECK (discount_bp BETWEEN 0 AND 5000);
ALTER TABLE invoices ADD COLUMN discount_days BIGINT CHECK (discount_days BETWEEN 1 AND 365);
-- The pages ask "does this customer have any discount terms?" on every
-- read: an index of the few invoices with their own rate answers at once.
CREATE INDEX invoices_discount_terms ON invoices (customer_id) WHERE discount_bp > 0;

-- The discount locked when a checkout was created for an invoice's whole
-- balance by its last discount day: honoured when that payment succeeds,
-- even after the day. While the payment is pending or processing it is held
-- back like the payment's own allocation (invoices.pending_minor), so the
-- discounted part cannot be paid a second time meanwhile. On success the
-- discount becomes a credit note applied to the invoice (credit_note_id set
-- in the same transaction: set once, never twice).
CREATE TABLE payment_discounts (
    payment_id     BIGINT NOT NULL REFERENCES payments (payment_id),
    invoice_id     BIGINT NOT NULL REFERENCES invoices (invoice_id),
    discount_minor BIGINT NOT NULL CHECK (discount_minor > 0),
    rate_bp        BIGINT NOT NULL,
    last_day       TEXT NOT NULL,                   -- the last discount day, YYYY-MM-DD
    credit_note_id BIGINT REFERENCES credit_notes (credit_note_id),
    PRIMARY KEY (payment_id, invoice_id)
);
CREATE INDEX payment_discounts_invoice ON payment_discounts (invoice_id);
CREATE UNIQUE INDEX payment_discounts_credit ON payment_discounts (credit_note_id);

-- The seller's words on the pay page when both card and ACH are offered.
CREATE TABLE payment_settings (
    settings_id         BIGINT PRIMARY KEY CHECK (settings_id = 1),
    ach_note            TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    updated_by_staff_id BIGINT REFERENCES staff_users (staff_id)
);
INSERT INTO payment_settings (settings_id, ach_note, updated_at)
VALUES (1, 'Paying by bank transfer (ACH) costs us less than a card.', '2026-12-07T00:00:00.000000Z');
