-- Data on every plan. A plan on an eSIM now counts the bytes charged to it
-- (db/usage.go has the rule) and can end early: used up when its data runs
-- out before its 30 days, or cancelled before it started. 'pending' is now
-- called what agents call it: queued.
--
-- SQLite cannot change a CHECK constraint in place, so esim_plans is rebuilt
-- (foreign keys are off while a migration runs; db.migrate checks them
-- before it commits).

CREATE TABLE esim_plans_new (
    id           INTEGER PRIMARY KEY,
    order_number TEXT NOT NULL UNIQUE,
    iccid        TEXT NOT NULL REFERENCES esims(iccid),
    plan_id      INTEGER NOT NULL REFERENCES plans(id),
    state        TEXT NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'active', 'used_up', 'expired', 'cancelled')),
    added_at     TEXT NOT NULL,
    added_by     INTEGER REFERENCES logins(id),
    activated_at TEXT,
    expires_at   TEXT,
    -- The allowance the plan was sold with, in bytes (1 MB = 1,000,000 bytes),
    -- kept here so a later change of the catalog cannot change a sold plan.
    data_bytes   INTEGER NOT NULL CHECK (data_bytes > 0),
    used_bytes   INTEGER NOT NULL DEFAULT 0 CHECK (used_bytes BETWEEN 0 AND data_bytes),
    -- When the plan ended before its 30 days: the moment its data ran out, or
    -- when it was cancelled.
    ended_at     TEXT,
    CHECK ((state IN ('queued', 'cancelled')) = (activated_at IS NULL)),
    CHECK ((activated_at IS NULL) = (expires_at IS NULL)),
    CHECK ((state IN ('used_up', 'cancelled')) = (ended_at IS NOT NULL)),
    CHECK (state <> 'used_up' OR used_bytes = data_bytes),
    CHECK (state NOT IN ('queued', 'cancelled') OR used_bytes = 0)
);
INSERT INTO esim_plans_new (id, order_number, iccid, plan_id, state, added_at, added_by, activated_at, expires_at, data_bytes)
    SELECT ep.id, ep.order_number, ep.iccid, ep.plan_id, CASE ep.state WHEN 'pending' THEN 'queued' ELSE ep.state END,
           ep.added_at, ep.added_by, ep.activated_at, ep.expires_at, p.data_mb * 1000000
    FROM esim_plans ep JOIN plans p ON p.id = ep.plan_id;
DROP TABLE esim_plans;
ALTER TABLE esim_plans_new RENAME TO esim_plans;
CREATE INDEX esim_plans_iccid ON esim_plans(iccid, id);

-- Usage records as the networks report them: bytes one eSIM used in one
-- country over a window. record_id is the network's own id: a record is
-- applied once. uncovered_bytes is what no plan could take.
CREATE TABLE usage_records (
    id              INTEGER PRIMARY KEY,
    record_id       TEXT NOT NULL UNIQUE,
    iccid           TEXT NOT NULL REFERENCES esims(iccid),
    country         TEXT NOT NULL CHECK (length(country) = 2 AND country = upper(country)),
    mcc             TEXT,
    bytes           INTEGER NOT NULL CHECK (bytes >= 0),
    start_at        TEXT NOT NULL,
    end_at          TEXT NOT NULL CHECK (end_at >= start_at),
    uncovered_bytes INTEGER NOT NULL CHECK (uncovered_bytes BETWEEN 0 AND bytes),
    received_at     TEXT NOT NULL
);
CREATE INDEX usage_records_iccid ON usage_records(iccid, start_at);
-- The few records some of whose data no plan took, for the line's warning.
CREATE INDEX usage_records_uncovered ON usage_records(iccid) WHERE uncovered_bytes > 0;

-- Which plan each byte of a record was charged to.
CREATE TABLE usage_charges (
    usage_record INTEGER NOT NULL REFERENCES usage_records(id),
    esim_plan_id INTEGER NOT NULL REFERENCES esim_plans(id),
    bytes        INTEGER NOT NULL CHECK (bytes > 0),
    PRIMARY KEY (usage_record, esim_plan_id)
) WITHOUT ROWID;
CREATE INDEX usage_charges_plan ON usage_charges(esim_plan_id);
