package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/handlers/portaltest"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)
	for _, path := range []string{"/login", "/subscribers", "/subscribers/999999"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			r := c.Get(t, path)
			csp := r.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy = %q, want script-src 'self'", csp)
			}
			if strings.Contains(csp, "'unsafe-inline'") || strings.Contains(csp, "'unsafe-eval'") {
				t.Errorf("Content-Security-Policy = %q allows inline or eval'd code", csp)
			}
			if got, want := r.Header.Get("X-Content-Type-Options"), "nosniff"; got != want {
				t.Errorf("X-Content-Type-Options = %q, want %q", got, want)
			}
		})
	}
}

func TestStatic(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.NewClient()

	t.Run("Stylesheet", func(t *testing.T) {
		href, ok := c.Page(t, "/login").Find(`link[rel=stylesheet]`).Attr("href")
		if !ok {
			t.Fatal("the page links no stylesheet")
		}
		r := c.Get(t, href)
		if got, want := r.Status, http.StatusOK; got != want {
			t.Fatalf("GET %s: status %d, want %d", href, got, want)
		}
		if got := r.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
			t.Errorf("Cache-Control = %q, want immutable", got)
		}
		if got := r.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/css") {
			t.Errorf("Content-Type = %q, want text/css", got)
		}
	})
	t.Run("Script", func(t *testing.T) {
		src, ok := c.Page(t, "/login").Find(`script[src]`).Attr("src")
		if !ok {
			t.Fatal("the page loads no script")
		}
		if got := c.Get(t, src).Status; got != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", src, got)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		r := c.Get(t, "/static/x.css")
		if got, want := r.Status, http.StatusNotFound; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got := r.Header.Get("Cache-Control"); strings.Contains(got, "immutable") {
			t.Errorf("a missing file is cached for good: Cache-Control = %q", got)
		}
	})
}
