package main

import (
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/handlers/portaltest/browsertest"
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

// waitTimeout bounds each wait for something to appear.
const waitTimeout = browsertest.WaitTimeout

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
	checkPage(t, ctx, "login")

	do(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("email"), demo.AgentEmail),
		chromedp.SendKeys(chromedp.ID("password"), demo.AgentPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("q")),
	)
	if u := location(t, ctx); u.Path != "/subscribers" {
		t.Fatalf("after signing in the browser is at %s; want /subscribers", u)
	}
	checkPage(t, ctx, "subscribers")

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
	checkPage(t, ctx, "search-results")

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
	checkPage(t, ctx, "profile")

	signOut(t, ctx)
	checkPage(t, ctx, "signed-out")

	// The session is over: the search needs signing in again.
	do(t, ctx, "open the subscriber search after signing out",
		chromedp.Navigate(p.URL+"/subscribers"),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	if u := location(t, ctx); u.Path != "/login" {
		t.Fatalf("after signing out, /subscribers went to %s; want /login", u)
	}
	checkPage(t, ctx, "subscribers-after-sign-out")
}

func TestBrowserSignInWrongPassword(t *testing.T) {
	t.Parallel()
	p := startPortal(t, nil)
	ctx := newBrowser(t)

	do(t, ctx, "sign in with a wrong password",
		chromedp.Navigate(p.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), demo.AgentEmail),
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
	if email != demo.AgentEmail {
		t.Errorf("email field = %q after the refusal; want %q kept", email, demo.AgentEmail)
	}
	checkPage(t, ctx, "wrong-password")
}

// In the demo data Priya Raman holds 1 of her 2 complimentary eSIMs: the
// line "Europe", of IMSI profile 7, with Euro 1 on it. Euro 3 runs on
// profile 7 too; Asia 1 on profile 10.
const (
	priyaName    = "Priya Raman"
	priyaAccount = "AC-100358"
	priyaEmail   = "priya.raman@example.com"
	priyaLine    = "Europe"
)

func TestBrowserAddLineAndAddPlan(t *testing.T) {
	t.Parallel()
	mailServer := smtptest.Start(t)
	_, ctx := signedIn(t, mailServer, demo.AgentEmail, demo.AgentPassword)

	do(t, ctx, "search for "+priyaName,
		chromedp.SendKeys(chromedp.ID("q"), priyaAccount),
	)
	// Wait for the results of the whole account number: a link in the
	// results of a partial one could be swapped out under the click.
	waitUntil(t, ctx, "the search shows the results for "+priyaAccount,
		`!document.querySelector('.htmx-request') && new URLSearchParams(location.search).get('q') === `+strconv.Quote(priyaAccount))
	result := chromedp.Search(`//table[@data-testid="search-results"]//a[normalize-space()="` + priyaName + `"]`)
	waitVisible(t, ctx, "the search finds "+priyaName, result)
	checkPage(t, ctx, "search-results")
	do(t, ctx, "open the profile of "+priyaName, chromedp.Click(result))
	waitVisible(t, ctx, "the profile of "+priyaName+" shows", chromedp.CSS(`[data-testid=subscriber-name]`))
	profile := location(t, ctx)
	if !regexp.MustCompile(`^/subscribers/\d+$`).MatchString(profile.Path) {
		t.Fatalf("the profile is at %s; want /subscribers/{id}", profile)
	}
	if got := text(t, ctx, `[data-testid=allowance]`); !strings.Contains(got, "1 of 2 used") {
		t.Errorf("allowance reads %q; want 1 of 2 used", got)
	}
	const emailKindsJS = `[...document.querySelectorAll('[data-testid=email-log] tbody tr td:first-child > a')].map(a => a.textContent.trim())`
	emailsBefore := eval[[]string](t, ctx, emailKindsJS)
	europe := eval[string](t, ctx, `(() => {
		const l = [...document.querySelectorAll('[data-testid=line]')].find(l => l.querySelector('h3').textContent.trim() === `+strconv.Quote(priyaLine)+`);
		return l ? l.id.replace(/^line-/, '') : '';
	})()`)
	if europe == "" {
		t.Fatalf("the profile shows no line %q", priyaLine)
	}
	checkPage(t, ctx, "profile")

	// Add line opens in place, ready to type the line name.
	markPage(t, ctx)
	do(t, ctx, "click Add line", chromedp.Click(chromedp.CSS(`[data-testid=add-line]`)))
	waitVisible(t, ctx, "the Add line form opens", chromedp.CSS(`#add-line-form #line_name`))
	waitUntil(t, ctx, "the focus goes to the country box", `document.activeElement && document.activeElement.id === 'add-line-form-country'`)
	if u := location(t, ctx); u.String() != profile.String() {
		t.Errorf("opening Add line moved the browser to %s; want it to stay at %s", u, profile)
	}
	samePage(t, ctx, "opening Add line")
	checkPage(t, ctx, "add-line-form")

	// An empty line name is refused next to the field, in place.
	markStale(t, ctx, "#add-line-form")
	do(t, ctx, "submit Add line empty", chromedp.Click(chromedp.CSS(`#add-line-form button[type=submit]`)))
	waitUntil(t, ctx, "the form comes back with the line name refused",
		freshJS("#add-line-form", "#line_name-error")+`?.textContent.trim()`)
	if got := text(t, ctx, `#line_name-error`); !strings.Contains(got, "Enter a line name") {
		t.Errorf("#line_name-error reads %q; want it to ask for a line name", got)
	}
	if !eval[bool](t, ctx, `document.getElementById('line_name').closest('.field').contains(document.getElementById('line_name-error'))
		&& document.getElementById('line_name').getAttribute('aria-invalid') === 'true'`) {
		t.Errorf("the line name error is not beside the field, or the field is not marked invalid")
	}
	// The keyboard goes to the field refused, and the refusal is read out.
	waitFocus(t, ctx, "after the refused Add line", `#line_name`)
	waitAnnounced(t, ctx, "alert", "Enter a line name")
	if u := location(t, ctx); u.String() != profile.String() {
		t.Errorf("the refused Add line moved the browser to %s; want it to stay at %s", u, profile)
	}
	samePage(t, ctx, "the refused Add line")
	checkPage(t, ctx, "add-line-empty-refused")

	// A plan of another profile than her line's: no top-up to suggest.
	do(t, ctx, "type the line name", chromedp.SendKeys(chromedp.ID("line_name"), "Spain"))
	choosePlan(t, ctx, "add-line-form", "Asia 1")
	if eval[bool](t, ctx, `!!document.querySelector('[data-testid=top-up-hint]')`) {
		t.Errorf("Asia 1 (profile 10) shows a top-up hint, but %s has no line of profile 10", priyaName)
	}
	if got := eval[string](t, ctx, `document.getElementById('line_name').value`); got != "Spain" {
		t.Errorf("after choosing a plan the line name reads %q; want the typed %q kept", got, "Spain")
	}
	checkPage(t, ctx, "add-line-asia1")

	// A plan of her line's profile: the form suggests a top-up instead.
	choosePlan(t, ctx, "add-line-form", "Euro 3")
	waitVisible(t, ctx, "the top-up hint shows for Euro 3", chromedp.CSS(`#add-line-form [data-testid=top-up-hint]`))
	if got := text(t, ctx, `[data-testid=top-up-hint]`); !strings.Contains(got, "“"+priyaLine+"” (profile 7) can take Euro 3") {
		t.Errorf("top-up hint reads %q; want it to name line “%s” (profile 7) for Euro 3", got, priyaLine)
	}
	checkPage(t, ctx, "add-line-euro3-top-up-hint")

	choosePlan(t, ctx, "add-line-form", "Asia 1")
	if eval[bool](t, ctx, `!!document.querySelector('[data-testid=top-up-hint]')`) {
		t.Errorf("the top-up hint stayed after going back to Asia 1")
	}
	samePage(t, ctx, "choosing plans")
	do(t, ctx, "submit Add line", chromedp.Click(chromedp.CSS(`#add-line-form button[type=submit]`)))
	waitVisible(t, ctx, "the profile shows the new line's message", flash(`Line “Spain” added`))
	if u := location(t, ctx); u.Path != profile.Path {
		t.Errorf("after Add line the browser is at %s; want the profile %s", u, profile.Path)
	}
	msg := eval[string](t, ctx, `document.querySelector('main > [data-testid=flash]').textContent.trim()`)
	m := regexp.MustCompile(`Line “Spain” added: eSIM (89\d{17,18}) \(profile 10\) with Asia 1`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("the message after Add line reads %q; want it to name line “Spain”, its ICCID, profile 10 and Asia 1", msg)
	}
	spain := m[1]
	if err := db.CheckICCID(spain); err != nil {
		t.Errorf("the new line's ICCID %s: %v", spain, err)
	}
	type line struct {
		Name  string   `json:"name"`
		ICCID string   `json:"iccid"`
		Plans []string `json:"plans"`
	}
	linesJS := `[...document.querySelectorAll('[data-testid=line]')].map(l => ({
		name: l.querySelector('h3').textContent.trim(),
		iccid: l.id.replace(/^line-/, ''),
		plans: [...l.querySelectorAll('[data-testid=line-plan] td:first-child')].map(td => td.textContent.trim()),
	}))`
	lines := eval[[]line](t, ctx, linesJS)
	if i := slices.IndexFunc(lines, func(l line) bool { return l.Name == "Spain" }); i < 0 {
		t.Errorf("the profile shows lines %+v; want a line “Spain”", lines)
	} else if l := lines[i]; l.ICCID != spain || !slices.Equal(l.Plans, []string{"Asia 1"}) {
		t.Errorf("line “Spain” is %+v; want eSIM %s with Asia 1", l, spain)
	}
	if len(lines) != 2 {
		t.Errorf("the profile shows %d lines (%+v); want 2", len(lines), lines)
	}
	if got := text(t, ctx, `[data-testid=allowance]`); !strings.Contains(got, "2 of 2 used") {
		t.Errorf("allowance reads %q after Add line; want 2 of 2 used", got)
	}
	checkPage(t, ctx, "profile-after-add-line")

	// A new line: the QR code and the order confirmation.
	msgs := mailServer.WaitFor(t, 2, waitTimeout)
	if len(msgs) != 2 {
		t.Errorf("the mail server got %d emails after Add line; want 2", len(msgs))
	}
	var qr, confirmations int
	for _, r := range msgs[:min(len(msgs), 2)] {
		e := readMail(t, r)
		if !slices.Equal(e.To, []string{priyaEmail}) {
			t.Errorf("email %q went to %q; want %s", e.Subject, e.To, priyaEmail)
		}
		switch {
		case e.QR && strings.Contains(e.Subject, "Spain"):
			qr++
		case !e.QR && strings.Contains(e.Subject, "Asia 1") && strings.Contains(e.Subject, "Spain"):
			confirmations++
		default:
			t.Errorf("unexpected email after Add line: %+v", e)
		}
	}
	if qr != 1 || confirmations != 1 {
		t.Errorf("after Add line the mail server got %d QR emails and %d confirmations; want 1 of each", qr, confirmations)
	}

	// Add plan on the Europe line: a plan of another profile is refused in
	// the form, which offers a new line instead.
	lineSel := "#line-" + europe
	formID := "add-plan-" + europe
	planRows := len(lines[slices.IndexFunc(lines, func(l line) bool { return l.ICCID == europe })].Plans)
	here := location(t, ctx)
	markPage(t, ctx)
	do(t, ctx, "click Add plan on line "+priyaLine, chromedp.Click(chromedp.CSS(lineSel+` [data-testid=add-plan]`)))
	waitVisible(t, ctx, "the Add plan form opens in the line", chromedp.CSS(lineSel+` #`+formID))
	samePage(t, ctx, "opening Add plan")
	checkPage(t, ctx, "add-plan-form")

	choosePlan(t, ctx, formID, "Asia 1")
	waitVisible(t, ctx, "the profile mismatch shows", chromedp.CSS(`#`+formID+` [data-testid=plan-error]`))
	if got := text(t, ctx, chromedp.CSS(`#`+formID+` [data-testid=plan-error]`)); !strings.Contains(got, "profile 10") || !strings.Contains(got, "profile 7") {
		t.Errorf("the plan error reads %q; want it to name profile 10 and profile 7", got)
	}
	// The refusal shows where the agent looks, beside the plan chosen, and
	// is read out; the keyboard stays on the plan, to go on choosing.
	refusal := `#` + formID + ` [data-testid=plan-error]`
	asia1 := `#` + formID + ` .plan-option:has(input:checked)`
	assertBeside(t, ctx, "the refusal of Asia 1", refusal, asia1)
	waitAnnounced(t, ctx, "alert", "Asia 1 runs on IMSI profile 10")
	if got := eval[string](t, ctx, `document.activeElement.closest('.plan-option')?.querySelector('.plan-name')?.textContent ?? document.activeElement.tagName`); got != "Asia 1" {
		t.Errorf("after the refusal the focus is on %q; want it to stay on the plan Asia 1", got)
	}
	// She has used both her eSIMs, one of them on line Spain of profile
	// 10: the way out is that line, and no new line is offered.
	if eval[bool](t, ctx, `!!document.querySelector('`+refusal+` [data-testid=new-line-instead]')`) {
		t.Errorf("the refusal offers a new line, but %s has used both her complimentary eSIMs", priyaName)
	}
	if got, want := text(t, ctx, chromedp.CSS(refusal+` [data-testid=no-new-line]`)), priyaName+" has used all 2 complimentary eSIMs: no new line is possible."; got != want {
		t.Errorf("the refusal says %q about a new line; want %q", got, want)
	}
	if got, want := text(t, ctx, chromedp.CSS(refusal+` [data-testid=other-line-instead]`)), "Add Asia 1 to line “Spain” instead"; got != want {
		t.Errorf("the way out reads %q; want %q", got, want)
	}
	if u := location(t, ctx); u.String() != here.String() {
		t.Errorf("the refused plan moved the browser to %s; want it to stay at %s", u, here)
	}
	samePage(t, ctx, "the refused plan")
	checkPage(t, ctx, "add-plan-mismatch")

	choosePlan(t, ctx, formID, "Euro 3")
	if eval[bool](t, ctx, `!!document.querySelector('#`+formID+` [data-testid=plan-error]')`) {
		t.Errorf("the plan error stayed after choosing Euro 3, which fits profile 7")
	}
	do(t, ctx, "submit Add plan", chromedp.Click(chromedp.CSS(`#`+formID+` button[type=submit]`)))
	waitUntil(t, ctx, "the line updates in place with a note", `document.querySelector('`+lineSel+` [data-testid=line-note]')`)
	if got := text(t, ctx, chromedp.CSS(lineSel+` [data-testid=line-note]`)); !strings.Contains(got, "Euro 3 added to line “"+priyaLine+"”") {
		t.Errorf("the line note reads %q; want it to say Euro 3 was added to line “%s”", got, priyaLine)
	}
	plans := eval[[]string](t, ctx, `[...document.querySelectorAll('`+lineSel+` [data-testid=line-plan] td:first-child')].map(td => td.textContent.trim())`)
	if len(plans) != planRows+1 || plans[len(plans)-1] != "Euro 3" {
		t.Errorf("line %q shows plans %q after Add plan; want %d rows ending with Euro 3", priyaLine, plans, planRows+1)
	}
	if eval[bool](t, ctx, `!!document.getElementById('`+formID+`')`) {
		t.Errorf("the Add plan form is still open after the plan was added")
	}
	if u := location(t, ctx); u.String() != here.String() {
		t.Errorf("Add plan moved the browser to %s; want it to stay at %s", u, here)
	}
	samePage(t, ctx, "Add plan")
	checkPage(t, ctx, "add-plan-done")

	// A top-up: only the order confirmation, nothing new to install.
	msgs = mailServer.WaitFor(t, 3, waitTimeout)
	if len(msgs) != 3 {
		t.Errorf("the mail server got %d emails in all; want 3", len(msgs))
	}
	if e := readMail(t, msgs[2]); e.QR || !strings.Contains(e.Subject, "Euro 3") || !slices.Equal(e.To, []string{priyaEmail}) {
		t.Errorf("the email after Add plan is %+v; want an order confirmation of Euro 3 to %s, without a QR code", e, priyaEmail)
	}

	// The outbox agrees: one QR email and two confirmations more than before.
	do(t, ctx, "reload the profile",
		chromedp.Navigate(profile.String()),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=subscriber-name]`)),
	)
	count := func(kinds []string, kind string) int {
		n := 0
		for _, k := range kinds {
			if k == kind {
				n++
			}
		}
		return n
	}
	emailsAfter := eval[[]string](t, ctx, emailKindsJS)
	if len(emailsAfter) != len(emailsBefore)+3 || count(emailsAfter, "QR code") != count(emailsBefore, "QR code")+1 {
		t.Errorf("the email log lists %q; before Add line it listed %q; want one QR code and two order confirmations more", emailsAfter, emailsBefore)
	}
	checkPage(t, ctx, "profile-reloaded")
}

// The inventory files the import test uploads; their ICCIDs are not in the
// demo data.
const (
	goodInventory = "testdata/inventory-good.csv"
	badInventory  = "testdata/inventory-bad-last-row.csv" // three good lines, then one with a wrong check digit
)

var goodInventoryICCIDs = []string{
	"8944990000000000011", "8944990000000000029", "8944990000000000037",
	"8944990000000000045", "8944990000000000052", "8944990000000000060",
}

// goodInventoryByProfile is how many eSIMs of each IMSI profile goodInventory holds.
var goodInventoryByProfile = map[string]int{"2": 2, "7": 3, "10": 1}

func TestBrowserLeadListAndImport(t *testing.T) {
	t.Parallel()
	_, ctx := signedIn(t, nil, demo.LeadEmail, demo.LeadPassword)

	openList := func(what string) {
		t.Helper()
		do(t, ctx, what, chromedp.Click(chromedp.Search(`//header//nav//a[normalize-space()="eSIM List"]`)))
		waitVisible(t, ctx, "the eSIM List shows its stock", chromedp.CSS(`[data-testid=stock]`))
		waitVisible(t, ctx, "the eSIM List shows its results", chromedp.CSS(`[data-testid=esim-results]`))
		if u := location(t, ctx); u.Path != "/esims" {
			t.Fatalf("eSIM → List opened %s; want /esims", u)
		}
	}
	freeStock := func() map[string]int {
		t.Helper()
		return eval[map[string]int](t, ctx, `Object.fromEntries([...document.querySelectorAll('[data-testid=stock-profile]')].map(c =>
			[c.dataset.profile, Number(c.querySelector('[data-testid=free]').textContent.replace(/,/g, ''))]))`)
	}
	rowICCIDs := func() []string {
		t.Helper()
		return eval[[]string](t, ctx, `[...document.querySelectorAll('[data-testid=esim-row]')].map(r => r.dataset.iccid)`)
	}
	// search types into the List's search box and waits for the results of
	// exactly what was typed, with the address showing the search.
	search := func(q string) {
		t.Helper()
		markPage(t, ctx)
		markStale(t, ctx, "#esim-results")
		do(t, ctx, "type "+q+" into the List search",
			chromedp.Clear(chromedp.ID("list-q")),
			chromedp.SendKeys(chromedp.ID("list-q"), q),
		)
		waitUntil(t, ctx, "the List shows the eSIMs matching "+q, freshJS("#esim-results", "")+
			` && new URLSearchParams(location.search).get('q') === `+strconv.Quote(q))
		samePage(t, ctx, "the List search")
	}

	openList("open eSIM → List")
	stockBefore := freeStock()
	checkPage(t, ctx, "esim-list")

	// The last digits of an allocated eSIM find it.
	known := eval[string](t, ctx, `[...document.querySelectorAll('[data-testid=esim-row]')].find(r => r.querySelector('[data-testid=state]')?.textContent.trim() === 'Allocated')?.dataset.iccid ?? ''`)
	if known == "" {
		t.Fatalf("the eSIM List's first page shows no allocated eSIM")
	}
	digits := known[len(known)-6:]
	search(digits)
	got := rowICCIDs()
	if !slices.Contains(got, known) {
		t.Errorf("searching %s shows %q; want %s among them", digits, got, known)
	}
	for _, iccid := range got {
		if !strings.HasSuffix(iccid, digits) {
			t.Errorf("searching %s shows %s, which does not end with it", digits, iccid)
		}
	}
	checkPage(t, ctx, "esim-list-search-digits")

	// A good file: every eSIM goes in, counted per profile.
	goodPath, err := filepath.Abs(goodInventory)
	if err != nil {
		t.Fatal(err)
	}
	badPath, err := filepath.Abs(badInventory)
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "open Import eSIMs", chromedp.Click(chromedp.CSS(`[data-testid=import-link]`)))
	waitVisible(t, ctx, "the import page shows", chromedp.ID("import-file"))
	if u := location(t, ctx); u.Path != "/esims/import" {
		t.Errorf("Import eSIMs opened %s; want /esims/import", u)
	}
	checkPage(t, ctx, "import")
	// A lead may start from the example the page shows, so it must be a file
	// the import takes.
	example := eval[string](t, ctx, `document.querySelector('pre.example').textContent`)
	if rows, bad, err := db.ParseInventoryCSV(strings.NewReader(example)); err != nil || len(bad) > 0 || len(rows) == 0 {
		t.Errorf("the example on the import page, %q, is not a file the import takes: %v %v", example, bad, err)
	}
	do(t, ctx, "import "+goodInventory,
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{goodPath}),
		chromedp.Click(chromedp.CSS(`form[action="/esims/import"] button[type=submit]`)),
	)
	waitVisible(t, ctx, "the import reports what it added", flash("inventory-good.csv"))
	report := eval[string](t, ctx, `document.querySelector('main > [data-testid=flash]').textContent.trim()`)
	if want := "Added 6 eSIMs: 2 of profile 2, 3 of profile 7, 1 of profile 10, from inventory-good.csv."; report != want {
		t.Errorf("the import reports %q; want %q", report, want)
	}
	waitVisible(t, ctx, "the List shows its stock after the import", chromedp.CSS(`[data-testid=stock]`))
	if u := location(t, ctx); u.Path != "/esims" || u.Query().Get("state") != "free" {
		t.Errorf("after the import the browser is at %s; want the free eSIMs, /esims?state=free", u)
	}
	for _, iccid := range goodInventoryICCIDs {
		if !slices.Contains(rowICCIDs(), iccid) {
			t.Errorf("the free eSIMs after the import do not list %s", iccid)
		}
	}
	stockAfter := freeStock()
	for profile, n := range goodInventoryByProfile {
		if stockAfter[profile] != stockBefore[profile]+n {
			t.Errorf("free stock of profile %s went from %d to %d; want %d more", profile, stockBefore[profile], stockAfter[profile], n)
		}
	}
	checkPage(t, ctx, "import-done")

	// The new ICCID in full finds just that eSIM, free.
	newICCID := goodInventoryICCIDs[len(goodInventoryICCIDs)-1]
	search(newICCID)
	if got := rowICCIDs(); !slices.Equal(got, []string{newICCID}) {
		t.Errorf("searching %s shows %q; want just it", newICCID, got)
	}
	if got := text(t, ctx, `[data-testid=list-count]`); got != "1 eSIM matches" {
		t.Errorf("searching %s, the List counts %q; want %q", newICCID, got, "1 eSIM matches")
	}
	if got := text(t, ctx, `[data-testid=esim-row] [data-testid=state]`); got != "Free" {
		t.Errorf("the imported eSIM %s shows as %q; want Free", newICCID, got)
	}
	checkPage(t, ctx, "esim-list-search-new")

	// A bad last line: the page lists it, and nothing is added.
	do(t, ctx, "open Import eSIMs again", chromedp.Click(chromedp.CSS(`[data-testid=import-link]`)))
	waitVisible(t, ctx, "the import page shows", chromedp.ID("import-file"))
	do(t, ctx, "import "+badInventory,
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{badPath}),
		chromedp.Click(chromedp.CSS(`form[action="/esims/import"] button[type=submit]`)),
	)
	waitVisible(t, ctx, "the import lists the lines to fix", chromedp.CSS(`[data-testid=import-errors]`))
	type rowError struct {
		Line   string `json:"line"`
		Reason string `json:"reason"`
	}
	bad := eval[[]rowError](t, ctx, `[...document.querySelectorAll('[data-testid=import-error]')].map(r => ({
		line: r.cells[0].textContent.trim(), reason: r.cells[1].textContent.trim() }))`)
	if len(bad) != 1 || bad[0].Line != "5" || !strings.Contains(bad[0].Reason, "check digit") {
		t.Errorf("the import lists %+v; want just line 5, for its ICCID check digit", bad)
	}
	if got := text(t, ctx, `[data-testid=import-errors] .alert`); !strings.Contains(got, "Nothing was added.") || !strings.Contains(got, "inventory-bad-last-row.csv") {
		t.Errorf("the refusal reads %q; want it to say nothing was added from inventory-bad-last-row.csv", got)
	}
	checkPage(t, ctx, "import-refused")

	openList("open eSIM → List after the refused import")
	if got := freeStock(); !maps.Equal(got, stockAfter) {
		t.Errorf("free stock after the refused import is %v; want it unchanged at %v", got, stockAfter)
	}
	checkPage(t, ctx, "esim-list-after-refused-import")
	// A good line of the refused file is not in the inventory.
	search("8944990000000000078")
	if got := rowICCIDs(); len(got) != 0 {
		t.Errorf("eSIM 8944990000000000078 of the refused file is in the List (%q): the import added part of the file", got)
	}
	if !eval[bool](t, ctx, `!!document.querySelector('[data-testid=no-esims]')`) {
		t.Errorf("searching an ICCID of the refused file does not say no eSIM matches")
	}
	checkPage(t, ctx, "esim-list-search-refused")

	signOut(t, ctx)
}
