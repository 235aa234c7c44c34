-- Retention of the networks' other reports (db/retention.go, rule 3):
-- attachments and profile events past the usage window are rolled up into
-- one row per eSIM, UTC day and country (or event), and deleted in the same
-- change. The eSIM keeps its profile state (esims.profile_state) as before.
CREATE TABLE attachment_days (
    iccid       TEXT NOT NULL REFERENCES esims(iccid),
    day         TEXT NOT NULL CHECK (length(day) = 10), -- YYYY-MM-DD of attached_at
    country     TEXT NOT NULL CHECK (length(country) = 2 AND country = upper(country)),
    attachments INTEGER NOT NULL CHECK (attachments > 0),
    first_at    TEXT NOT NULL, -- the day's first attached_at
    last_at     TEXT NOT NULL CHECK (last_at >= first_at), -- and its last
    last_mcc    TEXT, -- the network of the last one, as reported
    PRIMARY KEY (iccid, day, country)
) WITHOUT ROWID;

CREATE TABLE profile_event_days (
    iccid    TEXT NOT NULL REFERENCES esims(iccid),
    day      TEXT NOT NULL CHECK (length(day) = 10), -- YYYY-MM-DD of at
    event    TEXT NOT NULL CHECK (event IN ('downloaded', 'installed', 'enabled', 'disabled', 'deleted')),
    events   INTEGER NOT NULL CHECK (events > 0),
    first_at TEXT NOT NULL,
    last_at  TEXT NOT NULL CHECK (last_at >= first_at),
    PRIMARY KEY (iccid, day, event)
) WITHOUT ROWID;
