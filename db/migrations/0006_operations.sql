-- What operations read often: the stock counts and the outbox.
--
-- How many eSIMs of each IMSI profile are in each state, so the stock panel
-- reads a few rows instead of counting a million. The statements that change
-- an eSIM's state keep the counts in their own transactions (db/stock.go): an
-- allocation moves one eSIM from free to allocated, an import adds its counts
-- once per delivery, a retirement moves one from free to retired. Not a
-- trigger: one per inserted row made a 100,000-row import twice as slow.
CREATE TABLE esim_stock (
    imsi_profile INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('free', 'allocated', 'retired')),
    count        INTEGER NOT NULL,
    PRIMARY KEY (imsi_profile, state)
) WITHOUT ROWID;

INSERT INTO esim_stock (imsi_profile, state, count)
SELECT imsi_profile, state, count(*) FROM esims GROUP BY imsi_profile, state;

-- The outbox as the metrics read it on every scrape: the oldest email still
-- queued, and how many failed for good, without reading every email sent.
CREATE INDEX outbox_queued ON outbox(queued_at) WHERE state = 'queued';
CREATE INDEX outbox_failed ON outbox(queued_at) WHERE state = 'failed';
