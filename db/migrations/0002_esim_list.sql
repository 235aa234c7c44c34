-- Indexes of the eSIM List (db/esimlist.go). Each page is an index seek from
-- the page's cursor, so a page deep in the list costs what the first does.
-- The List's scans read these indexes alone, never the table: each holds the
-- columns the List filters on.

-- Allocated eSIMs, newest allocation first; also what a broad search walks.
CREATE INDEX esims_list_allocated ON esims(allocated_at, iccid, imsi_profile, allocated_by, subscriber_id, line_name)
    WHERE allocated_at IS NOT NULL;
-- The same, for one IMSI profile.
CREATE INDEX esims_list_profile ON esims(imsi_profile, allocated_at, iccid) WHERE allocated_at IS NOT NULL;
-- The same, for one login that allocated.
CREATE INDEX esims_list_by ON esims(allocated_by, allocated_at, iccid, imsi_profile, subscriber_id, line_name)
    WHERE allocated_by IS NOT NULL;
-- Free and retired eSIMs, newest delivery first; and retired ones of one
-- IMSI profile (free ones of one profile have esims_free).
CREATE INDEX esims_list_stocked ON esims(state, stocked_at, iccid, imsi_profile);
CREATE INDEX esims_list_retired ON esims(imsi_profile, stocked_at, iccid) WHERE state = 'retired';
-- The List in ICCID order, for one state.
CREATE INDEX esims_list_iccid ON esims(state, iccid, imsi_profile, allocated_by, allocated_at, subscriber_id, line_name);
-- Search by the start of a line name, in any case.
CREATE INDEX esims_list_line_name ON esims(line_name COLLATE NOCASE) WHERE line_name IS NOT NULL;
-- Search by the last digits of an ICCID: the last four narrow it to a
-- ten-thousandth of the inventory.
CREATE INDEX esims_list_iccid_last4 ON esims(substr(iccid, -4));
-- Search subscribers by surname: whatever follows the first space of the name.
CREATE INDEX subscribers_surname ON subscribers(substr(name, instr(name, ' ') + 1) COLLATE NOCASE);
