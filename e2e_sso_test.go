package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/signin"
	"github.com/carrier/esim-admin/signin/signintest"
)

// An agent signs in on the identity provider's own page, serves a customer
// (Add line), and signs out of the portal and the provider, with password
// sign-in off.
func TestBrowserSingleSignOn(t *testing.T) {
	t.Parallel()
	op := signintest.New()
	t.Cleanup(op.Close)
	op.AddUser(signintest.User{Username: "sam", Password: "correct horse", Subject: "sub-sam", Email: "sam@carrier.example",
		EmailVerified: true, Name: "Sam Agent", Groups: []string{"staff", "ap-agents"}})
	op.AddUser(signintest.User{Username: "oscar", Password: "battery staple", Subject: "sub-oscar", Email: "oscar@carrier.example",
		EmailVerified: true, Name: "Oscar Outsider", Groups: []string{"staff"}})
	p := portaltest.StartWith(t, portaltest.Options{
		Configure: func(h *handlers.Handlers) {
			h.PasswordOff = true
			h.SSOName = "Sign in with Okta"
		},
		SignIn: func(base string) *signin.Provider {
			rp, err := op.Portal(base)
			if err != nil {
				t.Fatal(err)
			}
			return rp
		},
	})
	ctx := newBrowser(t)

	do(t, ctx, "open the subscriber search",
		chromedp.Navigate(p.URL+"/subscribers"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=sso-button]`)),
	)
	if got := text(t, ctx, `[data-testid=sso-button]`); got != "Sign in with Okta" {
		t.Errorf("the sign-in button reads %q", got)
	}
	if eval[bool](t, ctx, `!!document.querySelector('input[type=password]')`) {
		t.Error("the sign-in page shows a password form with password sign-in off")
	}
	checkPage(t, ctx, "sso-login")

	// Someone in none of the portal's groups is told which groups let people in.
	do(t, ctx, "click Sign in with Okta",
		chromedp.Click(chromedp.CSS(`[data-testid=sso-button]`)),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	if u := location(t, ctx); !strings.HasPrefix(u.String(), op.Issuer+"/authorize?") {
		t.Fatalf("the button led to %s; want the provider's page", u)
	}
	shot(t, ctx, "provider-login")
	do(t, ctx, "sign in on the provider's page as someone in no group",
		chromedp.SendKeys(chromedp.ID("username"), "oscar"),
		chromedp.SendKeys(chromedp.ID("password"), "battery staple"),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=needed-groups]`)),
	)
	if got := text(t, ctx, `[data-testid=needed-groups]`); !strings.Contains(got, "ap-agents (support agent)") || !strings.Contains(got, "ap-leads (team lead)") {
		t.Errorf("the refusal reads %q; want the groups that let people in", got)
	}
	checkPage(t, ctx, "sso-refused")

	do(t, ctx, "click Sign in with Okta again",
		chromedp.Click(chromedp.CSS(`[data-testid=sso-button]`)),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	do(t, ctx, "sign in on the provider's page",
		chromedp.SendKeys(chromedp.ID("username"), "sam"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse"),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("q")),
	)
	if u := location(t, ctx); u.Path != "/subscribers" {
		t.Fatalf("after signing in the browser is at %s; want the subscriber search", u)
	}
	if got := text(t, ctx, `header`); !strings.Contains(got, "Sam Agent") {
		t.Errorf("the header reads %q; want the name from the provider", got)
	}

	// Serve a customer: find her and give her a line.
	do(t, ctx, "search for "+priyaName, chromedp.SendKeys(chromedp.ID("q"), priyaAccount))
	waitUntil(t, ctx, "the search shows the results for "+priyaAccount,
		`!document.querySelector('.htmx-request') && new URLSearchParams(location.search).get('q') === `+strconv.Quote(priyaAccount))
	result := chromedp.Search(`//table[@data-testid="search-results"]//a[normalize-space()="` + priyaName + `"]`)
	waitVisible(t, ctx, "the search finds "+priyaName, result)
	do(t, ctx, "open the profile of "+priyaName, chromedp.Click(result))
	waitVisible(t, ctx, "the profile shows", chromedp.CSS(`[data-testid=add-line]`))
	do(t, ctx, "click Add line", chromedp.Click(chromedp.CSS(`[data-testid=add-line]`)))
	waitVisible(t, ctx, "the Add line form opens", chromedp.CSS(`#add-line-form #line_name`))
	// The form reloads itself for the plan chosen: choose first, then type
	// into the form that stays.
	narrowTo(t, ctx, "add-line-form", "Japan")
	choosePlan(t, ctx, "add-line-form", "Asia 1")
	waitUntil(t, ctx, "the line name reads Japan", `document.getElementById('line_name').value === 'Japan'`)
	do(t, ctx, "submit Add line", chromedp.Click(chromedp.CSS(`#add-line-form button[type=submit]`)))
	waitVisible(t, ctx, "the profile shows the new line's message", flash(`Line “Japan” added`))
	var by string
	if err := p.Raw.QueryRow(`SELECT l.email FROM audit_log a JOIN logins l ON l.id = a.login_id WHERE a.action = 'add_line' ORDER BY a.id DESC LIMIT 1`).Scan(&by); err != nil || by != "sam@carrier.example" {
		t.Errorf("the audit log says %q added the line (%v); want the agent the provider signed in", by, err)
	}

	// Signing out ends the portal session and the provider's, and comes back
	// to the sign-in page.
	do(t, ctx, "sign out",
		chromedp.Click(chromedp.Search(`//header//button[normalize-space()="Sign out"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=sso-button]`)),
	)
	if u := location(t, ctx); u.String() != p.URL+"/login" {
		t.Errorf("after signing out the browser is at %s; want the sign-in page", u)
	}
	if n := len(op.SignOuts()); n != 1 {
		t.Errorf("the provider's end-session endpoint was called %d times, want once", n)
	}
	do(t, ctx, "open the subscriber search again",
		chromedp.Navigate(p.URL+"/subscribers"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=sso-button]`)),
	)
}
