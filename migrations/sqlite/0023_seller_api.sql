-- The seller API (issue 14): keys, idempotent writes, and the change order
-- customers are listed in. SQLite flavour; postgres/ has the same schema.

-- An API key. The secret (`pk_` + 43 base64url characters, 256 random bits)
-- is shown once; only its SHA-256 is stored. `prefix` is its first
-- characters, shown to people to tell keys apart. No booleans: a key is
-- revoked when revoked_at is set. last_used_at is written at most once a
-- minute per key (services::api_keys), so reads do not write every time.
CREATE TABLE api_keys (
    api_key_id          INTEGER PRIMARY KEY,
    name                TEXT NOT NULL,
    scopes              TEXT NOT NULL CHECK (scopes IN ('read', 'read,write')),
    prefix              TEXT NOT NULL,
    secret_hash         TEXT NOT NULL UNIQUE,
    created_by_staff_id INTEGER REFERENCES staff_users (staff_id),  -- NULL: the CLI (an operator)
    created_at          TEXT NOT NULL,
    revoked_at          TEXT,
    last_used_at        TEXT
);

-- One row per (key, Idempotency-Key) of a write that succeeded: the
-- request's fingerprint (hex SHA-256 of method, path and body) and the
-- answer given, replayed to a retry. The row is inserted first, in the
-- transaction of the write, with status NULL ("in progress"), and filled
-- before the commit; a concurrent request with the same key waits on the
-- primary key (PostgreSQL) or the write lock (SQLite) and then finds the
-- finished row. Kept 24 hours: an older row is replaced by a new request
-- with the same key (a sweep of old rows can come later).
CREATE TABLE api_idempotency (
    api_key_id      INTEGER NOT NULL REFERENCES api_keys (api_key_id),
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    status          INTEGER,
    response_body   TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (api_key_id, idempotency_key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);

-- The change order of API-listed records: each insert or visible change of
-- a row takes the next number of its entity's counter, in the writing
-- transaction (docs/ARCHITECTURE.md, "Seller API (issue 14)").
CREATE TABLE api_change_counters (
    entity   TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

ALTER TABLE customers ADD COLUMN updated_at TEXT;
ALTER TABLE customers ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
UPDATE customers SET updated_at = created_at, change_seq = customer_id;
INSERT INTO api_change_counters (entity, last_seq)
    SELECT 'customers', COALESCE(MAX(change_seq), 0) FROM customers;
CREATE INDEX customers_change_seq ON customers (change_seq, customer_id);
CREATE INDEX customers_updated_at ON customers (updated_at, change_seq);

-- Every writer (the API, staff pages, the CLI, seeds, tests' own SQL) gets
-- its change stamped here, so no write path can forget it. updated_at is
-- the writer's if it set one, else created_at (insert) or the database's
-- clock (update). recursive_triggers is off (SQLite's default), and the
-- inner UPDATE touches none of the watched columns anyway.
CREATE TRIGGER customers_change_insert AFTER INSERT ON customers
BEGIN
    UPDATE api_change_counters SET last_seq = last_seq + 1 WHERE entity = 'customers';
    UPDATE customers
    SET change_seq = (SELECT last_seq FROM api_change_counters WHERE entity = 'customers'),
        updated_at = COALESCE(NEW.updated_at, NEW.created_at)
    WHERE customer_id = NEW.customer_id;
END;

CREATE TRIGGER customers_change_update
AFTER UPDATE OF external_id, name, currency, payment_terms_days, segment, language ON customers
WHEN OLD.external_id IS NOT NEW.external_id OR OLD.name IS NOT NEW.name
  OR OLD.currency IS NOT NEW.currency OR OLD.payment_terms_days IS NOT NEW.payment_terms_days
  OR OLD.segment IS NOT NEW.segment OR OLD.language IS NOT NEW.language
BEGIN
    UPDATE api_change_counters SET last_seq = last_seq + 1 WHERE entity = 'customers';
    UPDATE customers
    SET change_seq = (SELECT last_seq FROM api_change_counters WHERE entity = 'customers'),
        updated_at = CASE WHEN NEW.updated_at IS OLD.updated_at
                          THEN strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'
                          ELSE NEW.updated_at END
    WHERE customer_id = NEW.customer_id;
END;
