-- The whole domain of the portal. Times are UTC text in one fixed-width format
-- (2006-01-02T15:04:05.000Z), so they sort as text and read well in the sqlite shell.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE logins (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('agent', 'lead')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT
);

-- Server-side sessions: the cookie carries only the signed id, so a logout or a
-- disabled login ends a session for good.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    login_id     INTEGER REFERENCES logins(id) ON DELETE CASCADE,
    data         BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_login ON sessions(login_id);

CREATE TABLE subscribers (
    id             INTEGER PRIMARY KEY,
    account_number TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    email          TEXT NOT NULL,
    phone          TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX subscribers_name ON subscribers(name COLLATE NOCASE);
CREATE INDEX subscribers_email ON subscribers(email COLLATE NOCASE);
CREATE INDEX subscribers_phone ON subscribers(phone);

-- The subscriber's home plans. Each Unlimited All plan or Unlimited bundle
-- entitles the subscriber to one complimentary travel eSIM.
CREATE TABLE domestic_plans (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('unlimited_all', 'unlimited_bundle', 'other')),
    lines         INTEGER NOT NULL DEFAULT 1 CHECK (lines >= 1),
    qualifies     INTEGER GENERATED ALWAYS AS (kind IN ('unlimited_all', 'unlimited_bundle')) VIRTUAL,
    since         TEXT NOT NULL
);
CREATE INDEX domestic_plans_subscriber ON domestic_plans(subscriber_id);

-- The international data plan catalog.
CREATE TABLE plans (
    id            INTEGER PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    region        TEXT NOT NULL,
    data_mb       INTEGER NOT NULL CHECK (data_mb > 0),
    validity_days INTEGER NOT NULL DEFAULT 30 CHECK (validity_days = 30),
    imsi_profile  INTEGER NOT NULL CHECK (imsi_profile IN (2, 7, 10)),
    price_cents   INTEGER NOT NULL CHECK (price_cents >= 0),
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);

-- ISO 3166-1 alpha-2 codes of the countries a plan covers.
CREATE TABLE plan_destinations (
    plan_id INTEGER NOT NULL REFERENCES plans(id),
    country TEXT NOT NULL CHECK (length(country) = 2 AND country = upper(country)),
    PRIMARY KEY (plan_id, country)
) WITHOUT ROWID;
CREATE INDEX plan_destinations_country ON plan_destinations(country);

-- The eSIM inventory. The Luhn check digit of the ICCID is verified by the
-- store before every insert; the shape is enforced here too.
CREATE TABLE esims (
    iccid         TEXT PRIMARY KEY
                  CHECK (length(iccid) BETWEEN 19 AND 20 AND iccid GLOB '89*' AND iccid NOT GLOB '*[^0-9]*'),
    imsi_profile  INTEGER NOT NULL CHECK (imsi_profile IN (2, 7, 10)),
    smdp_address  TEXT NOT NULL CHECK (smdp_address <> ''),
    matching_id   TEXT NOT NULL CHECK (matching_id <> ''),
    state         TEXT NOT NULL DEFAULT 'free' CHECK (state IN ('free', 'allocated', 'retired')),
    stocked_at    TEXT NOT NULL,
    subscriber_id INTEGER REFERENCES subscribers(id),
    line_name     TEXT,
    allocated_at  TEXT,
    allocated_by  INTEGER REFERENCES logins(id),
    -- Last state of the profile on the phone, as the SM-DP+ reports it.
    profile_state    TEXT CHECK (profile_state IN ('downloaded', 'installed', 'enabled', 'disabled', 'deleted')),
    profile_state_at TEXT,
    CHECK ((state = 'allocated') = (subscriber_id IS NOT NULL)),
    CHECK ((subscriber_id IS NULL) = (line_name IS NULL)),
    CHECK ((subscriber_id IS NULL) = (allocated_at IS NULL)),
    CHECK ((subscriber_id IS NULL) = (allocated_by IS NULL)),
    CHECK ((profile_state IS NULL) = (profile_state_at IS NULL))
) WITHOUT ROWID;
-- Two eSIMs never share an activation code.
CREATE UNIQUE INDEX esims_activation_code ON esims(smdp_address, matching_id);
-- The free eSIM that has waited longest is the next one handed out.
CREATE INDEX esims_free ON esims(imsi_profile, stocked_at, iccid) WHERE state = 'free';
CREATE INDEX esims_allocated ON esims(allocated_at DESC, iccid DESC);
CREATE INDEX esims_subscriber ON esims(subscriber_id);
CREATE UNIQUE INDEX esims_line_name ON esims(subscriber_id, line_name COLLATE NOCASE) WHERE state = 'allocated';

-- Plans put on eSIMs. A plan is one-off: pending until the phone first attaches
-- in one of its destinations, then active for validity_days, then expired.
CREATE TABLE esim_plans (
    id           INTEGER PRIMARY KEY,
    order_number TEXT NOT NULL UNIQUE,
    iccid        TEXT NOT NULL REFERENCES esims(iccid),
    plan_id      INTEGER NOT NULL REFERENCES plans(id),
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'active', 'expired')),
    added_at     TEXT NOT NULL,
    added_by     INTEGER REFERENCES logins(id),
    activated_at TEXT,
    expires_at   TEXT,
    CHECK ((state = 'pending') = (activated_at IS NULL)),
    CHECK ((activated_at IS NULL) = (expires_at IS NULL))
);
CREATE INDEX esim_plans_iccid ON esim_plans(iccid, id);

-- Emails are written here in the same transaction as the change they report,
-- and a background worker delivers them.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('qr', 'confirmation')),
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
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_subscriber ON outbox(subscriber_id, id);
CREATE INDEX outbox_iccid ON outbox(iccid);

-- One-time form tokens: a repeated submit finds its first result here.
CREATE TABLE form_submissions (
    token      TEXT PRIMARY KEY,
    login_id   INTEGER NOT NULL REFERENCES logins(id),
    result     TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;

-- Network reports: where an eSIM attached, and what the SM-DP+ saw.
CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    iccid       TEXT NOT NULL REFERENCES esims(iccid),
    country     TEXT NOT NULL CHECK (length(country) = 2 AND country = upper(country)),
    mcc         TEXT,
    attached_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (iccid, country, attached_at)
);

CREATE TABLE profile_events (
    id          INTEGER PRIMARY KEY,
    iccid       TEXT NOT NULL REFERENCES esims(iccid),
    event       TEXT NOT NULL CHECK (event IN ('downloaded', 'installed', 'enabled', 'disabled', 'deleted')),
    at          TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (iccid, event, at)
);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    login_id      INTEGER REFERENCES logins(id),
    action        TEXT NOT NULL,
    subscriber_id INTEGER REFERENCES subscribers(id),
    iccid         TEXT,
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at DESC, id DESC);
CREATE INDEX audit_log_subscriber ON audit_log(subscriber_id);
CREATE INDEX audit_log_iccid ON audit_log(iccid);
