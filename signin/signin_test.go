package signin_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/signin"
	"github.com/carrier/esim-admin/signin/signintest"
)

const (
	portal   = "https://ap.example.com"
	callback = portal + "/login/oidc/callback"
)

func newProvider(t *testing.T) (*signintest.Provider, *signin.Provider) {
	t.Helper()
	op := signintest.New()
	t.Cleanup(op.Close)
	op.AddUser(signintest.User{Username: "ana", Password: "pw", Subject: "sub-ana", Email: "ana@carrier.example", EmailVerified: true,
		Name: "Ana Agent", Groups: []string{"everyone", "ap-agents"}})
	op.AddUser(signintest.User{Username: "lee", Password: "pw", Subject: "sub-lee", Email: "lee@carrier.example",
		Name: "Lee Lead", Groups: []string{"ap-agents", "ap-leads"}})
	rp, err := op.Portal(portal)
	if err != nil {
		t.Fatal(err)
	}
	return op, rp
}

// signIn runs a sign-in as username and returns the flow and the callback's query.
func signIn(t *testing.T, op *signintest.Provider, rp *signin.Provider, username string) (signin.Flow, url.Values) {
	t.Helper()
	flow, authURL, err := rp.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	back, err := op.SignIn(authURL, username, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != callback {
		t.Fatalf("the provider sent the browser to %s, want the callback", got)
	}
	return flow, back.Query()
}

func TestFinishVerifiesTheIDToken(t *testing.T) {
	op, rp := newProvider(t)
	flow, q := signIn(t, op, rp, "lee")
	p, err := rp.Finish(context.Background(), flow, q)
	if err != nil {
		t.Fatal(err)
	}
	want := db.SSOIdentity{Issuer: op.Issuer, Subject: "sub-lee", Email: "lee@carrier.example", Name: "Lee Lead"}
	if p.Identity != want {
		t.Errorf("identity = %+v, want %+v", p.Identity, want)
	}
	if !slices.Equal(p.Groups, []string{"ap-agents", "ap-leads"}) {
		t.Errorf("groups = %v", p.Groups)
	}
	if role, ok := rp.Role(p.Groups); role != db.RoleLead || !ok {
		t.Errorf("role = %q, %v; want lead", role, ok)
	}
	if op.PKCEVerified() != 1 {
		t.Errorf("the provider verified %d PKCE verifiers, want 1", op.PKCEVerified())
	}
	if _, err := rp.Finish(context.Background(), flow, q); kind(err) != signin.BadToken {
		t.Errorf("a code used twice: %v, want the provider to refuse it", err)
	}
}

func kind(err error) signin.Kind {
	var e *signin.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func TestFinishRefuses(t *testing.T) {
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tamper func(map[string]any)
		forge  bool
		change func(f *signin.Flow, q url.Values)
		want   signin.Kind
	}{
		{name: "another state", change: func(f *signin.Flow, q url.Values) { q.Set("state", "forged") }, want: signin.BadState},
		{name: "no sign-in started", change: func(f *signin.Flow, q url.Values) { *f = signin.Flow{} }, want: signin.BadState},
		{name: "another PKCE verifier", change: func(f *signin.Flow, q url.Values) { f.Verifier = otherFirst(f.Verifier) }, want: signin.BadToken},
		{name: "another nonce", change: func(f *signin.Flow, q url.Values) { f.Nonce = "another" }, want: signin.BadToken},
		{name: "another audience", tamper: func(c map[string]any) { c["aud"] = "another-app" }, want: signin.BadToken},
		{name: "another issuer", tamper: func(c map[string]any) { c["iss"] = "https://idp.evil.example" }, want: signin.BadToken},
		{name: "expired beyond the skew", tamper: func(c map[string]any) { c["exp"] = time.Now().Add(-signin.Skew - 10*time.Second).Unix() }, want: signin.BadToken},
		{name: "signed with another key", forge: true, want: signin.BadToken},
		{name: "the provider said no", change: func(f *signin.Flow, q url.Values) { q.Del("code"); q.Set("error", "access_denied") }, want: signin.Denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, rp := newProvider(t)
			op.Tamper = tt.tamper
			if tt.forge {
				op.SignWith = otherKey
			}
			flow, q := signIn(t, op, rp, "ana")
			if tt.change != nil {
				tt.change(&flow, q)
			}
			p, err := rp.Finish(context.Background(), flow, q)
			if kind(err) != tt.want {
				t.Fatalf("Finish = %+v, %v; want kind %d", p, err, tt.want)
			}
			var e *signin.Error
			errors.As(err, &e)
			if e.Message() == "" {
				t.Error("no message for the person")
			}
		})
	}
}

func TestFinishToleratesASmallSkew(t *testing.T) {
	op, rp := newProvider(t)
	op.Tamper = func(c map[string]any) { c["exp"] = time.Now().Add(-signin.Skew / 2).Unix() }
	flow, q := signIn(t, op, rp, "ana")
	if _, err := rp.Finish(context.Background(), flow, q); err != nil {
		t.Fatalf("a token expired %s ago: %v", signin.Skew/2, err)
	}
}

func TestProviderDown(t *testing.T) {
	op, rp := newProvider(t)
	op.Close()
	if _, _, err := rp.Start(context.Background()); kind(err) != signin.ProviderDown {
		t.Fatalf("Start with the provider down = %v", err)
	}
}

func TestRole(t *testing.T) {
	_, rp := newProvider(t)
	tests := []struct {
		groups []string
		want   db.Role
		ok     bool
	}{
		{[]string{"ap-leads"}, db.RoleLead, true},
		{[]string{"ap-agents", "ap-leads"}, db.RoleLead, true},
		{[]string{"ap-agents"}, db.RoleAgent, true},
		{[]string{"everyone", "AP-Agents"}, "", false}, // names match exactly
		{nil, "", false},
	}
	for _, tt := range tests {
		if role, ok := rp.Role(tt.groups); role != tt.want || ok != tt.ok {
			t.Errorf("Role(%v) = %q, %v; want %q, %v", tt.groups, role, ok, tt.want, tt.ok)
		}
	}
}

func TestSignOutURL(t *testing.T) {
	op, rp := newProvider(t)
	downOP, down := newProvider(t)
	downOP.Close()
	if got := down.SignOutURL(context.Background(), "hint"); got != "" {
		t.Errorf("with the provider down: %q, want none", got)
	}
	u, err := url.Parse(rp.SignOutURL(context.Background(), "hint"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme+"://"+u.Host != op.Issuer || u.Path != "/end_session" || q.Get("client_id") != "portal" || q.Get("id_token_hint") != "hint" ||
		q.Get("post_logout_redirect_uri") != "https://ap.example.com/login" {
		t.Errorf("sign-out URL = %s", u)
	}
}

// otherFirst is s with another first character: always a different string,
// whatever s starts with.
func otherFirst(s string) string {
	if s[0] == 'x' {
		return "y" + s[1:]
	}
	return "x" + s[1:]
}
