-- How many eSIMs of each IMSI profile are in each state, kept by triggers in
-- the same transaction as every change of the inventory, so the stock
-- summary reads a few rows instead of counting a million.
CREATE TABLE esim_stock (
    imsi_profile INTEGER NOT NULL,
    state        TEXT NOT NULL,
    count        INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (imsi_profile, state)
) WITHOUT ROWID;

INSERT INTO esim_stock (imsi_profile, state, count)
SELECT imsi_profile, state, count(*) FROM esims GROUP BY imsi_profile, state;

CREATE TRIGGER esims_stock_insert AFTER INSERT ON esims BEGIN
    INSERT INTO esim_stock (imsi_profile, state, count) VALUES (new.imsi_profile, new.state, 1)
        ON CONFLICT (imsi_profile, state) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER esims_stock_delete AFTER DELETE ON esims BEGIN
    UPDATE esim_stock SET count = count - 1 WHERE imsi_profile = old.imsi_profile AND state = old.state;
END;

CREATE TRIGGER esims_stock_update AFTER UPDATE OF state, imsi_profile ON esims
WHEN old.state IS NOT new.state OR old.imsi_profile IS NOT new.imsi_profile BEGIN
    UPDATE esim_stock SET count = count - 1 WHERE imsi_profile = old.imsi_profile AND state = old.state;
    INSERT INTO esim_stock (imsi_profile, state, count) VALUES (new.imsi_profile, new.state, 1)
        ON CONFLICT (imsi_profile, state) DO UPDATE SET count = count + 1;
END;
