-- The carrier's systems call the API as API clients, each with its own key
-- and only the scopes it needs. The key itself is never stored: its SHA-256
-- (a key is 32 random bytes, so a fast hash is enough), and its last four
-- characters to tell keys apart on the Integrations page.
CREATE TABLE api_clients (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    scopes       TEXT NOT NULL,            -- space-separated, sorted
    key_hash     BLOB NOT NULL UNIQUE,
    key_last4    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   INTEGER REFERENCES logins(id),
    last_used_at TEXT,
    revoked_at   TEXT,
    revoked_by   INTEGER REFERENCES logins(id)
);

-- Billing owns the subscriber: its status, and the time of the state the
-- portal holds (billing's as_of, so that an older update arriving late is
-- ignored) and when billing last changed anything (the portal's time).
ALTER TABLE subscribers ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed'));
ALTER TABLE subscribers ADD COLUMN billing_as_of TEXT;
ALTER TABLE subscribers ADD COLUMN billing_changed_at TEXT;
CREATE INDEX subscribers_status ON subscribers(status) WHERE status <> 'active';

-- Billing's own id of each home plan, so that a renamed plan is the same plan.
ALTER TABLE domestic_plans ADD COLUMN billing_id TEXT;
CREATE UNIQUE INDEX domestic_plans_billing_id ON domestic_plans(subscriber_id, billing_id) WHERE billing_id IS NOT NULL;

-- A change an API client made is audited as theirs.
ALTER TABLE audit_log ADD COLUMN api_client_id INTEGER REFERENCES api_clients(id);

-- The search index follows the searched columns only: billing's nightly
-- export moves billing_as_of on every subscriber, which must not rewrite
-- the whole index.
DROP TRIGGER subscribers_search_update;
CREATE TRIGGER subscribers_search_update AFTER UPDATE OF account_number, name, email, phone ON subscribers BEGIN
    DELETE FROM subscriber_search WHERE rowid = old.id;
    INSERT INTO subscriber_search (rowid, account_number, name, email, phone_digits)
    VALUES (new.id, new.account_number, new.name, new.email,
        replace(replace(replace(replace(replace(new.phone, ' ', ''), '-', ''), '+', ''), '(', ''), ')', ''));
END;
