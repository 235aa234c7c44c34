package db

import (
	"context"
	"database/sql"
	"fmt"
)

// Logins returns every login, active ones first, by name. Disabled logins
// are listed too: their past changes and allocations remain theirs.
func (s *Store) Logins(ctx context.Context) (_ []Login, err error) {
	defer func() { err = failed("list logins", err) }()
	rows, err := s.read.QueryContext(ctx, `SELECT id, email, name, role, disabled_at IS NOT NULL, password_temporary,
		oidc_subject IS NOT NULL, break_glass, last_sign_in_at FROM logins
		ORDER BY disabled_at IS NOT NULL, name, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Login
	for rows.Next() {
		var l Login
		var last nullTime
		if err := rows.Scan(&l.ID, &l.Email, &l.Name, &l.Role, &l.Disabled, &l.PasswordTemporary, &l.SSO, &l.BreakGlass, &last); err != nil {
			return nil, err
		}
		l.LastSignIn = last.Time
		out = append(out, l)
	}
	return out, rows.Err()
}

// AddLogin is CreateLogin done by a team lead, and written to the audit log
// in the same change. The password is temporary: the team lead knows it, so
// the new login chooses its own at its first sign-in.
func (s *Store) AddLogin(ctx context.Context, email, name string, role Role, password string, by Login) (_ Login, err error) {
	defer func() { err = failed("add login", err) }()
	l, hash, err := s.checkNewLogin(email, name, role, password)
	errs := Refusals(err)
	if err != nil && errs == nil {
		return Login{}, err
	}
	// An email already in use is said with the other refusals, so the team
	// lead fixes the form in one go; insertLogin checks again in the change.
	var taken bool
	if err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM logins WHERE email = ?)`, l.Email).Scan(&taken); err != nil {
		return Login{}, err
	}
	if taken {
		errs = append(Errors{emailTaken()}, errs...)
	}
	if err := errs.Err(); err != nil {
		return Login{}, err
	}
	l.PasswordTemporary = true
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		if err := insertLogin(ctx, tx, &l, hash); err != nil {
			return err
		}
		return audit(ctx, tx, by, "add_login", 0, "", fmt.Sprintf("%s (%s), %s, with a temporary password", l.Email, l.Name, l.Role.Label()))
	})
	return l, err
}

// SetLoginDisabled disables or enables a login. Disabling ends its sessions
// at once, and the last active team lead cannot be disabled, so someone can
// always manage logins.
func (s *Store) SetLoginDisabled(ctx context.Context, id int64, disabled bool, by Login) (err error) {
	defer func() { err = failed("set login disabled", err) }()
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		var l Login
		var isDisabled bool
		err := tx.QueryRowContext(ctx, `SELECT id, email, name, role, disabled_at IS NOT NULL FROM logins WHERE id = ?`, id).
			Scan(&l.ID, &l.Email, &l.Name, &l.Role, &isDisabled)
		if err == sql.ErrNoRows {
			return refuse(ErrNotFound, "", "No such login.")
		}
		if err != nil {
			return err
		}
		if isDisabled == disabled {
			return nil
		}
		action := "enable_login"
		if disabled {
			action = "disable_login"
			if l.Role == RoleLead {
				var others int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM logins WHERE role = 'lead' AND disabled_at IS NULL AND id <> ?`, id).Scan(&others); err != nil {
					return err
				}
				if others == 0 {
					return refuse(ErrConflict, "", l.Name+" is the last active team lead and cannot be disabled: make another team lead first.")
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE logins SET disabled_at = ? WHERE id = ?`, formatTime(tx.now), id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE login_id = ?`, id); err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, `UPDATE logins SET disabled_at = NULL WHERE id = ?`, id); err != nil {
			return err
		}
		return audit(ctx, tx, by, action, 0, "", auditPerson(l))
	})
}

// ResetPassword gives another login a temporary password, which its next
// sign-in must replace, and ends its sessions, so a leaked password stops
// working everywhere. A team lead changes their own password with
// ChangePassword instead: a password they chose is not temporary. A login
// the identity provider signs in gets none unless it is break-glass: a
// portal password would outlast its removal from the provider's groups.
func (s *Store) ResetPassword(ctx context.Context, id int64, password string, by Login) (err error) {
	defer func() { err = failed("reset password", err) }()
	if id == by.ID {
		return refuse(ErrConflict, "", "That is your own login: change your password with Change password, which asks for the one you have.")
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		var sso bool
		err := tx.QueryRowContext(ctx, `SELECT oidc_subject IS NOT NULL AND NOT break_glass FROM logins WHERE id = ?`, id).Scan(&sso)
		if err == sql.ErrNoRows {
			return refuse(ErrNotFound, "", "No such login.")
		}
		if err != nil {
			return err
		}
		if sso {
			return refuse(ErrConflict, "", "This login signs in with the company account, whose password is managed at the identity provider. Make it break-glass first to give it a portal password.")
		}
		var email string
		err = tx.QueryRowContext(ctx, `UPDATE logins SET password_hash = ?, password_temporary = 1 WHERE id = ? RETURNING email`,
			string(hash), id).Scan(&email)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE login_id = ?`, id); err != nil {
			return err
		}
		return audit(ctx, tx, by, "reset_password", 0, "", email+": a temporary password, signed out everywhere")
	})
}

// ChangePassword sets the password l chose, which is no longer temporary,
// and ends all of l's sessions: the caller starts a new one. The caller has
// checked l's current password.
func (s *Store) ChangePassword(ctx context.Context, l Login, password string) (err error) {
	defer func() { err = failed("change password", err) }()
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		res, err := tx.ExecContext(ctx, `UPDATE logins SET password_hash = ?, password_temporary = 0 WHERE id = ? AND disabled_at IS NULL`,
			string(hash), l.ID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return refuse(ErrNotFound, "", "No such login.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE login_id = ?`, l.ID); err != nil {
			return err
		}
		return audit(ctx, tx, l, "change_password", 0, "", auditPerson(l))
	})
}
