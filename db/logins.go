package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a login may do in the portal.
type Role string

const (
	RoleAgent Role = "agent" // support agent
	RoleLead  Role = "lead"  // team lead
)

// Label is the role as people say it.
func (r Role) Label() string {
	if r == RoleLead {
		return "Team lead"
	}
	return "Support agent"
}

// Login is a person who signs in to the portal.
type Login struct {
	ID       int64
	Email    string
	Name     string
	Role     Role
	Disabled bool
	// PasswordTemporary is set when a team lead chose the password: the next
	// sign-in must choose a new one before anything else.
	PasswordTemporary bool
	// SSO is set once the identity provider has signed the login in: its
	// issuer and subject are its key from then on.
	SSO bool
	// BreakGlass logins may sign in with a password when password sign-in is
	// off for everyone else; each such sign-in is audited.
	BreakGlass bool
	// LastSignIn is when the login last signed in, zero if never (Logins only).
	LastSignIn time.Time
}

// SignsInWith says how the login signs in, as the Users page shows it.
func (l Login) SignsInWith() string {
	switch {
	case l.BreakGlass:
		return "Break-glass password"
	case l.SSO:
		return "Single sign-on"
	}
	return "Password"
}

// Password limits. bcrypt reads at most 72 bytes, so longer passwords would
// silently share a hash; 72 bytes still allows 64 characters of most scripts.
const (
	MinPasswordLen  = 8
	MaxPasswordByte = 72
	// DefaultPasswordCost is bcrypt's work factor: about a quarter second a hash.
	DefaultPasswordCost = 12
)

// CheckPassword explains what is wrong with a new password, or returns nil.
func CheckPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return refuse(ErrInvalid, "password", "Password must have at least 8 characters.")
	}
	if len(pw) > MaxPasswordByte {
		return refuse(ErrInvalid, "password", "Password is too long (at most 72 bytes).")
	}
	return nil
}

// CreateLogin adds a login with a bcrypt hash of its password.
func (s *Store) CreateLogin(ctx context.Context, email, name string, role Role, password string) (_ Login, err error) {
	defer func() { err = failed("create login", err) }()
	l, hash, err := s.checkNewLogin(email, name, role, password)
	if err != nil {
		return Login{}, err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		return insertLogin(ctx, tx, &l, hash)
	})
	return l, err
}

// CheckNewLogin explains everything that is wrong with the fields of a new
// login, at once, or returns nil.
func CheckNewLogin(email, name string, role Role, password string) error {
	_, err := newLogin(email, name, role, password)
	return err
}

// checkNewLogin checks every field of a new login at once and hashes its
// password, outside any transaction: a hash takes a quarter second.
func (s *Store) checkNewLogin(email, name string, role Role, password string) (Login, []byte, error) {
	l, err := newLogin(email, name, role, password)
	if err != nil {
		return l, nil, err
	}
	hash, err := s.hashPassword(password)
	return l, hash, err
}

func newLogin(email, name string, role Role, password string) (Login, error) {
	l := Login{Email: strings.TrimSpace(email), Name: strings.TrimSpace(name), Role: role}
	var errs Errors
	if !strings.Contains(l.Email, "@") {
		errs = append(errs, refuse(ErrInvalid, "email", "Enter an email address."))
	}
	if l.Name == "" {
		errs = append(errs, refuse(ErrInvalid, "name", "Enter a name."))
	}
	if role != RoleAgent && role != RoleLead {
		errs = append(errs, refuse(ErrInvalid, "role", "Role must be agent or lead."))
	}
	if err := errs.add(CheckPassword(password)); err != nil {
		return l, err
	}
	return l, errs.Err()
}

func (s *Store) hashPassword(password string) ([]byte, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.PasswordCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

func emailTaken() *Error {
	return refuse(ErrConflict, "email", "A login with this email already exists.")
}

// insertLogin adds the login l with its password hash and sets its id.
func insertLogin(ctx context.Context, tx *change, l *Login, hash []byte) error {
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM logins WHERE email = ?)`, l.Email).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return emailTaken()
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO logins (email, name, role, password_hash, created_at, password_temporary) VALUES (?, ?, ?, ?, ?, ?)`,
		l.Email, l.Name, l.Role, string(hash), formatTime(tx.now), l.PasswordTemporary)
	if err != nil {
		return err
	}
	l.ID, err = res.LastInsertId()
	return err
}

// ErrWrongCredentials is all a failed sign-in learns.
var ErrWrongCredentials = errors.New("wrong email or password")

// Authenticate returns the active login with this email and password.
func (s *Store) Authenticate(ctx context.Context, email, password string) (_ Login, err error) {
	defer func() { err = failed("sign in", err) }()
	var l Login
	var hash string
	var disabled nullTime
	err = s.read.QueryRowContext(ctx,
		`SELECT id, email, name, role, password_hash, disabled_at, password_temporary, oidc_subject IS NOT NULL, break_glass FROM logins WHERE email = ?`,
		strings.TrimSpace(email)).Scan(&l.ID, &l.Email, &l.Name, &l.Role, &hash, &disabled, &l.PasswordTemporary, &l.SSO, &l.BreakGlass)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return Login{}, ErrWrongCredentials
	}
	if err != nil {
		return Login{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || disabled.Valid {
		return Login{}, ErrWrongCredentials
	}
	return l, nil
}

// LoginByID returns an active login.
func (s *Store) LoginByID(ctx context.Context, id int64) (_ Login, err error) {
	defer func() { err = failed("load login", err) }()
	var l Login
	var disabled nullTime
	err = s.read.QueryRowContext(ctx,
		`SELECT id, email, name, role, disabled_at, password_temporary, oidc_subject IS NOT NULL, break_glass FROM logins WHERE id = ?`, id).
		Scan(&l.ID, &l.Email, &l.Name, &l.Role, &disabled, &l.PasswordTemporary, &l.SSO, &l.BreakGlass)
	if errors.Is(err, sql.ErrNoRows) {
		return Login{}, refuse(ErrNotFound, "", "No such login.")
	}
	l.Disabled = disabled.Valid
	return l, err
}

// RecordSignIn writes a password sign-in to the audit log and marks the
// login's last sign-in. A break-glass login's is its own action, which every
// team lead sees on the Users page.
func (s *Store) RecordSignIn(ctx context.Context, l Login) (err error) {
	defer func() { err = failed("record sign-in", err) }()
	action := "sign_in"
	if l.BreakGlass {
		action = ActionBreakGlassSignIn
	}
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		if _, err := tx.ExecContext(ctx, `UPDATE logins SET last_sign_in_at = ? WHERE id = ?`, formatTime(tx.now), l.ID); err != nil {
			return err
		}
		return audit(ctx, tx, l, action, 0, "", "")
	})
}
