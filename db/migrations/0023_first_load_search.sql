-- A first load of billing's subscribers fills the table first and builds
-- their search index once at the end (db/billing_load.go): written row by
-- row, the trigram index was a quarter of a first load's time. While a load
-- runs, the subscribers from from_id on are left to it; the triggers keep
-- every subscriber before from_id in step as before, so a rename of one of
-- them is found at once. A load that crashed leaves its row here, and the
-- next start indexes what it left.
CREATE TABLE subscriber_search_pending (
    only    INTEGER PRIMARY KEY CHECK (only = 1),
    from_id INTEGER NOT NULL
);

DROP TRIGGER subscribers_search_insert;
CREATE TRIGGER subscribers_search_insert AFTER INSERT ON subscribers
WHEN new.id < coalesce((SELECT from_id FROM subscriber_search_pending), new.id + 1) BEGIN
    INSERT INTO subscriber_search (rowid, account_number, name, email, phone_digits)
    VALUES (new.id, new.account_number, new.name, new.email,
        replace(replace(replace(replace(replace(new.phone, ' ', ''), '-', ''), '+', ''), '(', ''), ')', ''));
END;

DROP TRIGGER subscribers_search_update;
CREATE TRIGGER subscribers_search_update AFTER UPDATE OF account_number, name, email, phone ON subscribers
WHEN old.id < coalesce((SELECT from_id FROM subscriber_search_pending), old.id + 1) BEGIN
    DELETE FROM subscriber_search WHERE rowid = old.id;
    INSERT INTO subscriber_search (rowid, account_number, name, email, phone_digits)
    VALUES (new.id, new.account_number, new.name, new.email,
        replace(replace(replace(replace(replace(new.phone, ' ', ''), '-', ''), '+', ''), '(', ''), ')', ''));
END;

DROP TRIGGER subscribers_search_delete;
CREATE TRIGGER subscribers_search_delete AFTER DELETE ON subscribers
WHEN old.id < coalesce((SELECT from_id FROM subscriber_search_pending), old.id + 1) BEGIN
    DELETE FROM subscriber_search WHERE rowid = old.id;
END;
