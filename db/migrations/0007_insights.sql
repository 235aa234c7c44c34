-- Team-lead insights (db/insights.go): the daily low-stock email to team
-- leads, and indexes for the figures and the List's install filter.
--
-- A low-stock email goes to a login, not to a subscriber, and is about an
-- IMSI profile: the outbox gains login_id and imsi_profile, and an email is
-- addressed to exactly one subscriber or one login. Its CHECK on kind grows
-- and subscriber_id may now be NULL, so the table is rebuilt (foreign keys
-- are off while a migration runs; db.migrate checks them before it commits).

CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('qr', 'confirmation', 'plan_cancelled',
                        'plan_started', 'data_low', 'data_used_up', 'ends_soon', 'plan_ended', 'low_stock')),
    subscriber_id   INTEGER REFERENCES subscribers(id),
    iccid           TEXT REFERENCES esims(iccid),
    esim_plan_id    INTEGER REFERENCES esim_plans(id),
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    queued_at       TEXT NOT NULL,
    sent_at         TEXT,
    -- The team lead a low-stock email goes to, and the profile it is about.
    login_id        INTEGER REFERENCES logins(id),
    imsi_profile    INTEGER CHECK (imsi_profile IN (2, 7, 10)),
    CHECK (kind IN ('qr', 'confirmation', 'plan_cancelled', 'low_stock') OR esim_plan_id IS NOT NULL),
    CHECK ((subscriber_id IS NULL) <> (login_id IS NULL)),
    CHECK ((kind = 'low_stock') = (login_id IS NOT NULL)),
    CHECK ((kind = 'low_stock') = (imsi_profile IS NOT NULL))
);
INSERT INTO outbox_new (id, kind, subscriber_id, iccid, esim_plan_id, to_address, subject, text_body, html_body,
        message_id, state, attempts, next_attempt_at, last_error, queued_at, sent_at)
    SELECT id, kind, subscriber_id, iccid, esim_plan_id, to_address, subject, text_body, html_body,
        message_id, state, attempts, next_attempt_at, last_error, queued_at, sent_at
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_subscriber ON outbox(subscriber_id, id);
CREATE INDEX outbox_iccid ON outbox(iccid);
-- The metrics' indexes of 0006, which the rebuild dropped with the table.
CREATE INDEX outbox_queued ON outbox(queued_at) WHERE state = 'queued';
CREATE INDEX outbox_failed ON outbox(queued_at) WHERE state = 'failed';
CREATE UNIQUE INDEX outbox_once_per_plan ON outbox(esim_plan_id, kind)
    WHERE kind IN ('plan_started', 'data_low', 'data_used_up', 'ends_soon', 'plan_ended');
-- Once per lead, profile and UTC day, whatever races or restarts.
CREATE UNIQUE INDEX outbox_low_stock_once ON outbox(login_id, imsi_profile, substr(queued_at, 1, 10))
    WHERE kind = 'low_stock';
-- The emails of the last days, for Insights' email health.
CREATE INDEX outbox_queued_at ON outbox(queued_at);

-- The plans given over the last days, for Insights: a range of this index
-- instead of every plan ever sold.
CREATE INDEX esim_plans_added ON esim_plans(added_at);

-- The List's "never installed" filter (db/esimlist_filter.go): allocated
-- eSIMs whose profile never got past a download, newest allocation first.
CREATE INDEX esims_list_never_installed ON esims(allocated_at, iccid)
    WHERE allocated_at IS NOT NULL AND (profile_state IS NULL OR profile_state = 'downloaded');
