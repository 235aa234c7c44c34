package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

func (h *Handlers) loginPage(c echo.Context) error {
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
	keys := []string{"email:" + strings.ToLower(email), "ip:" + c.RealIP()}
	if wait := h.signins.wait(keys...); wait > 0 {
		msg := fmt.Sprintf("Too many failed sign-ins. Try again in %s.", roundUp(wait))
		return h.render(c, http.StatusTooManyRequests, views.Login(email, next, msg))
	}
	l, err := h.Store.Authenticate(c.Request().Context(), email, password)
	if errors.Is(err, db.ErrWrongCredentials) {
		h.Metrics.signinFailures.Inc()
		h.signins.fail(keys...)
		return h.render(c, http.StatusUnauthorized, views.Login(email, next, "Wrong email or password."))
	}
	if err != nil {
		return err
	}
	h.signins.reset(keys...)
	session, err := h.Sessions.Get(c.Request(), h.CookieName)
	if err != nil {
		return err
	}
	if err := h.Sessions.Renew(c.Request().Context(), session); err != nil {
		return err
	}
	session.Values = map[any]any{sessionLoginKey: l.ID}
	if err := session.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	if err := h.Store.RecordSignIn(c.Request().Context(), l); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (h *Handlers) signOut(c echo.Context) error {
	session, err := h.Sessions.Get(c.Request(), h.CookieName)
	if err != nil {
		return err
	}
	session.Options.MaxAge = -1
	if err := session.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
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
			if isHTMX(c) {
				c.Response().Header().Set("HX-Redirect", target)
				return c.NoContent(http.StatusUnauthorized)
			}
			return c.Redirect(http.StatusSeeOther, target)
		}
		c.Set(loginKey, l)
		h.popFlash(c)
		return next(c)
	}
}

// requireLead refuses pages that only team leads may use.
func requireLead(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if login(c).Role != db.RoleLead {
			return echo.NewHTTPError(http.StatusForbidden)
		}
		return next(c)
	}
}

// safeNext keeps the post-sign-in redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/subscribers"
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

// signinLimiter slows down guessing: after freeFailures failed sign-ins for
// one email or one address within window, each further attempt must wait,
// twice as long each time, up to maxWait.
type signinLimiter struct {
	mu       sync.Mutex
	now      func() time.Time
	failures map[string]*failures
}

type failures struct {
	count int
	first time.Time
	last  time.Time
}

const (
	freeFailures = 5
	failWindow   = 15 * time.Minute
	firstWait    = 30 * time.Second
	maxWait      = 15 * time.Minute
)

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{now: now, failures: map[string]*failures{}}
}

func (l *signinLimiter) wait(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var longest time.Duration
	for _, k := range keys {
		f := l.failures[k]
		free := freeFailures
		if strings.HasPrefix(k, "ip:") {
			free *= 4 // colleagues behind one office address share it
		}
		if f == nil || now.Sub(f.first) > failWindow || f.count < free {
			continue
		}
		d := min(firstWait<<min(f.count-free, 16), maxWait)
		longest = max(longest, f.last.Add(d).Sub(now))
	}
	return longest
}

func (l *signinLimiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for k, f := range l.failures {
		if now.Sub(f.first) > failWindow {
			delete(l.failures, k)
		}
	}
	for _, k := range keys {
		f := l.failures[k]
		if f == nil {
			f = &failures{first: now}
			l.failures[k] = f
		}
		f.count++
		f.last = now
	}
}

func (l *signinLimiter) reset(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.failures, k)
	}
}
