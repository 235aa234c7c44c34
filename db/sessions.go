package db

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
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

func init() {
	gob.Register([]any{})
}

// SessionStore keeps gorilla sessions in the sessions table. The cookie holds
// only the signed session id, so a session that is deleted here is over.
type SessionStore struct {
	store   *Store
	codecs  []securecookie.Codec
	Options *sessions.Options
}

// NewSessionStore makes a store whose cookies are signed with key.
func (s *Store) NewSessionStore(key []byte, secure bool) *SessionStore {
	return &SessionStore{
		store:  s,
		codecs: securecookie.CodecsFromPairs(key),
		Options: &sessions.Options{
			Path:     "/",
			MaxAge:   int(SessionAbsolute / time.Second),
			HttpOnly: true,
			Secure:   secure,
			SameSite: http.SameSiteLaxMode,
		},
	}
}

// Get returns the session of this request, cached for the request.
func (ss *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(ss, name)
}

// New loads the session the request's cookie names, or makes a new one when
// there is none or it has ended.
func (ss *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(ss, name)
	opts := *ss.Options
	session.Options = &opts
	session.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return session, nil
	}
	var id string
	if err := securecookie.DecodeMulti(name, c.Value, &id, ss.codecs...); err != nil {
		return session, nil // a forged or stale cookie is no session
	}
	ok, err := ss.load(r.Context(), id, session)
	if err != nil || !ok {
		return session, err
	}
	session.ID = id
	session.IsNew = false
	return session, nil
}

func (ss *SessionStore) load(ctx context.Context, id string, session *sessions.Session) (bool, error) {
	var data []byte
	var created, lastSeen time.Time
	err := ss.store.read.QueryRowContext(ctx, `SELECT data, created_at, last_seen_at FROM sessions WHERE id = ?`, id).
		Scan(&data, dbTime{&created}, dbTime{&lastSeen})
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	now := ss.store.Now()
	if now.Sub(lastSeen) > SessionIdle || now.Sub(created) > SessionAbsolute {
		_, err := ss.store.write.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
		return false, err
	}
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&session.Values); err != nil {
		return false, nil
	}
	if now.Sub(lastSeen) > lastSeenStep {
		if _, err := ss.store.write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, formatTime(now), id); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Save writes the session and its cookie; a negative MaxAge deletes both.
func (ss *SessionStore) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	ctx := r.Context()
	if session.Options.MaxAge < 0 {
		if session.ID != "" {
			if _, err := ss.store.write.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, session.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(session.Name(), "", session.Options))
		return nil
	}
	var data bytes.Buffer
	if err := gob.NewEncoder(&data).Encode(session.Values); err != nil {
		return err
	}
	loginID, _ := session.Values[SessionLoginKey].(int64)
	now := formatTime(ss.store.Now())
	if session.ID == "" {
		session.ID = newSessionID()
	}
	_, err := ss.store.write.ExecContext(ctx, `
		INSERT INTO sessions (id, login_id, data, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET login_id = excluded.login_id, data = excluded.data, last_seen_at = excluded.last_seen_at`,
		session.ID, nullID(loginID), data.Bytes(), now, now)
	if err != nil {
		return err
	}
	encoded, err := securecookie.EncodeMulti(session.Name(), session.ID, ss.codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(session.Name(), encoded, session.Options))
	return nil
}

// Renew gives the session a new id and forgets the old one, so an id seen
// before sign-in is worthless after it.
func (ss *SessionStore) Renew(ctx context.Context, session *sessions.Session) error {
	if session.ID != "" {
		if _, err := ss.store.write.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, session.ID); err != nil {
			return err
		}
	}
	session.ID = ""
	session.IsNew = true
	return nil
}

// flashCookie carries a one-time message to the next page in a signed cookie
// of its own: a message per change would otherwise cost a session write, a
// second commit on the one writer connection.
const flashCookie = "flash"

// SetFlash shows msg on the next page this browser loads.
func (ss *SessionStore) SetFlash(w http.ResponseWriter, msg string) error {
	encoded, err := securecookie.EncodeMulti(flashCookie, msg, ss.codecs...)
	if err != nil {
		return err
	}
	opts := *ss.Options
	opts.MaxAge = 60
	http.SetCookie(w, sessions.NewCookie(flashCookie, encoded, &opts))
	return nil
}

// Flash returns the message SetFlash left for this request, and clears it.
func (ss *SessionStore) Flash(r *http.Request, w http.ResponseWriter) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	opts := *ss.Options
	opts.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(flashCookie, "", &opts))
	var msg string
	if securecookie.DecodeMulti(flashCookie, c.Value, &msg, ss.codecs...) != nil {
		return ""
	}
	return msg
}

// SessionLoginKey is the session value that holds the signed-in login's id.
const SessionLoginKey = "login_id"

func newSessionID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
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
		key = securecookie.GenerateRandomKey(32)
		_, err = tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('session_key', ?)`, key)
		return err
	})
	return key, err
}
