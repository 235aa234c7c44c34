package handlers_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// routerOver builds the portal's router over app's store with a log of its
// own at INFO, as the program writes it, to serve requests made by hand.
func routerOver(t *testing.T, app *portaltest.Portal, log *bytes.Buffer) http.Handler {
	t.Helper()
	key, err := app.Store.SessionKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return handlers.New(handlers.Handlers{
		Store: app.Store, Sessions: handlers.NewSessionStore(app.Store, key, false), CookieName: "esim_session",
		Log: slog.New(slog.NewJSONHandler(log, nil)), MailHeld: true,
	}).Routes()
}

// signedInRequest is a GET carrying the agent's cookies.
func signedInRequest(t *testing.T, app *portaltest.Portal, agent *portaltest.Client, ctx context.Context, path string) *http.Request {
	t.Helper()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	for _, c := range agent.HTTP.Jar.Cookies(mustParseURL(t, app.URL)) {
		req.AddCookie(c)
	}
	return req
}

// TestClientGoneIsNoError asks for a page as a browser that hangs up before
// the answer is made: the log says so at INFO, not as a 500 ERROR.
func TestClientGoneIsNoError(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent := app.Agent(t)
	var log bytes.Buffer
	router := routerOver(t, app, &log)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, signedInRequest(t, app, agent, ctx, "/esims"))
	if rec.Code != 499 {
		t.Errorf("status %d, want 499 in the log of a client that hung up", rec.Code)
	}
	if strings.Contains(log.String(), `"level":"ERROR"`) || !strings.Contains(log.String(), `"status":499`) {
		t.Errorf("log of a request whose client hung up:\n%s", log.String())
	}
}

// TestLoginLookupFailureIs500 breaks the logins table behind the portal's
// back: a signed-in agent then gets an error page, not the sign-in page.
func TestLoginLookupFailureIs500(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent := app.Agent(t)
	var log bytes.Buffer
	router := routerOver(t, app, &log)
	if _, err := app.Raw.Exec(`ALTER TABLE logins RENAME TO logins_gone`); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, signedInRequest(t, app, agent, context.Background(), "/esims"))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d (Location %q), want 500 when the signed-in login cannot be read", rec.Code, rec.Header().Get("Location"))
	}
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestExportCancelledIsNoError cancels a CSV download as it starts: the log
// says so at INFO.
func TestExportCancelledIsNoError(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	lead := app.Lead(t)
	var log bytes.Buffer
	router := routerOver(t, app, &log)
	ctx, cancel := context.WithCancel(context.Background())
	rec := &cancelOnWrite{ResponseRecorder: httptest.NewRecorder(), cancel: cancel}
	router.ServeHTTP(rec, signedInRequest(t, app, lead, ctx, "/esims.csv"))
	if rec.Code != http.StatusOK || !strings.Contains(log.String(), "eSIM export stopped: the browser went away") {
		t.Errorf("status %d; want the export begun and its stop logged:\n%s", rec.Code, log.String())
	}
	if strings.Contains(log.String(), `"level":"ERROR"`) {
		t.Errorf("log of a cancelled download:\n%s", log.String())
	}
}

// cancelOnWrite is a browser that gives up once the first bytes arrive.
type cancelOnWrite struct {
	*httptest.ResponseRecorder
	cancel func()
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.cancel()
	return w.ResponseRecorder.Write(p)
}

// TestRequestIDTrustedOnlyFromProxy sends request ids: the portal keeps a
// short one of safe characters that a trusted proxy passes on, and makes
// its own for any other, so a client cannot write what it likes into the
// log and the answer, nor borrow another request's id.
func TestRequestIDTrustedOnlyFromProxy(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("a", 900<<10)
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	behindProxy := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) { h.Proxies = []*net.IPNet{loopback} }})
	direct := portaltest.Start(t)
	for _, tc := range []struct {
		name string
		app  *portaltest.Portal
		id   string
		kept bool
	}{
		{"FromProxy", behindProxy, "7f3c2a9e-0d41-4b7a-9a51-2c6e8f0b1d23", true},
		{"Huge", behindProxy, huge, false},
		{"UnsafeCharacters", behindProxy, "id with spaces\" and=quotes", false},
		{"FromClient", direct, "7f3c2a9e-0d41-4b7a-9a51-2c6e8f0b1d23", false},
		{"HugeFromClient", direct, huge, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.app.NewClient().Get(t, "/login", "X-Request-Id", tc.id)
			got := r.Header.Get("X-Request-Id")
			if tc.kept && got != tc.id {
				t.Errorf("answered with request id %q, want the proxy's %q", got, tc.id)
			}
			if !tc.kept && (got == tc.id || len(got) == 0 || len(got) > 64) {
				t.Errorf("answered with request id %.80q, want one of the portal's own", got)
			}
			if !tc.kept && strings.Contains(tc.app.Log(), tc.id) {
				t.Errorf("the log took the request id sent")
			}
		})
	}
}
