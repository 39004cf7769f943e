-- A customer's language (issue 15): a BCP 47 tag ("pl", "ja", "he",
-- "zh-Hant-TW"), set by AR. Generated invoices, statements and receipts
-- take their /Lang from it; NULL: not set, the viewer's Accept-Language is
-- used. The services check the tag is well formed and store it in its
-- canonical case; the CHECK only bounds it.
ALTER TABLE customers ADD COLUMN language TEXT CHECK (language IS NULL OR length(language) BETWEEN 2 AND 35);
