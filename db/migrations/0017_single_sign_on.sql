-- Single sign-on: a login the identity provider signs in is keyed by its
-- issuer and subject once linked, never by its email again, so two identities
-- cannot take one login. Such a login has no password (an empty hash, which
-- no password matches). A break-glass login keeps its password when password
-- sign-in is off for everyone else; last_sign_in_at is shown on the Users page.
ALTER TABLE logins ADD COLUMN oidc_issuer TEXT;
ALTER TABLE logins ADD COLUMN oidc_subject TEXT;
ALTER TABLE logins ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0 CHECK (break_glass IN (0, 1));
ALTER TABLE logins ADD COLUMN last_sign_in_at TEXT;
CREATE UNIQUE INDEX logins_oidc_subject ON logins(oidc_issuer, oidc_subject) WHERE oidc_subject IS NOT NULL;
