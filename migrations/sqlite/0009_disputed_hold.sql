-- The disputed amount is held (issue 11 item 2): what the invoice's open
-- dispute (open or waiting on the customer) disputes, else 0. A cache like
-- pending_minor, kept by repo::invoices::refresh_settlement, which raising,
-- withdrawing and resolving a dispute call in their transactions. The pay
-- page offers balance - pending - disputed (domain::payable_minor); the
-- balance itself is unchanged, since a disputed invoice still owes it.
ALTER TABLE invoices ADD COLUMN disputed_minor BIGINT NOT NULL DEFAULT 0;

-- Disputes already open before this migration hold their amount too. At
-- most one open dispute per invoice (requests_one_open_dispute); the SUM
-- only makes the subquery one row whatever happens.
UPDATE invoices SET disputed_minor = (
    SELECT CAST(COALESCE(SUM(r.disputed_minor), 0) AS BIGINT) FROM requests r
    WHERE r.invoice_id = invoices.invoice_id AND r.kind = 'dispute'
      AND r.status IN ('open', 'waiting_on_customer'))
WHERE invoice_id IN (
    SELECT r.invoice_id FROM requests r
    WHERE r.kind = 'dispute' AND r.status IN ('open', 'waiting_on_customer'));

-- The open totals also sum disputed_minor per currency: the partial index of
-- open invoices (0003) carries it so they stay an index-only read.
DROP INDEX invoices_customer_open;
CREATE INDEX invoices_customer_open ON invoices (customer_id, currency, due_date, balance_minor, disputed_minor) WHERE balance_minor > 0;
