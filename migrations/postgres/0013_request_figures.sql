-- AR's figures (issue 11 item 7) find each request's first staff reply in
-- the last 30 days by event and instant, without reading every event.
CREATE INDEX request_events_event ON request_events (event, at);
