-- The SLA settings of issue 11 that AR admins edit: the business calendar
-- and the policies per request kind and priority. (PostgreSQL flavour;
-- sqlite/ holds the same schema.)
--
-- One row per key, the value as JSON in the shape domain::sla's serde
-- gives (BusinessCalendar, SlaPolicies), so the rules that check an edit
-- are the ones that read it back. Not stored per request: a change applies
-- to open requests from then on, because their clocks are folded from
-- events with whatever is stored here (migration 0007).
CREATE TABLE sla_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Defaults: New York office hours with a lunch break, US federal holidays
-- (as observed) of 2026 and 2027; disputes answered within half a business
-- day at normal priority (4 h first response, 8 h each next response, 40 h
-- to resolve), low twice that, high half, urgent a quarter with a shorter
-- resolution. services::staff_requests tests that these parse and equal
-- its Rust defaults.
INSERT INTO sla_settings (key, value, updated_at) VALUES
    ('business_calendar', '{"time_zone":"America/New_York","week":{"monday":["09:00-12:00","13:00-17:00"],"tuesday":["09:00-12:00","13:00-17:00"],"wednesday":["09:00-12:00","13:00-17:00"],"thursday":["09:00-12:00","13:00-17:00"],"friday":["09:00-12:00","13:00-17:00"],"saturday":[],"sunday":[]},"holidays":["2026-01-01","2026-01-19","2026-02-16","2026-05-25","2026-06-19","2026-07-03","2026-09-07","2026-10-12","2026-11-11","2026-11-26","2026-12-25","2027-01-01","2027-01-18","2027-02-15","2027-05-31","2027-06-18","2027-07-05","2027-09-06","2027-10-11","2027-11-11","2027-11-25","2027-12-24","2027-12-31"]}', '2026-11-30T00:00:00.000000Z'),
    ('sla_policies', '[{"kind":"dispute","priority":"low","targets":{"first_response_minutes":480,"next_response_minutes":960,"resolution_minutes":4800},"warning_percent":80},{"kind":"dispute","priority":"normal","targets":{"first_response_minutes":240,"next_response_minutes":480,"resolution_minutes":2400},"warning_percent":80},{"kind":"dispute","priority":"high","targets":{"first_response_minutes":120,"next_response_minutes":240,"resolution_minutes":1200},"warning_percent":80},{"kind":"dispute","priority":"urgent","targets":{"first_response_minutes":60,"next_response_minutes":120,"resolution_minutes":480},"warning_percent":80}]', '2026-11-30T00:00:00.000000Z');
