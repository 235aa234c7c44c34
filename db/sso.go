package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Audit actions of single sign-on and break-glass logins.
const (
	ActionSSOSignIn        = "sign_in_sso"
	ActionSSORefused       = "sign_in_sso_refused"
	ActionBreakGlassSignIn = "sign_in_break_glass"
	ActionSetBreakGlass    = "set_break_glass"
)

// SSOIdentity is who the identity provider says signed in, from a verified
// ID token.
type SSOIdentity struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// SignInSSO finds or creates the login of a person the identity provider
// signed in, with the role their groups give, in one change with its audit
// entry. The rules:
//   - the provider's issuer and subject are the key: a login linked once is
//     found by them, and its email, name and role follow the provider at
//     every sign-in;
//   - the first sign-in of a subject takes over a login with the same email
//     that no identity holds yet (a password login made before single
//     sign-on), only if the provider verified that email; a login another
//     identity holds is never taken over, whatever the email says;
//   - otherwise the first sign-in creates the login, without a password;
//   - a disabled login stays disabled: the sign-in is refused.
func (s *Store) SignInSSO(ctx context.Context, id SSOIdentity, role Role) (_ Login, err error) {
	defer func() { err = failed("sign in through the identity provider", err) }()
	id.Email, id.Name = strings.TrimSpace(id.Email), strings.TrimSpace(id.Name)
	if id.Issuer == "" || id.Subject == "" {
		return Login{}, errors.New("an identity without issuer or subject")
	}
	if !strings.Contains(id.Email, "@") {
		return Login{}, refuse(ErrInvalid, "", "The identity provider sent no email address for you: the portal's registration there must grant the email scope.")
	}
	if id.Name == "" {
		id.Name = id.Email
	}
	if role != RoleAgent && role != RoleLead {
		return Login{}, fmt.Errorf("role %q", role)
	}
	var l Login
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		var disabled nullTime
		err := tx.QueryRowContext(ctx, `SELECT id, disabled_at FROM logins WHERE oidc_issuer = ? AND oidc_subject = ?`,
			id.Issuer, id.Subject).Scan(&l.ID, &disabled)
		detail := ""
		switch {
		case errors.Is(err, sql.ErrNoRows):
			var subject sql.NullString
			err := tx.QueryRowContext(ctx, `SELECT id, disabled_at, oidc_subject FROM logins WHERE email = ?`, id.Email).
				Scan(&l.ID, &disabled, &subject)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				res, err := tx.ExecContext(ctx, `INSERT INTO logins (email, name, role, password_hash, created_at) VALUES (?, ?, ?, '', ?)`,
					id.Email, id.Name, role, formatTime(tx.now))
				if err != nil {
					return err
				}
				if l.ID, err = res.LastInsertId(); err != nil {
					return err
				}
				detail = "first sign-in: login created"
			case err != nil:
				return err
			case subject.Valid:
				return refuse(ErrConflict, "", "Another identity of the identity provider already signs in as "+id.Email+": ask a team lead.")
			case !id.EmailVerified:
				return refuse(ErrConflict, "", "A login with the email "+id.Email+" exists, and the identity provider has not verified that this email is yours: ask a team lead.")
			default:
				detail = "first sign-in: linked to the existing login"
			}
		case err != nil:
			return err
		}
		if disabled.Valid {
			return refuse(ErrForbidden, "", "Your login is disabled: ask a team lead.")
		}
		var taken bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM logins WHERE email = ? AND id <> ?)`, id.Email, l.ID).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return refuse(ErrConflict, "", "Another login already has the email "+id.Email+": ask a team lead.")
		}
		// A temporary password, which a team lead knows, is dropped rather
		// than asked to be changed: the provider signed the person in.
		err = tx.QueryRowContext(ctx, `UPDATE logins SET oidc_issuer = ?, oidc_subject = ?, email = ?, name = ?, role = ?, last_sign_in_at = ?,
				password_hash = CASE WHEN password_temporary THEN '' ELSE password_hash END, password_temporary = 0
			WHERE id = ? RETURNING email, name, role, break_glass`,
			id.Issuer, id.Subject, id.Email, id.Name, role, formatTime(tx.now), l.ID).
			Scan(&l.Email, &l.Name, &l.Role, &l.BreakGlass)
		if err != nil {
			return err
		}
		l.SSO = true
		return audit(ctx, tx, l, ActionSSOSignIn, 0, "", strings.TrimPrefix(detail+", as "+strings.ToLower(role.Label()), ", "))
	})
	if err != nil {
		return Login{}, err
	}
	return l, nil
}

// RecordSSORefusal writes to the audit log that the identity provider signed
// someone in whom the portal refused, and why (such as the groups they
// lack). Nothing else is written: no login is made.
func (s *Store) RecordSSORefusal(ctx context.Context, id SSOIdentity, reason string) (err error) {
	defer func() { err = failed("record refused sign-in", err) }()
	who := id.Email
	if who == "" {
		who = "subject " + id.Subject
	}
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		return audit(ctx, tx, Login{}, ActionSSORefused, 0, "", who+": "+reason)
	})
}

// SetBreakGlass marks a login as break-glass or not: a break-glass login
// signs in with its password even when password sign-in is off for everyone
// else. Audited.
func (s *Store) SetBreakGlass(ctx context.Context, id int64, on bool, by Login) (err error) {
	defer func() { err = failed("set break-glass", err) }()
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		var email string
		err := tx.QueryRowContext(ctx, `UPDATE logins SET break_glass = ? WHERE id = ? RETURNING email`, on, id).Scan(&email)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(ErrNotFound, "", "No such login.")
		}
		if err != nil {
			return err
		}
		detail := email + ": no longer break-glass"
		if on {
			detail = email + ": break-glass, signs in with a password when password sign-in is off"
		}
		return audit(ctx, tx, by, ActionSetBreakGlass, 0, "", detail)
	})
}

// BreakGlassSignIns returns the break-glass sign-ins since a time, newest
// first: every team lead sees them on the Users page.
func (s *Store) BreakGlassSignIns(ctx context.Context, since time.Time) (_ []AuditEntry, err error) {
	defer func() { err = failed("list break-glass sign-ins", err) }()
	rows, err := s.read.QueryContext(ctx, `SELECT a.id, a.at, l.name, l.email FROM audit_log a JOIN logins l ON l.id = a.login_id
		WHERE a.action = ? AND a.at >= ? ORDER BY a.at DESC, a.id DESC LIMIT 50`, ActionBreakGlassSignIn, formatTime(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e := AuditEntry{Action: ActionBreakGlassSignIn}
		if err := rows.Scan(&e.ID, dbTime{&e.At}, &e.LoginName, &e.LoginEmail); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
