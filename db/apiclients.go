package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// API scopes: what each of the carrier's systems may do through the API.
const (
	ScopeNetwork     = "network"     // attachments, usage, profile events
	ScopeSubscribers = "subscribers" // billing's subscribers and home plans
	ScopeCatalog     = "catalog"     // the plan catalog
)

// Scopes are every scope an API client may be given, in the order they are shown.
var Scopes = []string{ScopeNetwork, ScopeSubscribers, ScopeCatalog}

// APIClient is one of the carrier's systems that calls the API with a key of
// its own.
type APIClient struct {
	ID         int64
	Name       string
	Scopes     []string
	KeyLast4   string
	CreatedAt  time.Time
	CreatedBy  string // the login's name; "" when made on the command line
	LastUsedAt time.Time
	RevokedAt  time.Time
	RevokedBy  string
}

// Revoked reports whether the client's key no longer opens anything.
func (c APIClient) Revoked() bool { return !c.RevokedAt.IsZero() }

// Can reports whether the client may use the API of scope.
func (c APIClient) Can(scope string) bool { return slices.Contains(c.Scopes, scope) }

// apiKeyPrefix marks a key as the portal's, so a secret scanner or a person
// reading a config file knows what it is.
const apiKeyPrefix = "esim_"

// newAPIKey makes a key: 32 random bytes, hex-encoded, behind the prefix.
func newAPIKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return apiKeyPrefix + hex.EncodeToString(b)
}

// hashAPIKey is how a key is kept: a key is 256 random bits, so a fast hash
// cannot be reversed by guessing, and it lets a request's key be found by
// an index instead of by trying every client's.
func hashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// CheckAPIClient checks a new client's name and scopes, every field at once.
func CheckAPIClient(name string, scopes []string) error {
	var errs Errors
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		errs = append(errs, refuse(ErrInvalid, "name", "Give the client a name, such as Billing or Network operations."))
	case utf8.RuneCountInString(name) > 80 || strings.ContainsFunc(name, unprintable):
		errs = append(errs, refuse(ErrInvalid, "name", "A client's name is at most 80 characters, without control characters."))
	}
	if len(scopes) == 0 {
		errs = append(errs, refuse(ErrInvalid, "scopes", "Choose at least one scope: "+strings.Join(Scopes, ", ")+"."))
	}
	for _, sc := range scopes {
		if !slices.Contains(Scopes, sc) {
			errs = append(errs, refuse(ErrInvalid, "scopes", fmt.Sprintf("%q is not a scope; the scopes are %s.", sc, strings.Join(Scopes, ", "))))
			break
		}
	}
	return errs.Err()
}

// AddAPIClient makes a client with a new key and returns the key, which is
// not kept: this is the only time anyone sees it. by is zero when a client is
// made on the command line, before any login exists.
func (s *Store) AddAPIClient(ctx context.Context, name string, scopes []string, by Login) (_ APIClient, key string, err error) {
	defer func() { err = failed("add API client", err) }()
	if err := CheckAPIClient(name, scopes); err != nil {
		return APIClient{}, "", err
	}
	scopes = slices.Clone(scopes)
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	key = newAPIKey()
	c := APIClient{Name: strings.TrimSpace(name), Scopes: scopes, KeyLast4: key[len(key)-4:], CreatedBy: by.Name}
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		c.CreatedAt = tx.now
		err := tx.QueryRowContext(ctx, `INSERT INTO api_clients (name, scopes, key_hash, key_last4, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			c.Name, strings.Join(scopes, " "), hashAPIKey(key), c.KeyLast4, formatTime(tx.now), nullID(by.ID)).Scan(&c.ID)
		if err != nil {
			return err
		}
		return audit(ctx, tx, by, "add_api_client", 0, "", fmt.Sprintf("%s (client %d), scopes %s", c.Name, c.ID, strings.Join(scopes, ", ")))
	})
	if err != nil {
		return APIClient{}, "", err
	}
	return c, key, nil
}

// apiClientColumns are an APIClient's columns, read from apiClientFrom.
const (
	apiClientColumns = `c.id, c.name, c.scopes, c.key_last4, c.created_at, coalesce(cb.name, ''), c.last_used_at, c.revoked_at, coalesce(rb.name, '')`
	apiClientFrom    = ` FROM api_clients c LEFT JOIN logins cb ON cb.id = c.created_by LEFT JOIN logins rb ON rb.id = c.revoked_by`
)

// scanAPIClient reads apiClientColumns, and then extra.
func scanAPIClient(row interface{ Scan(...any) error }, extra ...any) (APIClient, error) {
	var c APIClient
	var scopes string
	var used, revoked nullTime
	if err := row.Scan(append([]any{&c.ID, &c.Name, &scopes, &c.KeyLast4, dbTime{&c.CreatedAt}, &c.CreatedBy, &used, &revoked, &c.RevokedBy}, extra...)...); err != nil {
		return c, err
	}
	c.Scopes = strings.Fields(scopes)
	c.LastUsedAt, c.RevokedAt = used.Time, revoked.Time
	return c, nil
}

// APIClients lists every client, those that can still call first, then by name.
func (s *Store) APIClients(ctx context.Context) (_ []APIClient, err error) {
	defer func() { err = failed("list API clients", err) }()
	rows, err := s.read.QueryContext(ctx, `SELECT `+apiClientColumns+apiClientFrom+` ORDER BY c.revoked_at IS NOT NULL, c.name COLLATE NOCASE, c.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIClient
	for rows.Next() {
		c, err := scanAPIClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// APIClientByKey is the client whose key this is, revoked or not; an
// unknown key is ErrNotFound. The key is looked up by its hash, and the hash
// found compared again in constant time.
func (s *Store) APIClientByKey(ctx context.Context, key string) (_ APIClient, err error) {
	defer func() { err = failed("look up API key", err) }()
	want := hashAPIKey(key)
	var got []byte
	c, err := scanAPIClient(s.read.QueryRowContext(ctx, `SELECT `+apiClientColumns+`, c.key_hash`+apiClientFrom+` WHERE c.key_hash = ?`, want), &got)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare(got, want) != 1) {
		return APIClient{}, refuse(ErrNotFound, "", "no API client has this key")
	}
	return c, err
}

// apiClientUsedEvery is how stale a client's last-used time may be: a
// network sends usage many times a second, and one write a minute is
// enough to tell a lead which keys are in use.
const apiClientUsedEvery = time.Minute

// MarkAPIClientUsed records that the client called the API now, when its
// last-used time is older than a minute.
func (s *Store) MarkAPIClientUsed(ctx context.Context, c APIClient) error {
	if s.Now().Sub(c.LastUsedAt) < apiClientUsedEvery {
		return nil
	}
	return failed("mark API client used", s.inTx(ctx, func(ctx context.Context, tx *change) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_clients SET last_used_at = ? WHERE id = ?`, formatTime(tx.now), c.ID)
		return err
	}))
}

// RevokeAPIClient stops the client's key at once: its next call is refused.
func (s *Store) RevokeAPIClient(ctx context.Context, id int64, by Login) (_ APIClient, err error) {
	defer func() { err = failed("revoke API client", err) }()
	var c APIClient
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_clients SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL`,
			formatTime(tx.now), nullID(by.ID), id)
		if err != nil {
			return err
		}
		if c, err = scanAPIClient(tx.QueryRowContext(ctx, `SELECT `+apiClientColumns+apiClientFrom+` WHERE c.id = ?`, id)); errors.Is(err, sql.ErrNoRows) {
			return refuse(ErrNotFound, "", "No API client with that id.")
		} else if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // revoked before: nothing to audit again
		}
		return audit(ctx, tx, by, "revoke_api_client", 0, "", fmt.Sprintf("%s (client %d)", c.Name, c.ID))
	})
	return c, err
}
