package handlers_test

import (
	"bytes"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db/dbtest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// assertSecurityHeaders checks the headers every answer of the portal carries.
func assertSecurityHeaders(t *testing.T, path string, r *portaltest.Response) {
	t.Helper()
	csp := r.Header.Get("Content-Security-Policy")
	if path == "/emails/1/body" {
		// The email preview frame: inline styles, as mail clients need, and no script at all.
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	} else {
		for _, want := range []string{"script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", path, csp, want)
			}
		}
	}
	if strings.Contains(csp, "unsafe-eval") || (path != "/emails/1/body" && strings.Contains(csp, "unsafe-inline")) {
		t.Errorf("%s: CSP %q allows unsafe code", path, csp)
	}
	if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options = %q", path, got)
	}
	if got := r.Header.Get("Referrer-Policy"); got != "same-origin" {
		t.Errorf("%s: Referrer-Policy = %q", path, got)
	}
}

// TestPanicGivesErrorPage checks that a fault in a handler becomes the error
// page and a log line with the request id, and shows no stack trace.
func TestPanicGivesErrorPage(t *testing.T) {
	store := dbtest.Open(t)
	var logs bytes.Buffer
	key := make([]byte, 32)
	rand.Read(key)
	e := handlers.New(handlers.Handlers{Store: store, Sessions: handlers.NewSessionStore(store, key, false),
		Log: slog.New(slog.NewJSONHandler(&logs, nil)), CookieName: "s"}).Routes()
	e.GET("/boom", func(echo.Context) error { panic("the disk is on fire") })
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	body := rec.Body.String()
	if strings.Contains(body, "disk is on fire") || strings.Contains(body, "goroutine") || !strings.Contains(body, "Something went wrong") {
		t.Errorf("the error page shows internals or no message: %s", body)
	}
	id := rec.Header().Get(echo.HeaderXRequestID)
	if id == "" || !strings.Contains(logs.String(), id) || !strings.Contains(logs.String(), "disk is on fire") {
		t.Errorf("the log does not tell the fault with request id %q: %s", id, logs.String())
	}
}

// TestHSTSOnlyOverHTTPS checks that HSTS is sent when the base URL is
// https, and never by a plain-http portal, whatever a client claims in
// X-Forwarded-Proto.
func TestHSTSOnlyOverHTTPS(t *testing.T) {
	plain := portaltest.Start(t).NewClient()
	for _, headers := range [][]string{nil, {"X-Forwarded-Proto", "https"}} {
		if got := plain.Get(t, "/login", headers...).Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("HSTS from a plain-http portal, request headers %q: %q", headers, got)
		}
	}
	secure := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) { h.Secure = true }}).NewClient()
	if got := secure.Get(t, "/login").Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
		t.Errorf("HSTS of a portal with an https base URL = %q, want max-age=31536000; includeSubDomains", got)
	}
}

// TestSignedInPagesNotStored checks that no signed-in page may be kept by
// the browser: a shared computer's back button must not show a customer's
// data to the next person.
func TestSignedInPagesNotStored(t *testing.T) {
	app := portaltest.Start(t)
	var iccid string
	var emailID int64
	if err := app.Raw.QueryRow(`SELECT iccid FROM esims WHERE state = 'allocated' LIMIT 1`).Scan(&iccid); err != nil {
		t.Fatal(err)
	}
	if err := app.Raw.QueryRow(`SELECT id FROM outbox WHERE kind <> 'qr' AND subscriber_id IS NOT NULL LIMIT 1`).Scan(&emailID); err != nil {
		t.Fatal(err)
	}
	agent := app.Agent(t)
	for _, path := range []string{"/subscribers", "/subscribers/1", "/esims/" + iccid, "/esims", "/emails/" + strconv.FormatInt(emailID, 10),
		"/emails/" + strconv.FormatInt(emailID, 10) + "/body", "/subscribers/1/lines/new"} {
		r := agent.Get(t, path)
		if r.Status != http.StatusOK {
			t.Errorf("%s: status %d", path, r.Status)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", path, got)
		}
	}
}
