-- Customer notices about a plan: it started, its data runs low, its data is
-- used up, it ends soon, it ended (db/notices.go has the rules). Each goes out
-- at most once per plan: the unique index below says so, whatever races. And
-- the confirmation that an unused plan was cancelled.
--
-- The outbox's CHECK on kind grows, so the table is rebuilt (foreign keys are
-- off while a migration runs; db.migrate checks them before it commits).

CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('qr', 'confirmation', 'plan_cancelled',
                        'plan_started', 'data_low', 'data_used_up', 'ends_soon', 'plan_ended')),
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id),
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
    CHECK (kind IN ('qr', 'confirmation', 'plan_cancelled') OR esim_plan_id IS NOT NULL)
);
INSERT INTO outbox_new SELECT * FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_subscriber ON outbox(subscriber_id, id);
CREATE INDEX outbox_iccid ON outbox(iccid);
CREATE UNIQUE INDEX outbox_once_per_plan ON outbox(esim_plan_id, kind)
    WHERE kind IN ('plan_started', 'data_low', 'data_used_up', 'ends_soon', 'plan_ended');

-- At the customer's request, an agent turns the notices off (or on again);
-- the QR and confirmation emails always go: they are the order.
ALTER TABLE subscribers ADD COLUMN plan_notices INTEGER NOT NULL DEFAULT 1 CHECK (plan_notices IN (0, 1));

-- The scheduler's work lists, each an index of the few plans it still has to
-- look at: active plans whose "ends soon" is not yet decided, and active
-- plans by their end, for "ended".
ALTER TABLE esim_plans ADD COLUMN reminded INTEGER NOT NULL DEFAULT 0 CHECK (reminded IN (0, 1));
CREATE INDEX esim_plans_to_remind ON esim_plans(expires_at) WHERE state = 'active' AND reminded = 0;
CREATE INDEX esim_plans_to_end ON esim_plans(expires_at) WHERE state = 'active';
