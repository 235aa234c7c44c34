-- Subscriber search as agents type: any part of the account number, name or
-- email, or digits of the phone number, without reading every subscriber.
-- A trigram index answers substring queries of three or more characters;
-- accents and case do not matter ("garcia" finds García).
CREATE VIRTUAL TABLE subscriber_search USING fts5(
    account_number, name, email, phone_digits,
    content = '', contentless_delete = 1,
    tokenize = 'trigram remove_diacritics 1'
);

INSERT INTO subscriber_search (rowid, account_number, name, email, phone_digits)
SELECT id, account_number, name, email, replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '+', ''), '(', ''), ')', '')
FROM subscribers;

CREATE TRIGGER subscribers_search_insert AFTER INSERT ON subscribers BEGIN
    INSERT INTO subscriber_search (rowid, account_number, name, email, phone_digits)
    VALUES (new.id, new.account_number, new.name, new.email,
        replace(replace(replace(replace(replace(new.phone, ' ', ''), '-', ''), '+', ''), '(', ''), ')', ''));
END;

CREATE TRIGGER subscribers_search_update AFTER UPDATE ON subscribers BEGIN
    DELETE FROM subscriber_search WHERE rowid = old.id;
    INSERT INTO subscriber_search (rowid, account_number, name, email, phone_digits)
    VALUES (new.id, new.account_number, new.name, new.email,
        replace(replace(replace(replace(replace(new.phone, ' ', ''), '-', ''), '+', ''), '(', ''), ')', ''));
END;

CREATE TRIGGER subscribers_search_delete AFTER DELETE ON subscribers BEGIN
    DELETE FROM subscriber_search WHERE rowid = old.id;
END;
