-- Views of an invoice by the customer (issue 11 item 6): the invoice's
-- shared timeline says "viewed by ..." so AR knows the invoice was seen.
-- One row per viewer per invoice per UTC day: a refresh, or a morning of
-- going back and forth, is one entry, and the table stays small. The
-- primary key decides a race of two first views (INSERT ... ON CONFLICT
-- DO NOTHING). viewer is 'contact:<id>' or 'link:<invoice_link_id>';
-- contact_id names the contact for the timeline (NULL for a link holder).
CREATE TABLE invoice_views (
    invoice_id    BIGINT NOT NULL REFERENCES invoices (invoice_id),
    viewer        TEXT NOT NULL,
    viewed_on     TEXT NOT NULL,                -- 'YYYY-MM-DD' (UTC)
    contact_id    BIGINT REFERENCES contacts (contact_id),
    first_seen_at TEXT NOT NULL,
    PRIMARY KEY (invoice_id, viewer, viewed_on)
);
