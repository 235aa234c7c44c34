package main

import (
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/db"
)

// The subscriber the browser tests look up. In the demo data Grace Thompson
// holds an Unlimited All plan and an Unlimited bundle, and an eSIM line for
// each: "United Kingdom" with the UK plan and "Japan" with the Japan plan.
const (
	demoName   = "Grace Thompson"
	demoSearch = "Thomps" // part of the name, as an agent types it
)

var demoLines = map[string][]string{
	"United Kingdom": {"UK"},
	"Japan":          {"Japan"},
}

// waitTimeout bounds each wait for something to appear; far above what the
// pages need, far below the test's own timeout so a failure says where.
const waitTimeout = 15 * time.Second

func TestBrowserSignInSearchProfileSignOut(t *testing.T) {
	t.Parallel()
	p := startPortal(t, nil)
	ctx := newBrowser(t)

	// A visitor without a session is sent to the sign-in page.
	do(t, ctx, "open the subscriber search",
		chromedp.Navigate(p.URL+"/subscribers"),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	if u := location(t, ctx); u.Path != "/login" || u.Query().Get("next") != "/subscribers" {
		t.Fatalf("signed out, /subscribers went to %s; want /login?next=/subscribers", u)
	}
	shot(t, ctx, "login")

	do(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("email"), db.DemoAgentEmail),
		chromedp.SendKeys(chromedp.ID("password"), db.DemoAgentPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("q")),
	)
	if u := location(t, ctx); u.Path != "/subscribers" {
		t.Fatalf("after signing in the browser is at %s; want /subscribers", u)
	}
	shot(t, ctx, "subscribers")

	// Typing alone must bring the results: the live search swaps the results
	// in place. The marker on window survives only if the page never reloads.
	do(t, ctx, "type into the search box",
		chromedp.Evaluate[chromedp.Void](`window.e2eSamePage = true`),
		chromedp.SendKeys(chromedp.ID("q"), demoSearch),
	)
	found, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
		const table = document.querySelector('[data-testid=search-results]');
		return !!table && [...table.querySelectorAll('a')].some(a => a.textContent.trim() === `+strconv.Quote(demoName)+`);
	})()`, chromedp.WithPollingTimeout(waitTimeout)))
	if err != nil || !found {
		shotOnFailure(t, ctx, "live search")
		t.Fatalf("typing %q did not show %s in [data-testid=search-results]: %v", demoSearch, demoName, err)
	}
	samePage, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.e2eSamePage === true`))
	if err != nil || !samePage {
		t.Fatalf("the search results came with a page load, not a live swap (marker kept: %v, err: %v)", samePage, err)
	}
	// hx-push-url puts the query in the address, after the swap.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`new URLSearchParams(location.search).get('q') === `+strconv.Quote(demoSearch),
		chromedp.WithPollingTimeout(waitTimeout))); err != nil {
		t.Fatalf("the address did not get ?q=%s after the live search (it is %s): %v", demoSearch, location(t, ctx), err)
	}
	shot(t, ctx, "search-results")

	do(t, ctx, "open the subscriber from the results",
		chromedp.Click(chromedp.Search(`//table[@data-testid="search-results"]//a[normalize-space()="`+demoName+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=subscriber-name]`)),
	)
	if u := location(t, ctx); !regexp.MustCompile(`^/subscribers/\d+$`).MatchString(u.Path) {
		t.Errorf("the profile is at %s; want /subscribers/{id}", u.Path)
	}
	if got := text(t, ctx, `[data-testid=subscriber-name]`); got != demoName {
		t.Errorf("profile heading = %q; want %q", got, demoName)
	}
	allowance := text(t, ctx, `[data-testid=allowance]`)
	m := regexp.MustCompile(`\b(\d+) of (\d+) used\b`).FindStringSubmatch(allowance)
	if m == nil {
		t.Errorf("allowance reads %q; want it to say \"N of M used\"", allowance)
	} else if want := strconv.Itoa(len(demoLines)); m[1] != want || m[2] != want {
		t.Errorf("allowance reads %q; want %d of %d used", allowance, len(demoLines), len(demoLines))
	}

	type line struct {
		Name  string   `json:"name"`
		Plans []string `json:"plans"`
	}
	lines, err := chromedp.Run(ctx, chromedp.Evaluate[[]line](`[...document.querySelectorAll('[data-testid=line]')].map(l => ({
		name: l.querySelector('h3').textContent.trim(),
		plans: [...l.querySelectorAll('[data-testid=line-plan] td:first-child')].map(td => td.textContent.trim()),
	}))`))
	if err != nil {
		t.Fatalf("read the eSIM lines: %v", err)
	}
	if len(lines) != len(demoLines) {
		t.Errorf("profile shows %d [data-testid=line] elements (%+v); want %d", len(lines), lines, len(demoLines))
	}
	for _, l := range lines {
		want, ok := demoLines[l.Name]
		if !ok {
			t.Errorf("profile shows a line %q, which %s does not hold", l.Name, demoName)
			continue
		}
		if !slices.Equal(l.Plans, want) {
			t.Errorf("line %q shows plan rows %q; want %q", l.Name, l.Plans, want)
		}
	}
	shot(t, ctx, "profile")

	do(t, ctx, "sign out",
		chromedp.Click(chromedp.Search(`//header//button[normalize-space()="Sign out"]`)),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	if u := location(t, ctx); u.Path != "/login" {
		t.Fatalf("after signing out the browser is at %s; want /login", u)
	}
	shot(t, ctx, "signed-out")

	// The session is over: the search needs signing in again.
	do(t, ctx, "open the subscriber search after signing out",
		chromedp.Navigate(p.URL+"/subscribers"),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	if u := location(t, ctx); u.Path != "/login" {
		t.Fatalf("after signing out, /subscribers went to %s; want /login", u)
	}
	shot(t, ctx, "subscribers-after-sign-out")
}

func TestBrowserSignInWrongPassword(t *testing.T) {
	t.Parallel()
	p := startPortal(t, nil)
	ctx := newBrowser(t)

	do(t, ctx, "sign in with a wrong password",
		chromedp.Navigate(p.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), db.DemoAgentEmail),
		chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-error]`)),
	)
	if got, want := text(t, ctx, `[data-testid=login-error]`), "Wrong email or password."; got != want {
		t.Errorf("sign-in error = %q; want %q", got, want)
	}
	if u := location(t, ctx); u.Path != "/login" {
		t.Errorf("after a wrong password the browser is at %s; want /login", u)
	}
	// The agent should not have to type the email again.
	email, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("email")))
	if err != nil {
		t.Fatalf("read the email field: %v", err)
	}
	if email != db.DemoAgentEmail {
		t.Errorf("email field = %q after the refusal; want %q kept", email, db.DemoAgentEmail)
	}
	shot(t, ctx, "wrong-password")
}
