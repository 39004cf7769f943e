-- What a signed-in contact may see (their name and email, their accounts,
-- each account's name, terms and their role on it) is read once and kept in
-- memory (services::access), not on every request. `access_version` says
-- when that copy is stale: triggers raise it whenever any of it changes,
-- whoever writes (the portal, the CLI, an import), and the session guard
-- reads it with the "still enabled?" check it already makes per request.
ALTER TABLE contacts ADD COLUMN access_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION customer_contacts_bump_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE contacts SET access_version = access_version + 1 WHERE contact_id = OLD.contact_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE contacts SET access_version = access_version + 1 WHERE contact_id = NEW.contact_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER customer_contacts_access AFTER INSERT OR UPDATE OR DELETE ON customer_contacts
    FOR EACH ROW EXECUTE FUNCTION customer_contacts_bump_access();

CREATE FUNCTION customers_bump_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contacts SET access_version = access_version + 1
    WHERE contact_id IN (SELECT contact_id FROM customer_contacts WHERE customer_id = NEW.customer_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER customers_access AFTER UPDATE OF name, currency, payment_terms_days ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_bump_access();

CREATE FUNCTION contacts_bump_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.access_version := OLD.access_version + 1;
    RETURN NEW;
END;
$$;
CREATE TRIGGER contacts_access BEFORE UPDATE OF name, email, disabled_at ON contacts
    FOR EACH ROW EXECUTE FUNCTION contacts_bump_access();
