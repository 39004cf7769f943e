-- Measured with scripts/bench.sh (docs/BENCHMARKS.md): the invoice list's
-- currency filter and its open / overdue totals read table rows for every
-- invoice of the customer. These indexes answer both from the index alone.
CREATE INDEX invoices_customer_currency ON invoices (customer_id, currency);
DROP INDEX invoices_customer_open;
CREATE INDEX invoices_customer_open ON invoices (customer_id, currency, due_date, balance_minor) WHERE balance_minor > 0;
-- Fresh planner statistics: without them SQLite took the new currency index
-- for the list (then sorted 5,000 rows) instead of the sort's own index.
ANALYZE;
