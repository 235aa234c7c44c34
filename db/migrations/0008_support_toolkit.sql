-- The support toolkit: a plan cancelled before it started keeps why; an eSIM
-- taken out of use keeps why, and, when it was replaced, which eSIM took its
-- place (db/replaceesim.go).
ALTER TABLE esim_plans ADD COLUMN cancel_reason TEXT;
ALTER TABLE esims ADD COLUMN retired_reason TEXT;
ALTER TABLE esims ADD COLUMN replaced_by TEXT REFERENCES esims(iccid);
CREATE INDEX esims_replaced_by ON esims(replaced_by) WHERE replaced_by IS NOT NULL;
