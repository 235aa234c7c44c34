package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session lifetimes: a session ends after 30 idle minutes, and 12 hours after
// sign-in whatever happens.
const (
	SessionIdle     = 30 * time.Minute
	SessionAbsolute = 12 * time.Hour
	// lastSeenStep spares a write per request: last_seen_at moves only when
	// it is this much behind.
	lastSeenStep = time.Minute
)

// SessionRow is a sign-in session as the sessions table keeps it. Data is
// opaque to the store: the HTTP side encodes the session's values in it.
type SessionRow struct {
	ID         string
	LoginID    int64 // 0 before sign-in
	Data       []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// Session returns the live session with this id. A session that has ended,
// idle too long or past its absolute lifetime, is deleted and reported as
// none. Using a session keeps it alive: its last_seen_at moves to now when
// it is more than a minute behind.
func (s *Store) Session(ctx context.Context, id string) (SessionRow, bool, error) {
	row := SessionRow{ID: id}
	var loginID sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT login_id, data, created_at, last_seen_at FROM sessions WHERE id = ?`, id).
		Scan(&loginID, &row.Data, dbTime{&row.CreatedAt}, dbTime{&row.LastSeenAt})
	if errors.Is(err, sql.ErrNoRows) {
		return SessionRow{}, false, nil
	}
	if err != nil {
		return SessionRow{}, false, fmt.Errorf("store: unable to load session: %w", err)
	}
	row.LoginID = loginID.Int64
	now := s.Now()
	if now.Sub(row.LastSeenAt) > SessionIdle || now.Sub(row.CreatedAt) > SessionAbsolute {
		if err := s.DeleteSession(ctx, id); err != nil {
			return SessionRow{}, false, err
		}
		return SessionRow{}, false, nil
	}
	if now.Sub(row.LastSeenAt) > lastSeenStep {
		err := s.inTx(ctx, func(ctx context.Context, tx *change) error {
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, formatTime(tx.now), id)
			return err
		})
		if err != nil {
			return SessionRow{}, false, fmt.Errorf("store: unable to mark session seen: %w", err)
		}
	}
	return row, true, nil
}

// SaveSession writes a session's values and marks it seen now; a new id
// starts a session, created now. loginID 0 is a session before sign-in.
func (s *Store) SaveSession(ctx context.Context, id string, loginID int64, data []byte) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *change) error {
		now := formatTime(tx.now)
		_, err := tx.ExecContext(ctx, `
			INSERT INTO sessions (id, login_id, data, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET login_id = excluded.login_id, data = excluded.data, last_seen_at = excluded.last_seen_at`,
			id, nullID(loginID), data, now, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: unable to save session: %w", err)
	}
	return nil
}

// DeleteSession ends a session for good: its cookie is worth nothing after.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *change) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: unable to delete session: %w", err)
	}
	return nil
}

// SessionKey returns the key that signs session cookies, made once and kept
// in the database so sign-ins survive a restart.
func (s *Store) SessionKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.inTx(ctx, func(ctx context.Context, tx *change) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'session_key'`).Scan(&key)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		key = make([]byte, 32)
		rand.Read(key)
		_, err = tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('session_key', ?)`, key)
		return err
	})
	return key, err
}
