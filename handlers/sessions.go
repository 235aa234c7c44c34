package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/carrier/esim-admin/db"
)

func init() {
	gob.Register([]any{})
}

// sessionRows is what the session store needs of the database.
type sessionRows interface {
	Session(ctx context.Context, id string) (db.SessionRow, bool, error)
	SaveSession(ctx context.Context, id string, loginID int64, data []byte) error
	DeleteSession(ctx context.Context, id string) error
}

// SessionStore keeps gorilla sessions in the sessions table. The cookie holds
// only the signed session id, so a session deleted from the table is over.
type SessionStore struct {
	rows    sessionRows
	codecs  []securecookie.Codec
	tokens  *securecookie.SecureCookie // signs Seal's tokens, which last TokenAge
	sealed  *securecookie.SecureCookie // signs and encrypts the sign-in under way, for TokenAge
	Options *sessions.Options
}

// TokenAge is the longest a token of Seal is good for; a token can say
// when, within it, it ends.
const TokenAge = 10 * time.Minute

// NewSessionStore makes a store whose cookies are signed with key.
func NewSessionStore(rows sessionRows, key []byte, secure bool) *SessionStore {
	tokens := securecookie.New(key, nil)
	tokens.MaxAge(int(TokenAge / time.Second))
	// The sign-in's cookie is encrypted, as it holds the PKCE verifier, with
	// a key of its own drawn from the signing key.
	blockKey := sha256.Sum256(append([]byte("sign-in under way:"), key...))
	sealed := securecookie.New(key, blockKey[:])
	sealed.MaxAge(int(TokenAge / time.Second))
	return &SessionStore{
		rows:   rows,
		codecs: securecookie.CodecsFromPairs(key),
		tokens: tokens,
		sealed: sealed,
		Options: &sessions.Options{
			Path:     "/",
			MaxAge:   int(db.SessionAbsolute / time.Second),
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
	row, ok, err := ss.rows.Session(r.Context(), id)
	if err != nil || !ok {
		return session, err
	}
	if err := gob.NewDecoder(bytes.NewReader(row.Data)).Decode(&session.Values); err != nil {
		return session, nil // values this program cannot read are no session
	}
	session.ID = id
	session.IsNew = false
	return session, nil
}

// Save writes the session and its cookie; a negative MaxAge deletes both.
func (ss *SessionStore) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	ctx := r.Context()
	if session.Options.MaxAge < 0 {
		if session.ID != "" {
			if err := ss.rows.DeleteSession(ctx, session.ID); err != nil {
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
	loginID, _ := session.Values[sessionLoginKey].(int64)
	if session.ID == "" {
		session.ID = rand.Text()
	}
	if err := ss.rows.SaveSession(ctx, session.ID, loginID, data.Bytes()); err != nil {
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
		if err := ss.rows.DeleteSession(ctx, session.ID); err != nil {
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
	http.SetCookie(w, ss.cookie(flashCookie, encoded, "/", 60))
	return nil
}

// Flash returns the message SetFlash left for this request, and clears it.
func (ss *SessionStore) Flash(r *http.Request, w http.ResponseWriter) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, ss.cookie(flashCookie, "", "/", -1))
	var msg string
	if securecookie.DecodeMulti(flashCookie, c.Value, &msg, ss.codecs...) != nil {
		return ""
	}
	return msg
}

// knownBrowserCookie marks a browser an email signed in on, for the sign-in
// throttle: a signed tag of the email and an id of the browser, no more.
const knownBrowserCookie = "known_browser"

// RememberBrowser marks the browser as one that email signed in on, for
// knownFor (the codecs' own limit on a cookie's age is the same 30 days).
func (ss *SessionStore) RememberBrowser(w http.ResponseWriter, email string) error {
	encoded, err := securecookie.EncodeMulti(knownBrowserCookie, emailTag(email)+" "+rand.Text(), ss.codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, ss.cookie(knownBrowserCookie, encoded, "/", int(knownFor/time.Second)))
	return nil
}

// KnownBrowser returns the browser's id when its cookie says email signed
// in on it within knownFor, else "".
func (ss *SessionStore) KnownBrowser(r *http.Request, email string) string {
	c, err := r.Cookie(knownBrowserCookie)
	if err != nil {
		return ""
	}
	var value string
	if securecookie.DecodeMulti(knownBrowserCookie, c.Value, &value, ss.codecs...) != nil {
		return ""
	}
	tag, id, ok := strings.Cut(value, " ")
	if !ok || tag != emailTag(email) {
		return ""
	}
	return id
}

// emailTag stands for an email in a cookie without showing it.
func emailTag(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:16])
}

// Seal signs value for purpose, as a token to put in a URL: Unseal gives
// value back for TokenAge, for that purpose only.
func (ss *SessionStore) Seal(purpose, value string) (string, error) {
	return ss.tokens.Encode(purpose, value)
}

// Unseal returns the value a token of Seal carries for purpose, and whether
// it is one: signed for that purpose, and not older than TokenAge.
func (ss *SessionStore) Unseal(purpose, token string) (string, bool) {
	var value string
	if token == "" || ss.tokens.Decode(purpose, token, &value) != nil {
		return "", false
	}
	return value, true
}

// signInCookie carries a sign-in through the identity provider from its
// start to its callback, sealed in the browser: starting a sign-in, which
// anyone may do, writes nothing on the server. It is sent to those two
// addresses only, lasts TokenAge, and the callback clears it whatever its
// outcome, so a callback works once.
const (
	signInCookie = "sign_in"
	signInPath   = "/login/oidc"
)

// KeepSignIn seals v into the browser's sign-in cookie.
func (ss *SessionStore) KeepSignIn(w http.ResponseWriter, v any) error {
	encoded, err := ss.sealed.Encode(signInCookie, v)
	if err != nil {
		return err
	}
	http.SetCookie(w, ss.cookie(signInCookie, encoded, signInPath, int(TokenAge/time.Second)))
	return nil
}

// TakeSignIn reads the browser's sign-in cookie into v and clears it. It
// leaves v as it was when there is none, or none sealed here within
// TokenAge.
func (ss *SessionStore) TakeSignIn(r *http.Request, w http.ResponseWriter, v any) {
	c, err := r.Cookie(signInCookie)
	if err != nil {
		return
	}
	http.SetCookie(w, ss.cookie(signInCookie, "", signInPath, -1))
	ss.sealed.Decode(signInCookie, c.Value, v) // verified before it is decoded: a forged cookie leaves v alone
}

// cookie is one of the portal's cookies besides the session's, with the
// session cookie's options but for path and maxAge seconds (-1 clears it).
func (ss *SessionStore) cookie(name, value, path string, maxAge int) *http.Cookie {
	opts := *ss.Options
	opts.Path, opts.MaxAge = path, maxAge
	return sessions.NewCookie(name, value, &opts)
}

// sessionLoginKey is the session value that holds the signed-in login's id.
const sessionLoginKey = "login_id"
