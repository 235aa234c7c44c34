-- When a network first reported the phone attached with an eSIM. A phone a
-- network saw has the eSIM installed and on, whatever the phone reported of
-- the profile (db/rules/whynodata.go, the Installed check): Insights'
-- funnel and the List's install filter count it as installed too, so that
-- a carrier that sends no profile events, or a line whose report was lost,
-- does not read as never installed while it is in use. Kept by Attach
-- (db/lifecycle.go); filled here from the attachments kept whole and the
-- days rolled up.
ALTER TABLE esims ADD COLUMN first_attached_at TEXT;

UPDATE esims SET first_attached_at = seen.at
FROM (
    SELECT iccid, min(at) AS at FROM (
        SELECT iccid, attached_at AS at FROM attachments
        UNION ALL
        SELECT iccid, first_at FROM attachment_days
    ) GROUP BY iccid
) AS seen
WHERE esims.iccid = seen.iccid;

DROP INDEX esims_list_never_installed;
CREATE INDEX esims_list_never_installed ON esims(allocated_at, iccid)
    WHERE allocated_at IS NOT NULL AND (profile_state IS NULL OR profile_state = 'downloaded') AND first_attached_at IS NULL;
