-- Hardening after an outside review (issue 9).

-- How much of each credit note is applied, kept by triggers on
-- credit_allocations, with a CHECK that it never exceeds the note: the
-- database itself refuses to spend a credit twice, whatever the code above
-- it reads. (On PostgreSQL the trigger's UPDATE also takes the note's row
-- lock, so two transactions allocating one note queue up and the second
-- sees the first's total.)
ALTER TABLE credit_notes ADD COLUMN applied_minor BIGINT NOT NULL DEFAULT 0
    CHECK (applied_minor >= 0 AND applied_minor <= amount_minor);
UPDATE credit_notes SET applied_minor = COALESCE(
    (SELECT SUM(ca.amount_minor) FROM credit_allocations ca WHERE ca.credit_note_id = credit_notes.credit_note_id), 0);
CREATE TRIGGER credit_allocations_applied_insert AFTER INSERT ON credit_allocations
BEGIN
    UPDATE credit_notes SET applied_minor = applied_minor + NEW.amount_minor
    WHERE credit_note_id = NEW.credit_note_id;
END;
CREATE TRIGGER credit_allocations_applied_update AFTER UPDATE OF amount_minor, credit_note_id ON credit_allocations
BEGIN
    UPDATE credit_notes SET applied_minor = applied_minor - OLD.amount_minor
    WHERE credit_note_id = OLD.credit_note_id;
    UPDATE credit_notes SET applied_minor = applied_minor + NEW.amount_minor
    WHERE credit_note_id = NEW.credit_note_id;
END;
CREATE TRIGGER credit_allocations_applied_delete AFTER DELETE ON credit_allocations
BEGIN
    UPDATE credit_notes SET applied_minor = applied_minor - OLD.amount_minor
    WHERE credit_note_id = OLD.credit_note_id;
END;

-- Every "Pay" press that changed the ledger, under the review page's
-- one-time key: a double submit finds what the first one did, also when
-- credits covered everything and no payment row was made.
CREATE TABLE pay_attempts (
    attempt_key TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    payment_id  INTEGER REFERENCES payments (payment_id),   -- NULL: credits only
    invoice_id  INTEGER NOT NULL REFERENCES invoices (invoice_id), -- where a credit-only payment leads
    created_at  TEXT NOT NULL
);

-- A random value per payment in Checkout's success and cancel URLs, so a
-- link that guesses the (sequential) payment id cannot act on it.
ALTER TABLE payments ADD COLUMN return_key TEXT;

-- Presses recorded before this table existed (their key was on the payment).
INSERT INTO pay_attempts (attempt_key, customer_id, payment_id, invoice_id, created_at)
SELECT p.attempt_key, p.customer_id, p.payment_id, MIN(pa.invoice_id), p.created_at
FROM payments p JOIN payment_allocations pa ON pa.payment_id = p.payment_id
WHERE p.attempt_key IS NOT NULL
GROUP BY p.attempt_key, p.customer_id, p.payment_id, p.created_at;
