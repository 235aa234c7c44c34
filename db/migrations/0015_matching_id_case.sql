-- Matching IDs are kept in upper case (SGP.22), and an import compares them
-- so. eSIMs imported before may hold small letters in theirs: this index
-- holds those alone, by the upper-case ID, so that an import finds a clash
-- with them without reading the whole inventory. It stays empty otherwise.
CREATE INDEX esims_mixed_case_code ON esims(smdp_address, upper(matching_id))
    WHERE matching_id <> upper(matching_id);
