package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/carrier/esim-admin/demo"
)

// steps counts what an agent does: each click and each key pressed,
// a letter typed included.
type steps struct {
	t     *testing.T
	ctx   context.Context
	count int
}

// press presses keys one by one, counting each.
func (s *steps) press(what, keys string) {
	s.t.Helper()
	press(s.t, s.ctx, what, keys)
	s.count += len([]rune(keys))
}

// click clicks sel, one step.
func (s *steps) click(what string, sel chromedp.CSS) {
	s.t.Helper()
	do(s.t, s.ctx, what, chromedp.Click(sel))
	s.count++
}

// typeInto types into the field with id, a step a letter.
func (s *steps) typeInto(id, typed string) {
	s.t.Helper()
	typeInto(s.t, s.ctx, id, typed)
	s.count += len([]rune(typed))
}

// choosePlan picks a plan of a form, one step.
func (s *steps) choosePlan(formID, name string) {
	s.t.Helper()
	choosePlan(s.t, s.ctx, formID, name)
	s.count++
}

// ctrl presses Ctrl and key together, one step.
func (s *steps) ctrl(what, key string) {
	s.t.Helper()
	pressCtrl(s.t, s.ctx, what, key)
	s.count++
}

func pressCtrl(t *testing.T, ctx context.Context, what, key string) {
	t.Helper()
	waitUntil(t, ctx, what+": the page's keys listen", `document.documentElement.hasAttribute('data-keys-ready')`)
	do(t, ctx, what, chromedp.KeyEvent(key, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
}

// answerConfirm waits for the portal's own confirmation, returns what it
// asks and what it adds, and answers it.
func answerConfirm(t *testing.T, ctx context.Context, what string, yes bool) (question, recent string) {
	t.Helper()
	waitUntil(t, ctx, what+": the portal asks first", `document.getElementById('confirm').open`)
	waitFocus(t, ctx, what+": the confirmation starts on No", `#confirm-no`)
	question = text(t, ctx, `#confirm-question`)
	recent = eval[string](t, ctx, `(e => e.hidden ? '' : e.textContent.trim())(document.getElementById('confirm-recent'))`)
	if yes {
		// By keyboard: from No back to Yes, and Enter.
		do(t, ctx, what+": Shift-Tab to yes", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
		waitFocus(t, ctx, what+": yes has the focus", `#confirm-yes`)
		press(t, ctx, what+": Enter", kb.Enter)
	} else {
		press(t, ctx, what+": Esc", kb.Escape)
	}
	// Closed, and answered: the focus is where the answer leaves it.
	waitUntil(t, ctx, what+": the confirmation closes", `(d => !d.open && !('asking' in d.dataset))(document.getElementById('confirm'))`)
	return question, recent
}

// lineName is the name of the line the focus is on (or in); "" for none.
const focusedLineJS = `(l => l ? l.dataset.lineName : '')(document.activeElement.closest('[data-testid=line]'))`

// A whole call by keyboard: the command palette finds the customer, Add
// line asks for the country and takes the cheapest plan with Enter, j and
// k move between lines and each line tool has its key, the portal asks
// first in its own dialog and says when the QR email went a moment ago,
// and times read in the agent's zone.
func TestBrowserWorkspaceKeys(t *testing.T) {
	t.Parallel()
	portal := startPortal(t, nil)
	ctx := newBrowser(t)
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/Berlin"}); err != nil {
		t.Fatalf("set the time zone: %v", err)
	}
	signIn(t, ctx, portal, demo.AgentEmail, demo.AgentPassword)
	s := &steps{t: t, ctx: ctx}

	// Add line for a trip: Hannah Kim goes to Japan.
	s.ctrl("open the palette", "k")
	waitUntil(t, ctx, "Ctrl-K opens the palette", `document.getElementById('palette').open`)
	waitFocus(t, ctx, "the palette opened", `#palette-q`)
	s.press("type a name", "hannah")
	waitUntil(t, ctx, "the palette finds Hannah Kim", `[...document.querySelectorAll('#palette-list [role=option][data-kind=Customer]')].some(o => o.textContent.includes('Hannah Kim'))`)
	checkPage(t, ctx, "palette-customer")
	if got := eval[string](t, ctx, `document.querySelector('#palette-list [aria-selected=true]').textContent`); !strings.Contains(got, "Hannah Kim") {
		t.Errorf("the palette's first choice reads %q; want Hannah Kim", got)
	}
	s.press("open her profile", kb.Enter)
	waitVisible(t, ctx, "Enter opens the profile", chromedp.CSS(`[data-testid=subscriber-name]`))
	if got := text(t, ctx, `[data-testid=subscriber-name]`); !strings.Contains(got, "Hannah Kim") {
		t.Fatalf("the palette opened %q; want Hannah Kim", got)
	}
	s.press("press a", "a")
	waitVisible(t, ctx, "a opens Add line", chromedp.CSS(`#add-line-form`))
	waitFocus(t, ctx, "Add line opened", `#add-line-form-country`)
	// The catalog waits for the country: no plan until asked.
	if n := eval[int](t, ctx, `document.querySelectorAll('#add-line-form input[name=plan]').length`); n != 0 {
		t.Errorf("Add line opens with %d plans listed; want none until a country is typed", n)
	}
	waitVisible(t, ctx, "Add line offers every plan on request", chromedp.CSS(`#add-line-form [data-testid=show-all-plans]`))
	if h := eval[float64](t, ctx, `document.getElementById('add-line-form').getBoundingClientRect().height`); h > 700 {
		t.Errorf("Add line opens %.0f px tall; want it to fit the window", h)
	}
	checkPage(t, ctx, "add-line-opened")
	markStale(t, ctx, "#add-line-form-plans")
	s.press("type the country", "japan")
	// A letter at a time: the list narrows as the agent types, Japan last.
	waitUntil(t, ctx, "the plans narrow to Japan", `(document.querySelector('#add-line-form-plans [data-testid=plan-summary]')?.textContent || '').includes('Japan')`)
	markStale(t, ctx, "#add-line-form")
	s.press("Enter takes the cheapest plan", kb.Enter)
	waitUntil(t, ctx, "Enter in the country box chooses the first plan", freshJS("#add-line-form", "input[name=plan]:checked"))
	waitSettled(t, ctx, "#add-line-form")
	waitFocus(t, ctx, "the chosen plan", `#add-line-form input[name=plan]:checked`)
	first := eval[string](t, ctx, `document.querySelector('#add-line-form .plan-option:has(input:checked) .plan-name').textContent.trim()`)
	// Plan cards name their countries; no ISO code.
	if dest := eval[string](t, ctx, `document.querySelector('#add-line-form .plan-option .plan-dest').textContent`); !strings.Contains(dest, "Japan") || regexp.MustCompile(`\b[A-Z]{2}\b`).MatchString(dest) {
		t.Errorf("a plan card's destinations read %q; want country names", dest)
	}
	checkPage(t, ctx, "add-line-japan-chosen")
	s.press("Enter adds the line", kb.Enter)
	waitVisible(t, ctx, "the profile says the line was added", flash(`Line “Japan” added`))
	if !strings.Contains(text(t, ctx, `[data-testid=flash]`), first) {
		t.Errorf("the line was added with another plan than %s, the one chosen", first)
	}
	t.Logf("Add line for a trip: %d steps (clicks and keys, every letter typed counted), all by keyboard", s.count)
	if s.count > 18 {
		t.Errorf("Add line for a trip took %d steps; it took 18 before", s.count)
	}

	// The full catalog, on request.
	priya := portal.Subscriber(t, priyaAccount)
	do(t, ctx, "open Priya Raman's profile", chromedp.Navigate(fmt.Sprintf("%s/subscribers/%d", portal.URL, priya.ID)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=line]`)))
	press(t, ctx, "press a", "a")
	waitVisible(t, ctx, "a opens Add line", chromedp.CSS(`#add-line-form [data-testid=show-all-plans]`))
	waitSettled(t, ctx, "#add-line-form")
	do(t, ctx, "ask for every plan", chromedp.Click(chromedp.CSS(`#add-line-form [data-testid=show-all-plans]`)))
	waitUntil(t, ctx, "every plan shows", `document.querySelectorAll('#add-line-form input[name=plan]').length > 10`)
	waitFocus(t, ctx, "after Show all plans", `#add-line-form input[name=plan]`)

	// j and k go from line to line; each tool has its key.
	ahmed := portal.Subscriber(t, "AC-100719")
	profile := fmt.Sprintf("%s/subscribers/%d", portal.URL, ahmed.ID)
	do(t, ctx, "reload the profile", chromedp.Navigate(profile), chromedp.WaitVisible(chromedp.CSS(`[data-testid=line]`)))
	names := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-testid=line]')].map(l => l.dataset.lineName)`)
	if len(names) != 2 {
		t.Fatalf("Ahmed Hassan's lines: %q; want 2", names)
	}
	for i, k := range []string{"j", "j", "j", "k"} {
		want := names[min(i, 1)]
		if i == 3 {
			want = names[0]
		}
		press(t, ctx, "press "+k, k)
		waitUntil(t, ctx, k+" moves to line "+want, focusedLineJS+` === `+strconv.Quote(want))
	}
	checkPage(t, ctx, "line-focused")
	second := eval[string](t, ctx, `document.querySelectorAll('[data-testid=line]')[1].id`)
	press(t, ctx, "press j", "j")
	press(t, ctx, "press p", "p")
	waitVisible(t, ctx, "p opens Add plan on the line with the focus", chromedp.CSS(`#`+second+` form[id^=add-plan-]`))
	waitFocus(t, ctx, "Add plan opened by p", `#`+second+` form[id^=add-plan-] [data-country-box]`)

	do(t, ctx, "reload the profile", chromedp.Navigate(profile), chromedp.WaitVisible(chromedp.CSS(`[data-testid=line]`)))
	press(t, ctx, "press w", "w")
	waitUntil(t, ctx, "w opens Why no data? on the first line", `document.querySelector('[data-testid=line] [data-testid=why-no-data]').open`)
	waitFocus(t, ctx, "after w", `[data-testid=line] [data-testid=why-no-data] summary`)
	press(t, ctx, "press e", "e")
	waitVisible(t, ctx, "e opens Replace eSIM on the line with the focus", chromedp.CSS(`[data-testid=line]:first-of-type [data-testid=replace-esim-form]`))

	// Resend asks in the portal's own dialog; No sends nothing and gives
	// the focus back; a second Resend says the first went a moment ago.
	do(t, ctx, "reload the profile", chromedp.Navigate(profile), chromedp.WaitVisible(chromedp.CSS(`[data-testid=line]`)))
	emails := func() int {
		return eval[int](t, ctx, `document.querySelectorAll('#emails [data-testid=email-log] tbody tr').length`)
	}
	before := emails()
	press(t, ctx, "press j", "j")
	press(t, ctx, "press r", "r")
	q, recent := answerConfirm(t, ctx, "Resend by r", false)
	if !strings.Contains(q, "Send the QR code email of line “"+names[0]+"” to the customer again?") {
		t.Errorf("Resend asks %q; want it to name the line %s", q, names[0])
	}
	if recent != "" {
		t.Errorf("the first Resend says %q; want nothing about a recent email", recent)
	}
	waitFocus(t, ctx, "No gives the focus back", `[data-testid=line]:first-of-type [data-testid=resend-qr]`)
	if got := emails(); got != before {
		t.Errorf("Resend answered No sent an email: %d emails, want %d", got, before)
	}
	press(t, ctx, "press r", "r")
	waitUntil(t, ctx, "the portal asks first", `document.getElementById('confirm').open`)
	checkPage(t, ctx, "resend-confirm")
	answerConfirm(t, ctx, "Resend by r", true)
	waitUntil(t, ctx, "the line says the QR email was queued", `document.querySelector('[data-testid=line]:first-of-type [data-testid=line-note]')`)
	if got := emails(); got != before+1 {
		t.Errorf("after Resend the Emails panel lists %d emails; want %d", got, before+1)
	}
	// With no mail server the new email is Held, which explains itself.
	do(t, ctx, "ask what Held means", chromedp.Click(chromedp.CSS(`#emails [data-testid=term-held]`)))
	waitUntil(t, ctx, "Held explains itself", `document.getElementById('term-held').matches(':popover-open')`)
	if got := text(t, ctx, chromedp.CSS(`#term-held`)); !strings.Contains(got, "no mail server is configured") {
		t.Errorf("Held is explained as %q", got)
	}
	press(t, ctx, "Esc", kb.Escape)
	waitUntil(t, ctx, "Esc closes it", `!document.getElementById('term-held').matches(':popover-open')`)
	waitSettled(t, ctx, "[data-testid=line]:first-of-type form")
	press(t, ctx, "press r again", "r")
	_, recent = answerConfirm(t, ctx, "Resend again", false)
	if !strings.Contains(recent, "already queued less than a minute ago") {
		t.Errorf("a second Resend says %q; want it to say the QR email was queued less than a minute ago", recent)
	}

	// Times read in the agent's zone, with UTC on hover.
	tm := eval[[]string](t, ctx, `(t => [t.textContent.trim(), t.title])(document.querySelector('#emails time[data-local]'))`)
	if !strings.HasSuffix(tm[0], "CET") || !strings.HasSuffix(tm[1], "UTC") || tm[0] == tm[1] {
		t.Errorf("an email's time reads %q with %q on hover; want Berlin's time, with UTC on hover", tm[0], tm[1])
	}

	// So do the times in the line's sentences, UTC on hover.
	ended := eval[[]string](t, ctx, `(t => t ? [t.textContent, t.title] : [])(document.querySelector('[data-testid=line]:first-of-type [data-testid=plan-status] time'))`)
	if len(ended) != 2 || !strings.HasSuffix(ended[0], "CET") || !strings.HasSuffix(ended[1], "UTC") {
		t.Errorf("the ended plan's time reads %q; want Berlin's time, with UTC on hover", ended)
	}

	// The palette finds an action of the page too.
	pressCtrl(t, ctx, "open the palette", "k")
	waitFocus(t, ctx, "the palette opened", `#palette-q`)
	press(t, ctx, "type an action", "resend "+strings.ToLower(names[1]))
	waitUntil(t, ctx, "the palette finds Resend of the second line", `(o => o && o.textContent.includes('Resend QR email — line `+names[1]+`'))(document.querySelector('#palette-list [aria-selected=true]'))`)
	checkPage(t, ctx, "palette-action")
	press(t, ctx, "Enter", kb.Enter)
	q, _ = answerConfirm(t, ctx, "Resend from the palette", false)
	if !strings.Contains(q, names[1]) {
		t.Errorf("Resend from the palette asks %q; want it about line %s", q, names[1])
	}
	pressCtrl(t, ctx, "open the palette", "k")
	waitFocus(t, ctx, "the palette opened", `#palette-q`)
	// The palette is a modal dialog: Tab stays in it.
	if role := eval[string](t, ctx, `(d => d.matches(':modal') ? 'dialog' : '')(document.getElementById('palette'))`); role != "dialog" {
		t.Errorf("the palette is not a modal dialog")
	}
	for range 3 {
		press(t, ctx, "Tab", kb.Tab)
		if !eval[bool](t, ctx, `document.getElementById('palette').contains(document.activeElement) || document.activeElement === document.body`) {
			t.Errorf("Tab left the palette for %s", eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 80)`))
		}
	}
	press(t, ctx, "Esc", kb.Escape)
	waitUntil(t, ctx, "Esc closes the palette", `!document.getElementById('palette').open`)

	// The shortcuts list has them all.
	eval[chromedp.Void](t, ctx, `document.activeElement.blur()`)
	press(t, ctx, "press ?", "?")
	waitUntil(t, ctx, "? opens the shortcuts", `document.getElementById('shortcuts').open`)
	keys := eval[string](t, ctx, `[...document.querySelectorAll('#shortcuts kbd')].map(k => k.textContent).join(' ')`)
	for _, k := range []string{"/", "Ctrl", "K", "a", "j", "k", "p", "w", "r", "e", "n", "?", "Esc"} {
		if !strings.Contains(" "+keys+" ", " "+k+" ") {
			t.Errorf("the shortcuts list lacks %s: %s", k, keys)
		}
	}
	checkPage(t, ctx, "shortcuts")
}

// The pages around a call: the eSIM List says at once why a filter is
// refused and shows whose each eSIM is on a phone; an email opens beside
// the profile with its QR code hidden in words, and showing the code
// leaves no POST address; terms explain themselves; the Cancel form's
// note is a real field; the audit log reads in names.
func TestBrowserWorkspacePages(t *testing.T) {
	t.Parallel()
	portal, ctx := signedIn(t, nil, demo.AgentEmail, demo.AgentPassword)

	// The eSIM List on a phone: a card per eSIM, with its subscriber and line.
	do(t, ctx, "open the eSIM List", chromedp.Navigate(portal.URL+"/esims?state=allocated"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=esim-row]`)))
	setWidth(t, ctx, phoneWidth)
	cells := eval[[]string](t, ctx, `(r => ['Subscriber', 'Line'].map(l => { const td = r.querySelector('td[data-label=' + l + ']');
		const b = td.getBoundingClientRect(); return b.width > 0 && b.right <= document.documentElement.clientWidth ? td.textContent.trim() : ''; }))(document.querySelector('[data-testid=esim-row]'))`)
	if len(cells) != 2 || cells[0] == "" || cells[1] == "" {
		t.Errorf("at %d px an allocated eSIM's card shows subscriber and line %q; want both in sight", phoneWidth, cells)
	}
	setWidth(t, ctx, desktopWidth)
	checkPage(t, ctx, "esim-list-allocated")

	// A refused combination says why by its filter, at once.
	waitSettled(t, ctx, "#esim-filters")
	markPage(t, ctx)
	for _, f := range [][2]string{{"list-retired", "replaced"}, {"list-state", "free"}} {
		eval[chromedp.Void](t, ctx, `(f => { f.value = `+strconv.Quote(f[1])+`; f.dispatchEvent(new Event('change', {bubbles: true})); })(document.getElementById(`+strconv.Quote(f[0])+`))`)
	}
	waitUntil(t, ctx, "the List says why by the Retired filter", `document.getElementById('list-retired-error').textContent.includes('Only retired eSIMs have a reason')`)
	samePage(t, ctx, "a refused filter")
	checkPage(t, ctx, "esim-list-refused")

	// An email opens beside the profile, not in a new tab.
	priya := portal.Subscriber(t, priyaAccount)
	profile := fmt.Sprintf("%s/subscribers/%d", portal.URL, priya.ID)
	do(t, ctx, "open Priya Raman's profile", chromedp.Navigate(profile), chromedp.WaitVisible(chromedp.CSS(`[data-testid=email-log]`)))
	markPage(t, ctx)
	qr := `#emails tr[data-kind=qr] a[data-preview]`
	if target := eval[string](t, ctx, `document.querySelector('`+qr+`').target`); target != "" {
		t.Errorf("the email's link opens in %q; want the same page", target)
	}
	do(t, ctx, "open the QR email", chromedp.Click(chromedp.CSS(qr)))
	waitVisible(t, ctx, "the email opens beside the list", chromedp.CSS(`#email-preview-slot [data-testid=email-preview] iframe.email-frame`))
	waitFocus(t, ctx, "the preview opened", `#email-preview-slot .preview-head h3`)
	frameDone := `(f => f.contentDocument && f.contentDocument.readyState === 'complete' && f.contentDocument.body && f.contentDocument.body.children.length > 0)(document.querySelector('#email-preview-slot iframe.email-frame'))`
	waitUntil(t, ctx, "the email loads in its frame", frameDone)
	hidden := eval[[]any](t, ctx, `(d => [d.querySelectorAll('img').length, (d.querySelector('[data-testid=qr-hidden]') || {}).textContent || ''])(document.querySelector('#email-preview-slot iframe.email-frame').contentDocument)`)
	if hidden[0].(float64) != 0 || hidden[1] != "QR code hidden — Show the activation code to see it" {
		t.Errorf("with the code hidden the email shows %v images and says %q; want no image and the placeholder", hidden[0], hidden[1])
	}
	// As tall as the email: its last element ends near the frame's bottom.
	fits := `(f => { const d = f.contentDocument, end = Math.max(...[...d.body.querySelectorAll('*')].map(e => e.getBoundingClientRect().bottom));
		const h = f.getBoundingClientRect().height; return end <= h && h - end < 80; })(document.querySelector('#email-preview-slot iframe.email-frame'))`
	waitUntil(t, ctx, "the frame is as tall as its email", fits)
	samePage(t, ctx, "opening an email")
	checkPage(t, ctx, "email-beside-profile")

	// Show the activation code: in place, the address still the profile's.
	do(t, ctx, "show the activation code", chromedp.Click(chromedp.CSS(`#email-preview-slot [data-testid=show-activation-code]`)))
	waitUntil(t, ctx, "the QR code shows in the frame", `(f => f && f.contentDocument && [...f.contentDocument.querySelectorAll('img')].some(i => i.complete && i.naturalWidth > 0))(document.querySelector('#email-preview-slot iframe.email-frame'))`)
	samePage(t, ctx, "showing the activation code")
	if u := location(t, ctx); u.Path != fmt.Sprintf("/subscribers/%d", priya.ID) {
		t.Errorf("after Show the activation code the browser is at %s; want the profile", u)
	}
	waitUntil(t, ctx, "the frame fits the email with its QR code", fits)
	checkPage(t, ctx, "email-code-shown")
	// After the phone's width and back, the frame fits again.
	waitUntil(t, ctx, "the frame fits the email after a change of width", fits)
	press(t, ctx, "Esc closes the preview", kb.Escape)
	waitUntil(t, ctx, "the preview is gone", `!document.querySelector('#email-preview-slot').firstElementChild`)
	waitFocus(t, ctx, "the preview closed", qr)

	// Without script, Show the activation code ends on the email's address.
	do(t, ctx, "open the email's own page", chromedp.Navigate(portal.URL+eval[string](t, ctx, `document.querySelector('`+qr+`').getAttribute('href')`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=show-activation-code]`)))
	eval[chromedp.Void](t, ctx, `document.querySelector('[data-testid=show-activation-code]').closest('form').submit()`)
	waitVisible(t, ctx, "the page shows the code", chromedp.CSS(`iframe.email-frame[src*="code="]`))
	if u := location(t, ctx); !strings.HasPrefix(u.Path, "/emails/") || strings.HasSuffix(u.Path, "/activation-code") || !u.Query().Has("code") {
		t.Errorf("the plain form post ends at %s; want the email's page", u)
	}

	// IMSI profile, Held and Queued explain themselves.
	ahmed := portal.Subscriber(t, "AC-100719")
	do(t, ctx, "open Ahmed Hassan's profile", chromedp.Navigate(fmt.Sprintf("%s/subscribers/%d", portal.URL, ahmed.ID)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=line]`)))
	for _, term := range []struct{ id, says string }{{"imsi", "foreign networks"}, {"queued", "starts by itself"}} {
		do(t, ctx, "open the explanation of "+term.id, chromedp.Click(chromedp.CSS(`[data-testid=term-`+term.id+`]`)))
		waitUntil(t, ctx, term.id+" explains itself", `document.getElementById('term-`+term.id+`').matches(':popover-open')`)
		if got := text(t, ctx, chromedp.CSS(`#term-`+term.id)); !strings.Contains(got, term.says) {
			t.Errorf("the explanation of %s reads %q", term.id, got)
		}
		if term.id == "imsi" {
			checkPage(t, ctx, "term-imsi")
		}
		press(t, ctx, "Esc", kb.Escape)
		waitUntil(t, ctx, "Esc closes it", `!document.getElementById('term-`+term.id+`').matches(':popover-open')`)
	}

	// The Cancel form's note is a field like the others.
	do(t, ctx, "open Cancel on the queued plan", chromedp.Click(chromedp.CSS(`[data-testid=cancel-plan]`)))
	waitVisible(t, ctx, "the Cancel form", chromedp.CSS(`[data-testid=cancel-plan-form] input[name=note]`))
	note := eval[[]float64](t, ctx, `(n => [n.getBoundingClientRect().height, parseFloat(getComputedStyle(n).borderTopWidth), n.getBoundingClientRect().width / n.closest('form').getBoundingClientRect().width])(document.querySelector('[data-testid=cancel-plan-form] input[name=note]'))`)
	if note[0] < 34 || note[1] < 1 || note[2] < 0.5 {
		t.Errorf("the Cancel form's Note is %.0f px tall with a %.0f px border, %.0f%% of the form wide; want a field like the others", note[0], note[1], note[2]*100)
	}
	checkPage(t, ctx, "cancel-form")
	// Turn off reads as a button, not as a field across the panel.
	if w := eval[float64](t, ctx, `document.querySelector('[data-testid=plan-notices] button').getBoundingClientRect().width`); w > 150 {
		t.Errorf("Turn off is %.0f px wide; want a button's width", w)
	}

	// The audit log: plans, countries and people by name, times as
	// people write them.
	signOut(t, ctx)
	signIn(t, ctx, portal, demo.LeadEmail, demo.LeadPassword)
	do(t, ctx, "open the audit log", chromedp.Navigate(portal.URL+"/audit"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=audit-entries]`)))
	details := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-testid=audit-entries] tbody tr td:last-child')].map(td => td.textContent.trim())`)
	raw := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:|\bplan [A-Z0-9]{3,}\b,| in [A-Z]{2} at `)
	for _, d := range details {
		if raw.MatchString(d) {
			t.Errorf("an audit entry reads %q; want plan and country names and readable times", d)
		}
	}
	// And the names are there: the demo's attachments start plans in
	// countries, which the entries name.
	named := regexp.MustCompile(`^plan [A-Z][a-z][^,]*, order ORD-\d{4}-\d{6}: attached in [A-Z][a-z]`)
	if !slices.ContainsFunc(details, named.MatchString) {
		t.Errorf("no audit entry names a plan and the country it started in; entries:\n%s", strings.Join(details, "\n"))
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-testid=audit-entries] tbody time[data-local][title$=UTC]').length`); n != len(details) {
		t.Errorf("%d of the %d audit entries give their time with UTC on hover", n, len(details))
	}
	checkPage(t, ctx, "audit-log")
}
