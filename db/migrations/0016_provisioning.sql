-- An eSIM's order at the SM-DP+ over GSMA ES2+, for eSIMs allocated while an
-- SM-DP+ is configured (provisioning.go has the rules). The QR email of the
-- eSIM is written to the outbox only once the SM-DP+ has released the
-- profile, in the change that records it.
CREATE TABLE smdp_orders (
    iccid           TEXT PRIMARY KEY REFERENCES esims(iccid),
    -- queued: downloadOrder and confirmOrder still to do; released: the
    -- profile can be downloaded with matching_id; refused: the SM-DP+
    -- answered Failed, for good; cancelling: cancelOrder still to do;
    -- cancelled: done.
    state           TEXT NOT NULL CHECK (state IN ('queued', 'released', 'refused', 'cancelling', 'cancelled')),
    -- Where a queued order is: 'download' until downloadOrder went through;
    -- 'confirm' from just before the first confirmOrder is sent, so that,
    -- whatever happens to its answer (a crash included), the next one knows
    -- the SM-DP+ may have acted on it.
    step            TEXT NOT NULL DEFAULT 'download' CHECK (step IN ('download', 'confirm')),
    -- The portal's own MatchingID, sent at confirmOrder, so that a retry
    -- after a lost answer is recognised as the portal's own.
    matching_id     TEXT NOT NULL CHECK (matching_id <> '' AND matching_id NOT GLOB '*[^0-9A-Z-]*'),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    -- Why the last attempt did not go through (a transport failure).
    last_error      TEXT,
    -- A Failed answer: its subjectCode/reasonCode and what the SM-DP+ said.
    status_code     TEXT,
    refusal         TEXT,
    queued_at       TEXT NOT NULL,
    released_at     TEXT
) WITHOUT ROWID;
CREATE INDEX smdp_orders_due ON smdp_orders(next_attempt_at) WHERE state IN ('queued', 'cancelling');

-- What the SM-DP+ reported through handleDownloadProgressInfo, each report
-- once: the line's timeline, and the install error a failure is until a
-- newer report of the phone. message is the failure in an agent's words.
CREATE TABLE smdp_notifications (
    id          INTEGER PRIMARY KEY,
    iccid       TEXT NOT NULL REFERENCES esims(iccid),
    point       INTEGER NOT NULL,
    status      TEXT NOT NULL,
    status_code TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (iccid, point, status, at)
);
