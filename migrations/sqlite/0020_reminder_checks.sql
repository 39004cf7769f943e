-- The reminder job decides each customer's reminders once per local day
-- (issue 13): the first run inside the customer's window that gets through
-- without an error writes the day here, and the job's later runs that day
-- pass the customer by. Without it every run (once a minute, two hours a
-- day) read every in-window customer's recent invoices again.
CREATE TABLE reminder_checks (
    customer_id  BIGINT PRIMARY KEY REFERENCES customers (customer_id),
    checked_on   TEXT NOT NULL,            -- the customer's local date
    checked_at   TEXT NOT NULL
);
