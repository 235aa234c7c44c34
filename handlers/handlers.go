// Package handlers turns HTTP requests into calls on the store and renders
// the views.
package handlers

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/signin"
	"github.com/carrier/esim-admin/views"
)

// Handlers serves the portal.
type Handlers struct {
	Store    *db.Store
	Sessions *SessionStore
	Log      *slog.Logger
	// CookieName is the session cookie's name (__Host- prefixed over https).
	CookieName string
	// MailHeld is set when no mail server is configured: emails stay queued.
	MailHeld bool
	// MailQueued wakes the outbox worker after a change queued emails.
	MailQueued func()
	// Demo enables the demo-only controls.
	Demo bool
	// Secure is set when the portal is served over https.
	Secure bool
	// BaseURL is the portal's public URL; "" takes the address each request
	// was sent to.
	BaseURL string
	// Proxies are the reverse proxies trusted to name the client in
	// X-Forwarded-For; without them, the client is the connection's address.
	Proxies []*net.IPNet
	// LowStock is the free count under which an IMSI profile's stock is shown as low.
	LowStock int
	// ReorderDays is the reorder lead time of Insights' stock forecast
	// (db.DefaultReorderDays when zero).
	ReorderDays int
	// APIToken is the bearer token of the network API; empty turns the API off.
	APIToken string
	// Pause waits before the password of a slowed sign-in is checked; nil
	// waits for real. Tests replace it to see the delays without waiting.
	Pause func(ctx context.Context, d time.Duration) error
	// PasswordChecks bounds the password checks running at once: its
	// capacity is how many. New makes one for half the CPUs (at least one)
	// when nil.
	PasswordChecks chan struct{}
	// PasswordWait is how long a sign-in waits for a password check's turn
	// before it is asked to come back (503); New sets 2 s when zero.
	PasswordWait time.Duration
	// MetricsToken is the bearer token of /metrics; empty turns it off (404).
	MetricsToken string
	// Metrics are what /metrics serves; New makes them when nil. Their
	// ObserveCommit is for the store's Observe.
	Metrics *Metrics
	// Outbox says what the outbox worker is doing, for /readyz; nil when no
	// worker runs (no mail server: emails are held).
	Outbox func() emails.Status
	// Provisioning says when the SM-DP+ worker last looked for orders to
	// call, for /readyz; nil when no SM-DP+ is configured.
	Provisioning func() time.Time
	// SSO signs people in through the carrier's identity provider; nil
	// when none is configured.
	SSO *signin.Provider
	// SSOName is the text of the button that signs in through it.
	SSOName string
	// PasswordOff turns password sign-in off for every login but the
	// break-glass ones (-password-login=false).
	PasswordOff bool

	signins  *signinLimiter
	recent   *recentlyOpened
	insights *insightsCache
}

// New builds the handlers.
func New(h Handlers) *Handlers {
	if h.MailQueued == nil {
		h.MailQueued = func() {}
	}
	if h.Pause == nil {
		h.Pause = pause
	}
	if h.SSOName == "" {
		h.SSOName = "Sign in with your company account"
	}
	// The log keeps no email address, whoever writes to it.
	h.Log = slog.New(emails.Redact(h.Log.Handler()))
	if h.PasswordChecks == nil {
		h.PasswordChecks = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))
	}
	if h.PasswordWait <= 0 {
		h.PasswordWait = defaultPasswordWait
	}
	h.signins = newSigninLimiter(func() time.Time { return h.Store.Now() })
	if h.Metrics == nil {
		h.Metrics = NewMetrics(h.Store)
	}
	h.recent = &recentlyOpened{}
	if h.ReorderDays <= 0 {
		h.ReorderDays = db.DefaultReorderDays
	}
	h.insights = newInsightsCache(h.Store, h.Log)
	return &h
}

// render writes a component with status: it renders into a buffer first, so
// a render error can still become an error page instead of half a 200.
func (h *Handlers) render(c echo.Context, status int, component templ.Component) error {
	ctx := views.WithPage(c.Request().Context(), h.page(c))
	buf := getBuffer()
	defer putBuffer(buf)
	if err := component.Render(ctx, buf); err != nil {
		return err
	}
	return writeHTML(c, status, buf.Bytes())
}

func (h *Handlers) page(c echo.Context) views.Page {
	p := views.Page{Demo: h.Demo}
	if l, ok := c.Get(loginKey).(db.Login); ok {
		p.Login = &l
	}
	p.CSRF, _ = c.Get(middleware.DefaultCSRFConfig.ContextKey).(string)
	p.Nav, _ = c.Get(navKey).(string)
	p.Flash, _ = c.Get(flashKey).(string)
	if h.SSO != nil {
		p.SSOName = h.SSOName
		if p.Login != nil {
			p.SignedInWithSSO, _, _ = h.recentSSO(c)
		}
	}
	return p
}

const (
	loginKey = "login"
	navKey   = "nav"
	flashKey = "flash"
)

// login returns the signed-in login; requireLogin guarantees there is one.
func login(c echo.Context) db.Login {
	l, _ := c.Get(loginKey).(db.Login)
	return l
}

func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// redirectWithFlash shows msg on the page at url; HTMX requests get a full
// page load there, since a change shows in several places of it. The url
// carries no #fragment: to the page already open, that would only scroll.
func (h *Handlers) redirectWithFlash(c echo.Context, url, msg string) error {
	if err := h.Sessions.SetFlash(c.Response(), msg); err != nil {
		return err
	}
	return redirect(c, url, http.StatusOK)
}

// redirect sends the browser to url: a 303, or for an HTMX request, which
// would swap the page it was sent to into its target, HX-Redirect with
// htmxStatus.
func redirect(c echo.Context, url string, htmxStatus int) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", url)
		return c.NoContent(htmxStatus)
	}
	return c.Redirect(http.StatusSeeOther, url)
}

// popFlash moves the flash message, if any, onto this page.
func (h *Handlers) popFlash(c echo.Context) {
	if isHTMX(c) || c.Request().Method != http.MethodGet {
		return
	}
	if msg := h.Sessions.Flash(c.Request(), c.Response()); msg != "" {
		c.Set(flashKey, msg)
	}
}

// formRefusals are the refusals a form shows next to its fields, or nil. A
// thing named in the path that does not exist is no such refusal: that page
// is not found. A choice in the form that does not exist is one (it has a
// field), as is every other rule the store refused.
func formRefusals(err error) db.Errors {
	refusals := db.Refusals(err)
	if len(refusals) == 1 && refusals[0].Field == "" && refusals[0].Code == db.ErrNotFound {
		return nil
	}
	return refusals
}

// isAPI reports whether the request is for the network API, which answers
// in JSON, errors included.
func isAPI(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/api/") }

// statusClientClosedRequest is what the request log records for a request
// whose client hung up first (nginx's 499); it is never sent.
const statusClientClosedRequest = 499
