package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

func (h *Handlers) signInPage(c echo.Context) error {
	if _, ok, err := h.currentLogin(c); err != nil {
		return err
	} else if ok {
		return c.Redirect(http.StatusSeeOther, "/subscribers")
	}
	return h.render(c, http.StatusOK, views.Login("", safeNext(c.QueryParam("next")), ""))
}

func (h *Handlers) signIn(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	l, wait, err := h.checkPassword(c, email, password)
	if wait > 0 {
		msg := fmt.Sprintf("Too many failed sign-ins. Try again in %s.", roundUp(wait))
		return h.render(c, http.StatusTooManyRequests, views.Login(email, next, msg))
	}
	if errors.Is(err, errPasswordChecksBusy) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(passwordRetryAfter/time.Second)))
		return h.render(c, http.StatusServiceUnavailable, views.Login(email, next, passwordChecksBusy))
	}
	if errors.Is(err, db.ErrWrongCredentials) {
		h.Metrics.signinFailures.Inc()
		return h.render(c, http.StatusUnauthorized, views.Login(email, next, "Wrong email or password."))
	}
	if err != nil {
		return err
	}
	if msg := h.passwordRefused(l); msg != "" {
		return h.render(c, http.StatusForbidden, views.Login(email, next, msg))
	}
	if err := h.startSession(c.Request().Context(), c, l.ID); err != nil {
		return err
	}
	if err := h.Sessions.RememberBrowser(c.Response(), l.Email); err != nil {
		return err
	}
	if err := h.Store.RecordSignIn(c.Request().Context(), l); err != nil {
		return err
	}
	if l.PasswordTemporary {
		return c.Redirect(http.StatusSeeOther, passwordPath(next))
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// checkPassword checks a password through the sign-in throttle: wait > 0
// when the attempt is refused before the password is looked at, else the
// login, db.ErrWrongCredentials, or errPasswordChecksBusy.
func (h *Handlers) checkPassword(c echo.Context, email, password string) (_ db.Login, wait time.Duration, _ error) {
	ctx := c.Request().Context()
	attempt, err := h.signins.begin(ctx, email, c.RealIP(), h.Sessions.KnownBrowser(c.Request(), email))
	if err != nil {
		return db.Login{}, 0, err
	}
	defer attempt.end()
	if attempt.wait > 0 {
		return db.Login{}, attempt.wait, nil
	}
	if err := h.Pause(ctx, attempt.delay); err != nil {
		return db.Login{}, 0, err
	}
	release, err := h.passwordCheckSlot(ctx)
	if errors.Is(err, errPasswordChecksBusy) {
		attempt.unchecked()
	}
	if err != nil {
		return db.Login{}, 0, err
	}
	defer release()
	l, err := h.Store.Authenticate(ctx, email, password)
	if err == nil {
		attempt.ok()
	}
	return l, 0, err
}

// A password check (bcrypt) takes a core for a quarter of a second: a flood
// of sign-ins would leave none for the agents' pages. So only so many run at
// once (Handlers.PasswordChecks); a sign-in waits PasswordWait for its turn,
// then is asked to come back (503 with Retry-After), counted as nothing.
const (
	defaultPasswordWait = 2 * time.Second
	passwordRetryAfter  = 5 * time.Second
	passwordChecksBusy  = "The portal is busy checking passwords. Try again in a few seconds."
)

var errPasswordChecksBusy = errors.New("every password check is taken")

// passwordCheckSlot waits for a turn to check a password, PasswordWait at
// most; release gives it back.
func (h *Handlers) passwordCheckSlot(ctx context.Context) (release func(), _ error) {
	release = func() { <-h.PasswordChecks }
	select {
	case h.PasswordChecks <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(h.PasswordWait)
	defer t.Stop()
	select {
	case h.PasswordChecks <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, errPasswordChecksBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *Handlers) signOut(c echo.Context) error {
	session, err := h.Sessions.Get(c.Request(), h.CookieName)
	if err != nil {
		return err
	}
	signedOut := h.signedOutURL(c.Request().Context(), session.Values)
	session.Options.MaxAge = -1
	if err := session.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, signedOut)
}

// currentLogin returns the login of the request's session, if it is live.
// A session or login the database could not read is an error, not a
// signed-out visitor: sending an agent to sign in again would hide it.
func (h *Handlers) currentLogin(c echo.Context) (db.Login, bool, error) {
	session, err := h.Sessions.Get(c.Request(), h.CookieName)
	if err != nil || session.IsNew {
		return db.Login{}, false, err
	}
	id, _ := session.Values[sessionLoginKey].(int64)
	if id == 0 {
		return db.Login{}, false, nil
	}
	l, err := h.Store.LoginByID(c.Request().Context(), id)
	if db.ErrorCode(err) == db.ErrNotFound {
		return db.Login{}, false, nil // deleted since
	}
	if err != nil || l.Disabled {
		return db.Login{}, false, err
	}
	return l, true, nil
}

// requireLogin sends a visitor without a live session to the sign-in page.
func (h *Handlers) requireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		l, ok, err := h.currentLogin(c)
		if err != nil {
			return err
		}
		if !ok {
			target := "/login"
			if c.Request().Method == http.MethodGet && c.Request().URL.Path != "/" {
				target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
			}
			return redirect(c, target, http.StatusUnauthorized)
		}
		c.Set(loginKey, l)
		// A signed-in page holds customers' data: a shared computer's back
		// button or cache must not show it to the next person.
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		if l.PasswordTemporary && c.Path() != "/account/password" && c.Path() != "/logout" {
			// A password a team lead chose is replaced before anything else.
			target := passwordPath("")
			if c.Request().Method == http.MethodGet {
				target = passwordPath(safeNext(c.Request().URL.RequestURI()))
			}
			return redirect(c, target, http.StatusOK)
		}
		h.popFlash(c)
		return next(c)
	}
}

// requireLead refuses pages that only team leads may use.
func requireLead(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if login(c).Role != db.RoleLead {
			return refuse(db.ErrForbidden, "")
		}
		return next(c)
	}
}

// safeNext keeps the post-sign-in redirect on this site: a path that starts
// with one "/", without control characters or backslashes (browsers drop
// tabs and newlines from a URL and read "\\" as "/", so "/\t/evil.example"
// would leave the portal), that resolves to the portal's own origin.
// Anything else goes to the subscriber search.
func safeNext(next string) string {
	const home = "/subscribers"
	if len(next) > 2000 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || !utf8.ValidString(next) ||
		strings.IndexFunc(next, func(r rune) bool { return r == '\\' || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0 {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return home
	}
	origin := &url.URL{Scheme: "https", Host: "portal.invalid"}
	if to := origin.ResolveReference(u); to.Scheme != origin.Scheme || to.Host != origin.Host {
		return home
	}
	return next
}

func roundUp(d time.Duration) string {
	n, unit := int(d.Seconds()+0.999), "second"
	if d > time.Minute {
		n, unit = int(d.Minutes()+0.999), "minute"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}
