-- Retention (db/retention.go has the rules): usage records past the window
-- are rolled up into one row per eSIM, UTC day of their start and country,
-- and deleted with their charges in the same change.
CREATE TABLE usage_days (
    iccid           TEXT NOT NULL REFERENCES esims(iccid),
    day             TEXT NOT NULL CHECK (length(day) = 10), -- YYYY-MM-DD
    country         TEXT NOT NULL CHECK (length(country) = 2 AND country = upper(country)),
    bytes           INTEGER NOT NULL CHECK (bytes >= 0),
    uncovered_bytes INTEGER NOT NULL CHECK (uncovered_bytes BETWEEN 0 AND bytes),
    first_at        TEXT NOT NULL, -- the earliest start of the day's records
    last_at         TEXT NOT NULL CHECK (last_at >= first_at), -- their latest end
    records         INTEGER NOT NULL CHECK (records > 0),
    last_mcc        TEXT, -- the network of the record that ended last, as reported
    PRIMARY KEY (iccid, day, country)
) WITHOUT ROWID;
-- The few days some of whose data no plan took, for the line's warning.
CREATE INDEX usage_days_uncovered ON usage_days(iccid) WHERE uncovered_bytes > 0;

-- What the rolled-up records had charged each plan: a plan's data used is
-- this plus the charges of its records still kept whole (Store.CheckUsage).
CREATE TABLE usage_plan_rollups (
    esim_plan_id INTEGER PRIMARY KEY REFERENCES esim_plans(id),
    bytes        INTEGER NOT NULL CHECK (bytes > 0)
);

-- A sent email whose text was removed after the retention period: how many
-- days it was kept, for its preview to say so. NULL while it is whole.
ALTER TABLE outbox ADD COLUMN body_kept_days INTEGER;
-- The sent emails still whole, oldest first: what the pass thins next.
CREATE INDEX outbox_body_kept ON outbox(sent_at) WHERE state = 'sent' AND body_kept_days IS NULL;
