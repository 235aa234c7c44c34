-- When a replaced eSIM left its line: the network's late usage records of
-- it, from before that moment, are still the line's (db/usage.go, rule 6).
-- The replacements made before this column are dated by their audit entry,
-- written in the same change.
ALTER TABLE esims ADD COLUMN replaced_at TEXT;
UPDATE esims SET replaced_at = (SELECT min(al.at) FROM audit_log al WHERE al.action = 'replace_esim' AND al.iccid = esims.replaced_by)
WHERE replaced_by IS NOT NULL;
