package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/signin/signintest"
)

// The program wired up as configured: single sign-on from the flags and
// the environment, its callback under -base-url, password sign-in off.
func TestServeWithSingleSignOn(t *testing.T) {
	op := signintest.New()
	t.Cleanup(op.Close)
	op.AddUser(signintest.User{Username: "sam", Password: "pw", Subject: "sub-sam", Email: "sam@carrier.example", EmailVerified: true,
		Name: "Sam Agent", Groups: []string{"ap-agents"}})
	addr := portaltest.FreeAddr(t)
	base := "http://" + addr
	op.AddClient(signintest.Client{ID: "portal-id", Secret: "portal-secret", RedirectURIs: []string{base + "/login/oidc/callback"}})

	ctx, cancel := context.WithCancel(context.Background())
	done, exited := make(chan error, 1), make(chan struct{})
	args := []string{"-addr", addr, "-db", filepath.Join(t.TempDir(), "sso.db"), "-demo=false", "-base-url", base + "/",
		"-oidc-issuer", op.Issuer, "-oidc-agent-groups", "ap-agents", "-oidc-name", "Sign in with Okta", "-password-login=false"}
	getenv := env(map[string]string{"ESIM_OIDC_CLIENT_ID": "portal-id", "ESIM_OIDC_CLIENT_SECRET": "portal-secret"})
	go func() {
		done <- run(ctx, args, getenv, strings.NewReader(""), io.Discard, io.Discard)
		close(exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	if err := portaltest.WaitServing(base+"/login", done, 20*time.Second); err != nil {
		t.Fatal(err)
	}

	c := portaltest.NewClient(base, nil)
	doc := c.Page(t, "/login")
	if doc.Find(`input[type="password"]`).Length() != 0 || strings.TrimSpace(doc.Find(`[data-testid="sso-button"]`).Text()) != "Sign in with Okta" {
		t.Errorf("the sign-in page: %s", doc.Find("main").Text())
	}
	r := c.Get(t, "/login/oidc")
	back, err := op.SignIn(r.Location(), "sam", "pw")
	if err != nil {
		t.Fatalf("sign in at the provider from %q: %v", r.Location(), err)
	}
	if r := c.Get(t, back.RequestURI()); r.Status != http.StatusSeeOther || r.Location() != "/subscribers" {
		t.Fatalf("callback = %d to %q", r.Status, r.Location())
	}
	if r := c.Get(t, "/subscribers"); r.Status != http.StatusOK {
		t.Errorf("after signing in, /subscribers = %d", r.Status)
	}
}
