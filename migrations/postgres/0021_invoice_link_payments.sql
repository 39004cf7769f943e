-- A reminder's invoice link "opens that invoice and lets the reader pay it"
-- (DESIGN.md, issue 13). A payment made through a link has no contact
-- behind it (created_by_contact stays NULL); it records the link instead,
-- and only that link's session may open the payment's page afterwards.
ALTER TABLE payments ADD COLUMN invoice_link_id BIGINT REFERENCES invoice_links (invoice_link_id);
CREATE INDEX payments_invoice_link ON payments (invoice_link_id);
