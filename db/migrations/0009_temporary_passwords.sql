-- A password a team lead set for someone (a new login's, or a reset one) is
-- temporary: they know it, so the next sign-in must choose a new one.
ALTER TABLE logins ADD COLUMN password_temporary INTEGER NOT NULL DEFAULT 0 CHECK (password_temporary IN (0, 1));
