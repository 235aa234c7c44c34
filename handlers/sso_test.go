package handlers_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/signin"
	"github.com/carrier/esim-admin/signin/signintest"
)

// ssoPortal serves the portal with single sign-on through a provider
// running in the test, which knows an agent, a lead and someone in neither
// group.
func ssoPortal(t *testing.T, configure func(h *handlers.Handlers)) (*portaltest.Portal, *signintest.Provider) {
	t.Helper()
	op := signintest.New()
	t.Cleanup(op.Close)
	op.AddUser(signintest.User{Username: "sam", Password: "pw", Subject: "sub-sam", Email: "sam@carrier.example", EmailVerified: true,
		Name: "Sam Agent", Groups: []string{"staff", "ap-agents"}})
	op.AddUser(signintest.User{Username: "lin", Password: "pw", Subject: "sub-lin", Email: "lin@carrier.example", EmailVerified: true,
		Name: "Lin Lead", Groups: []string{"ap-leads"}})
	op.AddUser(signintest.User{Username: "out", Password: "pw", Subject: "sub-out", Email: "out@carrier.example", EmailVerified: true,
		Name: "Oscar Outsider", Groups: []string{"staff"}})
	p := portaltest.StartWith(t, portaltest.Options{Configure: configure, SignIn: func(base string) *signin.Provider {
		rp, err := op.Portal(base)
		if err != nil {
			t.Fatal(err)
		}
		return rp
	}})
	t.Cleanup(func() {
		// Never a token in the log: an ID token is a JWT, which starts so.
		if strings.Contains(p.Log(), "eyJ") {
			t.Errorf("the portal's log carries a token:\n%s", p.Log())
		}
	})
	return p, op
}

// callback clicks the sign-in button in browser c, signs in on the
// provider's page as username, and returns the callback's path and query.
func callback(t *testing.T, c *portaltest.Client, op *signintest.Provider, username string) string {
	t.Helper()
	r := c.Get(t, "/login/oidc?next=%2Fesims")
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Location(), op.Issuer+"/authorize?") {
		t.Fatalf("GET /login/oidc = %d to %q, want the provider's authorization page", r.Status, r.Location())
	}
	auth, _ := url.Parse(r.Location())
	if q := auth.Query(); q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || q.Get("scope") != "openid email profile" {
		t.Errorf("authorization request %s: want PKCE S256, a nonce and the scopes openid email profile", auth.RawQuery)
	}
	back, err := op.SignIn(r.Location(), username, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(back.String(), c.URL+"/login/oidc/callback?") {
		t.Fatalf("the provider sent the browser to %s", back)
	}
	return back.RequestURI()
}

// signedIn says whether browser c has a portal session.
func signedIn(t *testing.T, c *portaltest.Client) bool {
	t.Helper()
	return c.Get(t, "/subscribers").Status == http.StatusOK
}

func TestSSOSignInGivesTheRoleOfTheGroups(t *testing.T) {
	p, op := ssoPortal(t, nil)
	// Password sign-in is on: the page offers both, the button first.
	login := p.NewClient().Page(t, "/login?next=%2Fesims")
	if href := login.Find(`[data-testid="sso-button"]`).AttrOr("href", ""); href != "/login/oidc?next=%2Fesims" || login.Find(`input[type="password"]`).Length() != 1 {
		t.Errorf("the sign-in page offers %q and %d password fields; want the button keeping next, and the form", href, login.Find(`input[type="password"]`).Length())
	}
	for _, tc := range []struct {
		user, email, role string
		usersPage         int
	}{
		{"sam", "sam@carrier.example", "agent", http.StatusForbidden},
		{"lin", "lin@carrier.example", "lead", http.StatusOK},
	} {
		t.Run(tc.user, func(t *testing.T) {
			c := p.NewClient()
			before := c.Cookie("esim_session")
			r := c.Get(t, callback(t, c, op, tc.user))
			if r.Status != http.StatusSeeOther || r.Location() != "/esims" {
				t.Fatalf("callback = %d to %q, want 303 to /esims\n%s", r.Status, r.Location(), r.Body)
			}
			if after := c.Cookie("esim_session"); after == "" || after == before {
				t.Error("the sign-in kept the session id it had before")
			}
			var role string
			var sso bool
			if err := p.Raw.QueryRow(`SELECT role, oidc_subject IS NOT NULL FROM logins WHERE email = ?`, tc.email).Scan(&role, &sso); err != nil {
				t.Fatal(err)
			}
			if role != tc.role || !sso {
				t.Errorf("login: role %s, linked %v; want %s, linked", role, sso, tc.role)
			}
			if got := c.Get(t, "/users").Status; got != tc.usersPage {
				t.Errorf("GET /users = %d, want %d", got, tc.usersPage)
			}
		})
	}
	if op.PKCEVerified() != 2 {
		t.Errorf("the provider verified %d PKCE verifiers, want 2", op.PKCEVerified())
	}
	// The Users page says how each login signs in, and when it last did.
	doc := p.Lead(t).Page(t, "/users")
	row := doc.Find(`[data-testid="logins"] tr:contains("Lin Lead")`)
	if got := text(row); !strings.Contains(got, "Single sign-on") || row.Find("time").Length() != 1 || strings.Contains(got, "Never") {
		t.Errorf("Lin's row on the Users page = %q", got)
	}
}

func TestSSORefusesSomeoneInNoGroup(t *testing.T) {
	p, op := ssoPortal(t, nil)
	c := p.NewClient()
	r := c.Get(t, callback(t, c, op, "out"))
	if r.Status != http.StatusForbidden {
		t.Fatalf("callback = %d, want 403", r.Status)
	}
	if got := text(r.Doc(t).Find(`[data-testid="needed-groups"]`)); !strings.Contains(got, "ap-agents (support agent)") || !strings.Contains(got, "ap-leads (team lead)") {
		t.Errorf("the refusal says %q, want the groups that let people in", got)
	}
	if signedIn(t, c) {
		t.Error("a refused person has a session")
	}
	var logins, audited int
	p.Raw.QueryRow(`SELECT count(*) FROM logins WHERE email = 'out@carrier.example'`).Scan(&logins)
	p.Raw.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'sign_in_sso_refused' AND detail LIKE '%out@carrier.example%ap-agents%'`).Scan(&audited)
	if logins != 0 || audited != 1 {
		t.Errorf("%d logins made, %d refusals audited; want 0 and 1", logins, audited)
	}
	row := p.Lead(t).Page(t, "/audit").Find(`[data-testid="audit-entries"] tbody tr:contains("Single sign-on refused")`)
	if got := text(row); !strings.Contains(got, "Identity provider") || !strings.Contains(got, "out@carrier.example") || !strings.Contains(got, "in none of the groups ap-agents, ap-leads") {
		t.Errorf("the audit log's refusal reads %q, want who was refused and the groups needed", got)
	}
}

func TestSSORefusesSomeoneRemovedFromTheGroups(t *testing.T) {
	p, op := ssoPortal(t, nil)
	c := p.NewClient()
	if r := c.Get(t, callback(t, c, op, "sam")); r.Status != http.StatusSeeOther {
		t.Fatalf("first sign-in = %d", r.Status)
	}
	op.SetGroups("sam", "staff")
	c2 := p.NewClient()
	if r := c2.Get(t, callback(t, c2, op, "sam")); r.Status != http.StatusForbidden || signedIn(t, c2) {
		t.Errorf("sign-in after leaving the groups = %d, want 403 and no session", r.Status)
	}
}

// A team lead disables a login: its person is signed out at once, and
// refused at their next sign-in whatever their groups say.
func TestSSODisabledLoginStaysOut(t *testing.T) {
	p, op := ssoPortal(t, nil)
	sam := p.NewClient()
	sam.Get(t, callback(t, sam, op, "sam"))
	lead := p.Lead(t)
	path := "/users/" + p.LoginID(t, "sam@carrier.example")
	r := lead.Post(t, path+"/disabled", url.Values{"_csrf": {lead.CSRF}, "disabled": {"true"}, "your_password": {demo.LeadPassword}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("disable = %d", r.Status)
	}
	if signedIn(t, sam) {
		t.Error("the disabled login's session lives on")
	}
	c := p.NewClient()
	if r := c.Get(t, callback(t, c, op, "sam")); r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "Your login is disabled") || signedIn(t, c) {
		t.Errorf("sign-in of a disabled login = %d, want 403 saying so", r.Status)
	}
}

// TestSSOStartWritesNothing starts sign-ins from many new browsers, as
// anyone may: the portal keeps nothing of them, and each browser holds its
// sign-in in a cookie it sends to the sign-in's addresses only, which
// script cannot read and which does not show the sign-in in the clear (its
// PKCE verifier is a secret of that browser).
func TestSSOStartWritesNothing(t *testing.T) {
	p, op := ssoPortal(t, nil)
	count := func() int { return p.Count(t, `SELECT count(*) FROM sessions`) }
	before := count()
	for range 20 {
		r := p.NewClient().Get(t, "/login/oidc")
		if r.Status != http.StatusFound {
			t.Fatalf("GET /login/oidc = %d, want 302", r.Status)
		}
		auth, _ := url.Parse(r.Location())
		var cookie *http.Cookie
		for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
			if ck.Name == "sign_in" {
				cookie = ck
			}
		}
		if cookie == nil || cookie.Path != "/login/oidc" || !cookie.HttpOnly || cookie.MaxAge != 600 || inClear(cookie.Value, auth.Query().Get("state")) {
			t.Fatalf("sign-in cookie %+v; want one for /login/oidc only, HttpOnly, for 10 minutes, sealed", cookie)
		}
	}
	if after := count(); after != before {
		t.Errorf("%d sign-ins started wrote %d sessions, want none", 20, after-before)
	}
	c := p.NewClient()
	if r := c.Get(t, callback(t, c, op, "sam")); r.Status != http.StatusSeeOther || !signedIn(t, c) {
		t.Errorf("callback = %d, want a signed-in browser", r.Status)
	}
	u, _ := url.Parse(c.URL + "/login/oidc/callback")
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == "sign_in" {
			t.Error("the sign-in cookie outlives its callback")
		}
	}
}

// inClear reports whether a cookie of gorilla's securecookie carries secret
// readably: its value is base64 of "date|payload|mac", and the payload is
// base64 of what was encoded, encrypted only when the codec has a block key.
func inClear(cookie, secret string) bool {
	framed, err := base64.URLEncoding.DecodeString(cookie)
	if err != nil {
		return true // not framed as sealed: read it as it stands
	}
	parts := bytes.SplitN(framed, []byte("|"), 3)
	if len(parts) != 3 {
		return true
	}
	payload, err := base64.URLEncoding.DecodeString(string(parts[1]))
	return err != nil || bytes.Contains(payload, []byte(secret))
}

func TestSSOCallbackRefusals(t *testing.T) {
	p, op := ssoPortal(t, nil)
	t.Run("replayed state", func(t *testing.T) {
		c := p.NewClient()
		cb := callback(t, c, op, "sam")
		if r := c.Get(t, cb); r.Status != http.StatusSeeOther {
			t.Fatalf("callback = %d", r.Status)
		}
		// The same callback again, in another browser (a stolen address).
		other := p.NewClient()
		other.Get(t, "/login/oidc")
		r := other.Get(t, cb)
		if r.Status != http.StatusBadRequest || !strings.Contains(text(r.Doc(t).Find(`[data-testid="login-error"]`)), "expired or was already used") || signedIn(t, other) {
			t.Errorf("replayed callback = %d %s, want 400, its page, no session", r.Status, r.Body)
		}
	})
	t.Run("another state", func(t *testing.T) {
		c := p.NewClient()
		cb := strings.Replace(callback(t, c, op, "sam"), "state=", "state=x", 1)
		if r := c.Get(t, cb); r.Status != http.StatusBadRequest || signedIn(t, c) {
			t.Errorf("callback with another state = %d, want 400 and no session", r.Status)
		}
		// The sign-in is used up: its real state does not work after.
		if r := c.Get(t, strings.Replace(cb, "state=x", "state=", 1)); r.Status != http.StatusBadRequest {
			t.Errorf("the real state after a wrong one = %d, want 400", r.Status)
		}
	})
	for _, tc := range []struct {
		name   string
		tamper func(map[string]any)
	}{
		{"another audience", func(c map[string]any) { c["aud"] = "another-app" }},
		{"expired token", func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }},
		{"another nonce", func(c map[string]any) { c["nonce"] = "replayed" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op.Tamper = tc.tamper
			defer func() { op.Tamper = nil }()
			c := p.NewClient()
			r := c.Get(t, callback(t, c, op, "lin"))
			if r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "could not be verified") || signedIn(t, c) {
				t.Errorf("callback = %d, want 401, the page saying so, and no session", r.Status)
			}
		})
	}
	var logins int
	p.Raw.QueryRow(`SELECT count(*) FROM logins WHERE email = 'lin@carrier.example'`).Scan(&logins)
	if logins != 0 {
		t.Error("a refused token made a login")
	}
}

func TestSSOProviderUnreachable(t *testing.T) {
	p, op := ssoPortal(t, nil)
	// Down between the sign-in on its page and the code exchange.
	c := p.NewClient()
	cb := callback(t, c, op, "sam")
	op.Close()
	if r := c.Get(t, cb); r.Status != http.StatusBadGateway || !strings.Contains(string(r.Body), "could not be reached") || signedIn(t, c) {
		t.Errorf("callback with the provider down = %d %s", r.Status, r.Body)
	}
	// Down before discovery: a portal that has not reached it yet.
	p, op = ssoPortal(t, nil)
	op.Close()
	c = p.NewClient()
	r := c.Get(t, "/login/oidc")
	if r.Status != http.StatusBadGateway || !strings.Contains(string(r.Body), "could not be reached") {
		t.Errorf("GET /login/oidc with the provider down = %d %s", r.Status, r.Body)
	}
	// Password sign-in still works.
	p.Agent(t)
}

func TestSSOSignOutAtTheProvider(t *testing.T) {
	p, op := ssoPortal(t, nil)
	c := p.NewClient()
	c.Get(t, callback(t, c, op, "sam"))
	if csp := c.Get(t, "/subscribers").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+op.Issuer) {
		t.Errorf("CSP %q does not let the sign-out form lead to the provider", csp)
	}
	r := c.Post(t, "/logout", url.Values{"_csrf": {c.CSRFToken(t, "/subscribers")}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), op.Issuer+"/end_session?") {
		t.Fatalf("sign-out = %d to %q, want the provider's end-session endpoint", r.Status, r.Location())
	}
	if signedIn(t, c) {
		t.Error("still signed in to the portal")
	}
	resp, err := c.HTTP.Get(r.Location())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Location"); got != p.URL+"/login" {
		t.Errorf("the provider sent the browser to %q, want the sign-in page", got)
	}
	outs := op.SignOuts()
	if len(outs) != 1 || outs[0].Get("id_token_hint") == "" || outs[0].Get("client_id") != "portal" {
		t.Errorf("end-session calls = %v", outs)
	}
	// A password session signs out to the portal's sign-in page only.
	lead := p.Lead(t)
	if r := lead.Post(t, "/logout", url.Values{"_csrf": {lead.CSRF}}); r.Location() != "/login" {
		t.Errorf("password sign-out to %q", r.Location())
	}
}

func TestPasswordLoginOff(t *testing.T) {
	p, op := ssoPortal(t, func(h *handlers.Handlers) { h.PasswordOff = true })
	c := p.NewClient()
	doc := c.Page(t, "/login")
	if doc.Find(`input[type="password"]`).Length() != 0 || text(doc.Find(`[data-testid="sso-button"]`)) != "Sign in with Test IdP" {
		t.Errorf("with password sign-in off, the sign-in page shows: %s", text(doc.Find("main")))
	}
	// The break-glass form is where its holders know to look; a right
	// password of another login does not sign in.
	if doc := c.Page(t, "/login?break-glass"); doc.Find(`input[type="password"]`).Length() != 1 {
		t.Error("no password form at /login?break-glass")
	}
	passwordSignIn := func(c *portaltest.Client) *portaltest.Response {
		return c.Post(t, "/login", url.Values{"_csrf": {c.CSRFToken(t, "/login?break-glass")}, "email": {demo.AgentEmail}, "password": {demo.AgentPassword}})
	}
	r := passwordSignIn(c)
	if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "Password sign-in is off") || signedIn(t, c) {
		t.Errorf("password sign-in of a login not break-glass = %d", r.Status)
	}
	// A team lead marks a login break-glass; its sign-ins are shown to every lead.
	lead := p.NewClient()
	lead.Get(t, callback(t, lead, op, "lin"))
	path := "/users/" + p.LoginID(t, demo.AgentEmail)
	r = lead.Post(t, path+"/break-glass", url.Values{"_csrf": {lead.CSRFToken(t, path)}, "break_glass": {"true"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("mark break-glass = %d %s", r.Status, r.Body)
	}
	glass := p.NewClient()
	if r := passwordSignIn(glass); r.Status != http.StatusSeeOther {
		t.Fatalf("break-glass sign-in = %d", r.Status)
	}
	if got := text(lead.Page(t, "/users").Find(`[data-testid="break-glass-sign-ins"]`)); !strings.Contains(got, demo.AgentEmail) {
		t.Errorf("the Users page shows break-glass sign-ins %q, want the agent's", got)
	}
}

func TestSSOLeadConfirmsWithARecentSignIn(t *testing.T) {
	p, op := ssoPortal(t, nil)
	lead := p.NewClient()
	lead.Get(t, callback(t, lead, op, "lin"))
	path := "/users/" + p.LoginID(t, demo.AgentEmail)
	p.Clock.Advance(11 * time.Minute)
	defer p.Clock.Reset()
	r := lead.Post(t, path+"/disabled", url.Values{"_csrf": {lead.CSRFToken(t, path)}, "disabled": {"true"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "sign out and in again") {
		t.Fatalf("disable with an old sign-in = %d, want 422 asking for a new one", r.Status)
	}
	lead = p.NewClient()
	lead.Get(t, callback(t, lead, op, "lin"))
	r = lead.Post(t, path+"/disabled", url.Values{"_csrf": {lead.CSRFToken(t, path)}, "disabled": {"true"}})
	if r.Status != http.StatusSeeOther {
		t.Errorf("disable with a fresh sign-in = %d %s", r.Status, r.Body)
	}
}

// A session the provider signed in sets no password in the portal: one
// would outlast the person's removal from the groups.
func TestSSOSessionHasNoPasswordToChange(t *testing.T) {
	p, op := ssoPortal(t, nil)
	c := p.NewClient()
	c.Get(t, callback(t, c, op, "lin"))
	doc := c.Page(t, "/users/"+p.LoginID(t, demo.AgentEmail))
	if doc.Find(`a[href="/account/password"]`).Length() != 0 || doc.Find(`input[name="your_password"]`).Length() != 0 {
		t.Error("an SSO session is offered Change password, or asked for a password to confirm with")
	}
	// Nor does a team lead give an SSO login a portal password.
	sam := p.NewClient()
	sam.Get(t, callback(t, sam, op, "sam"))
	if doc := c.Page(t, "/users/"+p.LoginID(t, "sam@carrier.example")); doc.Find(`[data-testid="sso-no-password"]`).Length() != 1 ||
		doc.Find(`form[action$="/password"]`).Length() != 0 {
		t.Error("the page of an SSO login offers to reset its password")
	}
	if r := c.Get(t, "/account/password"); r.Status != http.StatusForbidden {
		t.Errorf("GET /account/password = %d, want 403", r.Status)
	}
	r := c.Post(t, "/account/password", url.Values{"_csrf": {c.CSRFToken(t, "/subscribers")}, "password": {"a new one here"}, "password_again": {"a new one here"}})
	if r.Status != http.StatusForbidden {
		t.Errorf("POST /account/password = %d, want 403", r.Status)
	}
	var hash string
	p.Raw.QueryRow(`SELECT password_hash FROM logins WHERE email = 'lin@carrier.example'`).Scan(&hash)
	if hash != "" {
		t.Error("the SSO login has a password")
	}
}
