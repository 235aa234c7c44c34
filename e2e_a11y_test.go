package main

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/carrier/esim-admin/demo"
)

// The day of an agent who works by keyboard, on a connection that fails
// now and then: shortcuts, the country box, refusals, failures, the emails
// panel after each change, copy buttons and confirmations. Each page state
// is checked by checkPage at both widths.
func TestBrowserAgentDay(t *testing.T) {
	t.Parallel()
	portal := startPortal(t, nil)
	u, err := url.Parse(portal.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	ctx := newBrowser(t)
	grantClipboard(t, ctx, proxy.URL)
	// The browser reaches the portal through the proxy only.
	p := *portal
	p.URL = proxy.URL
	signIn(t, ctx, &p, demo.AgentEmail, demo.AgentPassword)

	// A search in flight says so; one that finds nobody says that.
	proxy.Slow(700 * time.Millisecond)
	do(t, ctx, "type a name nobody has", chromedp.SendKeys(chromedp.ID("q"), "Zzyzx"))
	waitUntil(t, ctx, "the search says it is searching", `document.querySelector('#searching.htmx-request') && getComputedStyle(document.getElementById('searching')).visibility === 'visible'`)
	if got := text(t, ctx, `#searching`); got != "Searching…" {
		t.Errorf("the search in flight reads %q; want Searching…", got)
	}
	proxy.Slow(0)
	waitVisible(t, ctx, "the search finds nobody", chromedp.CSS(`[data-testid=no-results]`))
	waitUntil(t, ctx, "the search is done", `!document.querySelector('.htmx-request')`)
	checkPage(t, ctx, "search-no-result")

	// Priya Raman holds 1 of her 2 complimentary eSIMs: line Europe.
	typeInto(t, ctx, "q", priyaAccount)
	waitUntil(t, ctx, "the search shows the results for "+priyaAccount,
		`!document.querySelector('.htmx-request') && new URLSearchParams(location.search).get('q') === `+strconv.Quote(priyaAccount))
	do(t, ctx, "open the profile of "+priyaName, chromedp.Click(chromedp.Search(`//table[@data-testid="search-results"]//a[normalize-space()="`+priyaName+`"]`)))
	waitVisible(t, ctx, "the profile shows", chromedp.CSS(`[data-testid=subscriber-name]`))
	profile := location(t, ctx)
	europe := eval[string](t, ctx, `[...document.querySelectorAll('[data-testid=line]')].find(l => l.querySelector('h3').textContent.trim() === 'Europe').id.replace(/^line-/, '')`)

	// a opens Add line, ready for the country.
	markPage(t, ctx)
	press(t, ctx, "press a", "a")
	waitVisible(t, ctx, "a opens Add line", chromedp.CSS(`#add-line-form`))
	waitFocus(t, ctx, "Add line opened", `#add-line-form-country`)
	samePage(t, ctx, "opening Add line with a")

	// The country box: the plans covering Portugal, cheapest first, and
	// the line named after it.
	planNames := func(form string) []string {
		t.Helper()
		return eval[[]string](t, ctx, `[...document.querySelectorAll('#`+form+` .plan-option .plan-name')].map(e => e.textContent.trim())`)
	}
	for _, typed := range []string{"Portugal", "pt"} {
		markStale(t, ctx, "#add-line-form-plans")
		typeInto(t, ctx, "add-line-form-country", typed)
		waitUntil(t, ctx, "the plans narrow to Portugal", freshJS("#add-line-form-plans", "[data-testid=plan-summary]"))
		if got, want := text(t, ctx, chromedp.CSS(`#add-line-form [data-testid=plan-summary]`)), "3 plans cover Portugal, cheapest first."; got != want {
			t.Errorf("typing %q, the plan list says %q; want %q", typed, got, want)
		}
		if got, want := planNames("add-line-form"), []string{"Euro 1", "Euro 3", "Euro 10"}; !slices.Equal(got, want) {
			t.Errorf("typing %q shows the plans %q; want %q", typed, got, want)
		}
		waitUntil(t, ctx, "the line name is filled with Portugal", `document.getElementById('line_name').value === 'Portugal'`)
		if got := eval[string](t, ctx, `document.getElementById('add-line-form-country').value`); got != typed {
			t.Errorf("the country box reads %q after the list narrowed; want what was typed, %q", got, typed)
		}
		waitFocus(t, ctx, "typing in the country box", `#add-line-form-country`)
		waitAnnounced(t, ctx, "status", "3 plans cover Portugal")
	}
	// A name of the agent's own stays.
	typeInto(t, ctx, "line_name", "Lisbon")
	markStale(t, ctx, "#add-line-form-plans")
	typeInto(t, ctx, "add-line-form-country", "Spain")
	waitUntil(t, ctx, "the plans narrow to Spain", freshJS("#add-line-form-plans", "[data-testid=plan-summary]"))
	if got := eval[string](t, ctx, `document.getElementById('line_name').value`); got != "Lisbon" {
		t.Errorf("after another country the line name reads %q; want the agent's own Lisbon", got)
	}
	checkPage(t, ctx, "add-line-spain")

	// The arrow keys move through the plans in reading order, each
	// choice swapping the form and keeping the keyboard on the plan.
	choosePlan(t, ctx, "add-line-form", "Euro 1")
	// Spain: Euro 1 ($9), Euro 3 and Global 1 ($19), Euro 10 ($45).
	for _, next := range []string{"Euro 3", "Global 1"} {
		markStale(t, ctx, "#add-line-form")
		press(t, ctx, "press the right arrow", kb.ArrowRight)
		waitUntil(t, ctx, "the arrow key chooses "+next, freshJS("#add-line-form", ".plan-option:has(input:checked) .plan-name")+`?.textContent.trim() === `+strconv.Quote(next))
		waitFocus(t, ctx, "choosing "+next+" with the arrow key", `#add-line-form .plan-option:has(input:checked) input`)
	}
	markStale(t, ctx, "#add-line-form")
	press(t, ctx, "press the left arrow", kb.ArrowLeft)
	waitUntil(t, ctx, "the left arrow goes back to Euro 3", freshJS("#add-line-form", ".plan-option:has(input:checked) .plan-name")+`?.textContent.trim() === "Euro 3"`)
	checkPage(t, ctx, "add-line-euro3-chosen")

	do(t, ctx, "submit Add line", chromedp.Click(chromedp.CSS(`#add-line-form button[type=submit]`)))
	waitVisible(t, ctx, "the profile says the line was added", flash(`Line “Lisbon” added`))
	waitFocus(t, ctx, "after Add line", `[data-testid=flash]`)
	waitAnnounced(t, ctx, "status", "Line “Lisbon” added")
	checkPage(t, ctx, "profile-after-add-line")

	// Add plan: the plans in reading order at both widths.
	lineSel := "#line-" + europe
	formID := "add-plan-" + europe
	do(t, ctx, "open Add plan on Europe", chromedp.Click(chromedp.CSS(lineSel+` [data-testid=add-plan]`)))
	waitVisible(t, ctx, "the Add plan form opens", chromedp.CSS(`#`+formID))
	waitFocus(t, ctx, "Add plan opened", `#`+formID+`-country`)
	for _, w := range []int64{desktopWidth, phoneWidth} {
		setWidth(t, ctx, w)
		assertReadingOrder(t, ctx, fmt.Sprintf("the plans of Add plan at %d px", w), `#`+formID+` .plan-option input[name=plan]`)
	}
	setWidth(t, ctx, desktopWidth)

	// The connection fails: the form says so and keeps the choice.
	choosePlan(t, ctx, formID, "Euro 3")
	emails := func() int {
		t.Helper()
		return eval[int](t, ctx, `document.querySelectorAll('#emails [data-testid=email-log] tbody tr').length`)
	}
	emailsBefore := emails()
	markPage(t, ctx)
	// htmx reports each failed request on the console too.
	expectConsoleErrors(ctx, "htmx:sendError", "htmx:afterRequest", "Response Status Error Code 500 from /esims/"+europe+"/plans")
	proxy.Stop()
	do(t, ctx, "submit Add plan with the server gone", chromedp.Click(chromedp.CSS(`#`+formID+` button[type=submit]`)))
	waitVisible(t, ctx, "the form says the request failed", chromedp.CSS(`#`+formID+` [data-testid=request-failed]`))
	if got, want := text(t, ctx, chromedp.CSS(`#`+formID+` [data-testid=request-failed]`)), "Not sent — the connection failed. Nothing was changed; try again."; got != want {
		t.Errorf("with the server gone the form says %q; want %q", got, want)
	}
	failedForm := func(what string) {
		t.Helper()
		waitUntil(t, ctx, what+": the button works again", `!document.querySelector('#`+formID+` button[type=submit]').disabled`)
		if got := eval[string](t, ctx, `document.querySelector('#`+formID+` .plan-option:has(input:checked) .plan-name')?.textContent.trim() ?? ''`); got != "Euro 3" {
			t.Errorf("%s: the form has %q chosen; want Euro 3 kept", what, got)
		}
		waitFocus(t, ctx, what, `#`+formID+` [data-testid=request-failed]`)
		samePage(t, ctx, what)
	}
	failedForm("the connection failed")
	waitAnnounced(t, ctx, "alert", "Not sent — the connection failed")
	checkPage(t, ctx, "add-plan-connection-failed")
	proxy.Start(t)

	// The server fails: the same, in the server's words.
	if _, err := portal.Raw.Exec(`ALTER TABLE outbox RENAME TO outbox_away`); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "submit Add plan with the server failing", chromedp.Click(chromedp.CSS(`#`+formID+` button[type=submit]`)))
	waitUntil(t, ctx, "the form says the portal failed", `document.querySelector('#`+formID+` [data-testid=request-failed]')?.textContent.includes('the portal hit a problem')`)
	if _, err := portal.Raw.Exec(`ALTER TABLE outbox_away RENAME TO outbox`); err != nil {
		t.Fatal(err)
	}
	failedForm("the server failed")
	if got := eval[int](t, ctx, `document.querySelectorAll('#`+formID+` [data-testid=request-failed]').length`); got != 1 {
		t.Errorf("the form shows %d failure messages; want the last one only", got)
	}

	// It goes through: the line shows the plan, the note takes the focus
	// and is read out, and the emails show the confirmation.
	do(t, ctx, "submit Add plan again", chromedp.Click(chromedp.CSS(`#`+formID+` button[type=submit]`)))
	waitUntil(t, ctx, "the line updates with a note", `document.querySelector('`+lineSel+` [data-testid=line-note]')`)
	waitFocus(t, ctx, "after Add plan", lineSel+` [data-testid=line-note]`)
	waitAnnounced(t, ctx, "status", "Euro 3 added to line “Europe”")
	if got := emails(); got != emailsBefore+1 {
		t.Errorf("after Add plan the Emails panel lists %d emails; want %d, with the new confirmation", got, emailsBefore+1)
	}
	if got := text(t, ctx, `#emails [data-testid=email-log] tbody tr:first-child`); !strings.Contains(got, "Euro 3") {
		t.Errorf("the newest email reads %q; want the confirmation of Euro 3", got)
	}
	samePage(t, ctx, "Add plan")
	checkPage(t, ctx, "add-plan-done")

	// Resend QR email asks first, in the portal's own dialog; no is no.
	resend := chromedp.CSS(lineSel + ` [data-testid=resend-qr]`)
	emailsBefore = emails()
	do(t, ctx, "click Resend QR email", chromedp.Click(resend))
	if got, _ := answerConfirm(t, ctx, "Resend QR email", false); !strings.Contains(got, "Send the QR code email of line “Europe” to the customer again?") {
		t.Errorf("Resend QR email asks %q; want it to name the line", got)
	}
	if got := emails(); got != emailsBefore {
		t.Errorf("a dismissed Resend sent an email: %d emails, want %d", got, emailsBefore)
	}
	do(t, ctx, "click Resend QR email", chromedp.Click(resend))
	answerConfirm(t, ctx, "Resend QR email", true)
	waitUntil(t, ctx, "the line says the QR email was queued", `document.querySelector('`+lineSel+` [data-testid=line-note]')?.textContent.includes('QR code email for line “Europe” queued again')`)
	waitFocus(t, ctx, "after Resend", lineSel+` [data-testid=line-note]`)
	waitAnnounced(t, ctx, "status", "QR code email for line “Europe” queued again")
	if got := emails(); got != emailsBefore+1 {
		t.Errorf("after Resend the Emails panel lists %d emails; want %d", got, emailsBefore+1)
	}
	if got := text(t, ctx, `#emails [data-testid=email-log] tbody tr:first-child td:first-child a`); got != "QR code" {
		t.Errorf("the newest email is %q; want the QR code", got)
	}
	samePage(t, ctx, "Resend QR email")

	// Retry: the row changes in place, and says so.
	var failed int64
	if err := portal.Raw.QueryRow(`SELECT max(id) FROM outbox WHERE subscriber_id = (SELECT id FROM subscribers WHERE account_number = ?)`, priyaAccount).Scan(&failed); err != nil {
		t.Fatal(err)
	}
	if _, err := portal.Raw.Exec(`UPDATE outbox SET state = 'failed', last_error = '550 mailbox unavailable', attempts = 5 WHERE id = ?`, failed); err != nil {
		t.Fatal(err)
	}
	row := `#email-` + strconv.FormatInt(failed, 10)
	status := `document.querySelector('` + row + ` td:last-child')?.textContent ?? ''`
	do(t, ctx, "reload the profile", chromedp.Navigate(profile.String()))
	waitUntil(t, ctx, "the email reads as failed, with why", `(`+status+`).includes('Failed') && (`+status+`).includes('550 mailbox unavailable')`)
	checkPage(t, ctx, "profile-email-failed")
	markPage(t, ctx)
	do(t, ctx, "retry the failed email", chromedp.Click(chromedp.CSS(row+` button`)))
	waitUntil(t, ctx, "the email reads as queued again", `!(`+status+`).includes('Failed') && /Held|Queued|Sent/.test(`+status+`)`)
	waitAnnounced(t, ctx, "status", "Email queued again.")
	waitFocus(t, ctx, "after Retry", row+` a`)
	samePage(t, ctx, "Retry")

	// The copy button copies the ICCID.
	do(t, ctx, "copy the ICCID of Europe", chromedp.Click(chromedp.CSS(lineSel+` .line-head button[data-copy]`)))
	waitAnnounced(t, ctx, "status", "ICCID copied")
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil || got != europe {
		t.Errorf("the clipboard holds %q (%v); want the ICCID %s", got, err, europe)
	}

	// The eSIM page leads back to the profile it was opened from; its
	// activation code wraps only between its parts.
	do(t, ctx, "open the eSIM page of Europe", chromedp.Click(chromedp.CSS(lineSel+` .line-head a.mono`)))
	waitVisible(t, ctx, "the eSIM page shows", chromedp.CSS(`[data-testid=show-activation-code]`))
	do(t, ctx, "show the activation code", chromedp.Click(chromedp.CSS(`[data-testid=show-activation-code]`)))
	waitVisible(t, ctx, "the activation code shows", chromedp.CSS(`[data-testid=activation-code]`))
	crumb := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-testid=breadcrumb] a')].map(a => a.textContent.trim() + ' ' + new URL(a.href).pathname)`)
	if want := []string{priyaName + " " + profile.Path}; !slices.Equal(crumb, want) {
		t.Errorf("the breadcrumb of the eSIM page opened from the profile is %q; want %q", crumb, want)
	}
	checkPage(t, ctx, "esim-page")
	setWidth(t, ctx, phoneWidth)
	if broken := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-testid=activation-code] .nowrap')].filter(e => e.getClientRects().length > 1 || e.getBoundingClientRect().right > document.documentElement.clientWidth).map(e => e.textContent)`); len(broken) > 0 {
		t.Errorf("at %d px the activation code breaks or sticks out inside %q", phoneWidth, broken)
	}
	setWidth(t, ctx, desktopWidth)

	// / goes to the subscriber search from a page without a search box;
	// ? lists the shortcuts.
	press(t, ctx, "press /", "/")
	waitVisible(t, ctx, "/ opens the subscriber search", chromedp.ID("q"))
	waitFocus(t, ctx, "/ from the eSIM page", `#q`)
	if u := location(t, ctx); u.Path != "/subscribers" {
		t.Errorf("/ went to %s; want the subscriber search", u)
	}
	eval[chromedp.Void](t, ctx, `document.activeElement.blur()`)
	press(t, ctx, "press ?", "?")
	waitUntil(t, ctx, "? opens the shortcuts", `document.getElementById('shortcuts').open`)
	checkPage(t, ctx, "shortcuts")
	press(t, ctx, "press Escape", kb.Escape)
	waitUntil(t, ctx, "Escape closes the shortcuts", `!document.getElementById('shortcuts').open`)
	press(t, ctx, "press / on the search page", "/")
	waitFocus(t, ctx, "/ on the search page", `#q`)

	// A customer without a qualifying plan, and an email as the customer
	// sees it.
	tom := portal.Subscriber(t, "AC-100333")
	do(t, ctx, "open the profile of Tom Becker", chromedp.Navigate(fmt.Sprintf("%s/subscribers/%d", proxy.URL, tom.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=allowance]`)))
	if got, want := text(t, ctx, `[data-testid=allowance]`), "No complimentary eSIMs: no Unlimited All plan or bundle"; got != want {
		t.Errorf("Tom Becker's allowance reads %q; want %q", got, want)
	}
	checkPage(t, ctx, "profile-no-qualifying-plan")
	do(t, ctx, "open the email preview", chromedp.Navigate(fmt.Sprintf("%s/emails/%d", proxy.URL, failed)), chromedp.WaitVisible(chromedp.CSS(`iframe.email-frame`)))
	checkPage(t, ctx, "email-preview")
}

// assertReadingOrder fails the test unless the elements sel matches come
// in the DOM (and so keyboard) order in which a reader meets them: row by
// row, left to right.
func assertReadingOrder(t *testing.T, ctx context.Context, what, sel string) {
	t.Helper()
	type pos struct {
		Name string  `json:"name"`
		Top  float64 `json:"top"`
		Left float64 `json:"left"`
	}
	ps := eval[[]pos](t, ctx, `[...document.querySelectorAll(`+strconv.Quote(sel)+`)].map(e => { const b = e.getBoundingClientRect();
		return {name: e.closest('.plan-option')?.querySelector('.plan-name')?.textContent.trim() ?? e.id, top: b.top + scrollY, left: b.left}; })`)
	if len(ps) < 2 {
		t.Fatalf("%s: only %d elements", what, len(ps))
	}
	read := slices.Clone(ps)
	slices.SortStableFunc(read, func(a, b pos) int {
		if d := a.Top - b.Top; d < -4 || d > 4 {
			if d < 0 {
				return -1
			}
			return 1
		}
		switch {
		case a.Left < b.Left:
			return -1
		case a.Left > b.Left:
			return 1
		}
		return 0
	})
	names := func(ps []pos) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.Name
		}
		return out
	}
	if !slices.Equal(names(ps), names(read)) {
		t.Errorf("%s: the keyboard meets them as %q; a reader as %q", what, names(ps), names(read))
	}
}

// A team lead's pages: Users with its confirmation, the audit log empty
// and refused, the List's refused filter, the breadcrumb back to the List,
// and what the keyboard shows: the skip link and the focus ring.
func TestBrowserLeadPages(t *testing.T) {
	t.Parallel()
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signIn(t, ctx, p, demo.LeadEmail, demo.LeadPassword)

	// The skip link shows when the keyboard reaches it, and the focus ring
	// stands out from what is behind it.
	do(t, ctx, "open Users", chromedp.Navigate(p.URL+"/users"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=logins]`)))
	press(t, ctx, "press Tab", kb.Tab)
	waitFocus(t, ctx, "the first Tab", `.skip-link`)
	type shown struct {
		Top    float64 `json:"top"`
		Width  float64 `json:"width"`
		Height float64 `json:"height"`
	}
	if b := eval[shown](t, ctx, `(b => ({top: b.top, width: b.width, height: b.height}))(document.activeElement.getBoundingClientRect())`); b.Top < 0 || b.Width < 40 || b.Height < 16 {
		t.Errorf("the focused skip link is not on screen: %+v", b)
	}
	assertFocusRing(t, ctx, "the skip link")
	press(t, ctx, "press Tab", kb.Tab)
	waitFocus(t, ctx, "the second Tab", `.brand`)
	assertFocusRing(t, ctx, "a link of the top bar")
	eval[chromedp.Void](t, ctx, `document.querySelector('form[action="/users"] button[type=submit]').focus()`)
	assertFocusRing(t, ctx, "a button of a panel")
	eval[chromedp.Void](t, ctx, `document.getElementById('email').focus()`)
	assertFocusRing(t, ctx, "a field")
	eval[chromedp.Void](t, ctx, `document.activeElement.blur()`)
	checkPage(t, ctx, "users")

	// Disabling a login is on its own page and asks for the lead's password.
	do(t, ctx, "open the agent's login", chromedp.Click(chromedp.Search(`//table[@data-testid="logins"]//a[normalize-space()="Dana Whitfield"]`)))
	waitVisible(t, ctx, "the login's page", chromedp.CSS(`form[action$="/disabled"] input[name=your_password]`))
	checkPage(t, ctx, "login-page")
	do(t, ctx, "disable with the lead's password",
		chromedp.SendKeys(chromedp.CSS(`form[action$="/disabled"] input[name=your_password]`), demo.LeadPassword),
		chromedp.Click(chromedp.CSS(`form[action$="/disabled"] button[type=submit]`)),
	)
	waitVisible(t, ctx, "the login is disabled", flash("Dana Whitfield disabled"))
	waitFocus(t, ctx, "after Disable", `[data-testid=flash]`)
	waitAnnounced(t, ctx, "status", "Dana Whitfield disabled and signed out everywhere.")
	checkPage(t, ctx, "users-disabled")
	do(t, ctx, "back to Users", chromedp.Navigate(p.URL+"/users"), chromedp.WaitVisible(chromedp.ID("email")))

	// Add a login with every field wrong: every message at once, the
	// keyboard on the first.
	do(t, ctx, "add a login with every field wrong",
		chromedp.SendKeys(chromedp.ID("email"), "nobody"),
		chromedp.SendKeys(chromedp.ID("password"), "short"),
		chromedp.Click(chromedp.CSS(`form[action="/users"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#email-error:not(:empty)`)),
	)
	for _, id := range []string{"email-error", "name-error", "password-error"} {
		if text(t, ctx, chromedp.CSS("#"+id)) == "" {
			t.Errorf("#%s is empty after a refused Add login", id)
		}
	}
	waitFocus(t, ctx, "after a refused Add login", `#email`)
	waitAnnounced(t, ctx, "alert", "Enter an email address.")
	checkPage(t, ctx, "users-add-refused")

	// The audit log: nothing matches, and a date it cannot use.
	do(t, ctx, "open the audit log of a day without changes", chromedp.Navigate(p.URL+"/audit?from=2030-01-01"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=no-entries]`)))
	checkPage(t, ctx, "audit-empty")
	do(t, ctx, "open the audit log with a bad date", chromedp.Navigate(p.URL+"/audit?from=2026-99-01"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=filter-refused]`)))
	checkPage(t, ctx, "audit-refused")

	// The List: a date it cannot use is said once, beside its field, both
	// on a page load and when the filter changes in place.
	const toError = "The end date is before the start date."
	countTo := `[...document.querySelectorAll('body *')].filter(e => e.children.length === 0 && e.textContent.includes(` + strconv.Quote(toError) + `) && e.getClientRects().length > 0).length`
	do(t, ctx, "open the List with the dates the wrong way round", chromedp.Navigate(p.URL+"/esims?from=2026-05-10&to=2026-05-01"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=filter-refused]`)))
	if n := eval[int](t, ctx, countTo); n != 1 {
		t.Errorf("the refused date is said %d times on the page; want once", n)
	}
	checkPage(t, ctx, "esim-list-refused")
	markStale(t, ctx, "#esim-results")
	eval[chromedp.Void](t, ctx, `(f => { f.value = '2026-05-20'; f.dispatchEvent(new Event('change', {bubbles: true})); })(document.getElementById('list-from'))`)
	waitUntil(t, ctx, "the List answers the new date", freshJS("#esim-results", ""))
	if n := eval[int](t, ctx, countTo); n != 1 {
		t.Errorf("after a change in place the refused date is said %d times; want once", n)
	}

	// Choosing why eSIMs were retired filters in place, like every field.
	do(t, ctx, "open the List", chromedp.Navigate(p.URL+"/esims"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=esim-row]`)))
	markStale(t, ctx, "#esim-results")
	eval[chromedp.Void](t, ctx, `(f => { f.value = 'other'; f.dispatchEvent(new Event('change', {bubbles: true})); })(document.getElementById('list-retired'))`)
	waitUntil(t, ctx, "the List answers the retired filter", freshJS("#esim-results", "[data-testid=esim-row]"))
	if got := location(t, ctx).Query().Get("retired"); got != "other" {
		t.Errorf("the address's retired filter is %q after the change; want other", got)
	}
	if states := eval[[]string](t, ctx, `[...new Set([...document.querySelectorAll('[data-testid=esim-row] td:nth-child(3)')].map(td => td.textContent.trim()))]`); !slices.Equal(states, []string{"Retired"}) {
		t.Errorf("the List retired from stock shows the states %q; want only Retired", states)
	}

	// An eSIM opened from a filtered List leads back to that List.
	list := p.URL + "/esims?state=allocated&profile=7"
	do(t, ctx, "open the allocated eSIMs of profile 7", chromedp.Navigate(list), chromedp.WaitVisible(chromedp.CSS(`[data-testid=esim-row] a`)))
	do(t, ctx, "open the first eSIM", chromedp.Click(chromedp.CSS(`[data-testid=esim-row] td.mono a`)))
	waitVisible(t, ctx, "the eSIM page shows", chromedp.CSS(`[data-testid=breadcrumb]`))
	crumb := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-testid=breadcrumb] a')].map(a => a.textContent.trim() + ' ' + a.href)`)
	if want := []string{"eSIM List " + list}; !slices.Equal(crumb, want) {
		t.Errorf("the breadcrumb of an eSIM opened from the List is %q; want %q", crumb, want)
	}
	checkPage(t, ctx, "esim-page-lead")
}

// assertFocusRing fails the test unless the focused element shows a ring
// of at least 2 px whose colour has a contrast of 3:1 or more with what is
// behind it (WCAG 1.4.11).
func assertFocusRing(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	type ring struct {
		Style string  `json:"style"`
		Width float64 `json:"width"`
		Ratio float64 `json:"ratio"`
		Color string  `json:"color"`
		Back  string  `json:"back"`
	}
	r := eval[ring](t, ctx, `(() => {
		const e = document.activeElement, cs = getComputedStyle(e);
		const rgb = c => (c.match(/[\d.]+/g) || []).map(Number);
		const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
			.reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
		let back = 'rgb(255, 255, 255)';
		for (let a = e.parentElement; a; a = a.parentElement) {
			const c = getComputedStyle(a).backgroundColor, v = rgb(c);
			if (v.length === 3 || (v.length === 4 && v[3] > 0)) { back = c; break; }
		}
		const l1 = lum(rgb(cs.outlineColor)), l2 = lum(rgb(back));
		return {style: cs.outlineStyle, width: parseFloat(cs.outlineWidth), ratio: (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05),
			color: cs.outlineColor, back};
	})()`)
	if r.Style == "none" || r.Width < 2 || r.Ratio < 3 {
		t.Errorf("the focus ring of %s is %s %.0f px %s on %s, a contrast of %.1f:1; want 2 px or more at 3:1 or more", what, r.Style, r.Width, r.Color, r.Back, r.Ratio)
	}
}
