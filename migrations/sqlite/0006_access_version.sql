-- What a signed-in contact may see (their name and email, their accounts,
-- each account's name, terms and their role on it) is read once and kept in
-- memory (services::access), not on every request. `access_version` says
-- when that copy is stale: triggers raise it whenever any of it changes,
-- whoever writes (the portal, the CLI, an import), and the session guard
-- reads it with the "still enabled?" check it already makes per request.
ALTER TABLE contacts ADD COLUMN access_version BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER customer_contacts_added_access AFTER INSERT ON customer_contacts
BEGIN
    UPDATE contacts SET access_version = access_version + 1 WHERE contact_id = NEW.contact_id;
END;
CREATE TRIGGER customer_contacts_changed_access AFTER UPDATE ON customer_contacts
BEGIN
    UPDATE contacts SET access_version = access_version + 1
    WHERE contact_id IN (OLD.contact_id, NEW.contact_id);
END;
CREATE TRIGGER customer_contacts_removed_access AFTER DELETE ON customer_contacts
BEGIN
    UPDATE contacts SET access_version = access_version + 1 WHERE contact_id = OLD.contact_id;
END;
CREATE TRIGGER customers_changed_access AFTER UPDATE OF name, currency, payment_terms_days ON customers
BEGIN
    UPDATE contacts SET access_version = access_version + 1
    WHERE contact_id IN (SELECT contact_id FROM customer_contacts WHERE customer_id = NEW.customer_id);
END;
-- Updating only access_version does not fire this one again.
CREATE TRIGGER contacts_changed_access AFTER UPDATE OF name, email, disabled_at ON contacts
BEGIN
    UPDATE contacts SET access_version = access_version + 1 WHERE contact_id = NEW.contact_id;
END;
