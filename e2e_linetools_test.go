package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// The agent's workspace on the profile: Why no data? with its fixes, line
// tools that open and close in place, the way out of a refused plan, and a
// page that stays what a fresh load shows after every line action.

// lineWith is the subscriber's line that holds a plan of code.
func lineWith(t *testing.T, p *portaltest.Portal, subscriberID int64, code string) db.ESIM {
	t.Helper()
	for _, l := range p.Lines(t, subscriberID) {
		for _, lp := range l.Plans {
			if lp.Plan.Code == code {
				return l
			}
		}
	}
	t.Fatalf("subscriber %d has no line with %s", subscriberID, code)
	return db.ESIM{}
}

func openProfile(t *testing.T, ctx context.Context, p *portaltest.Portal, id int64) {
	t.Helper()
	do(t, ctx, "open the profile", chromedp.Navigate(p.URL+"/subscribers/"+strconv.FormatInt(id, 10)),
		chromedp.WaitVisible(chromedp.CSS(`#esims`)))
	waitSettled(t, ctx, `#esims [data-testid=add-plan]`)
	markPage(t, ctx)
}

// TestBrowserWhyNoData: Why no data? lists every check in order with its
// evidence, the first failure on top, as the line's headline says; its fix
// is a button that does it.
func TestBrowserWhyNoData(t *testing.T) {
	t.Parallel()
	p, ctx := signedIn(t, nil, demo.AgentEmail, demo.AgentPassword)

	// Isabella Martínez turned the eSIM off, and her Americas plan ended:
	// both checks fail; the first is what the headline and the top say.
	isabella := p.Subscriber(t, "AC-101102")
	line := "#line-" + p.Lines(t, isabella.ID)[0].ICCID
	openProfile(t, ctx, p, isabella.ID)
	do(t, ctx, "open Why no data?", chromedp.Click(chromedp.CSS(line+` [data-testid=why-no-data-open]`)))
	// Each check as the agent reads it: its name and its result, in words.
	got := eval[[]string](t, ctx, `[...document.querySelectorAll('`+line+` [data-testid=check]')].map(c =>
		c.querySelector('strong').innerText.trim() + ' ' + c.querySelector('.check-result').innerText.trim().toLowerCase())`)
	want := []string{"QR email delivered passed", "Installed passed", "Turned on failed", "A plan with data failed",
		"Covers where the phone is not known yet", "No data with no plan passed"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("the checks read %q; want %q", got, want)
	}
	head := text(t, ctx, chromedp.CSS(line+` [data-testid=line-now]`))
	top := text(t, ctx, chromedp.CSS(line+` [data-testid=verdict]`))
	if !strings.HasPrefix(head, "No data: Turned off on the phone ") || !strings.Contains(top, "Turned off on the phone") {
		t.Errorf("the headline %q and the checklist's top %q; want both to say the eSIM was turned off", head, top)
	}
	if ended := text(t, ctx, chromedp.CSS(line+` [data-check=plan]`)); !strings.Contains(ended, "Americas ended · ") {
		t.Errorf("the plan check reads %q; want Americas ended, with when", ended)
	}
	checkPage(t, ctx, "why-no-data-turned-off")

	// Grace Thompson: "I have no data" in Japan. The fix is Add plan with
	// Japan filled in, one click from the diagnosis.
	grace := p.Subscriber(t, "AC-101188")
	japan := lineWith(t, p, grace.ID, "JAPAN3")
	line = "#line-" + japan.ICCID
	formID := "add-plan-" + japan.ICCID
	openProfile(t, ctx, p, grace.ID)
	s := &steps{t: t, ctx: ctx}
	s.click("open Why no data?", chromedp.CSS(line+` [data-testid=why-no-data-open]`))
	if top := text(t, ctx, chromedp.CSS(line+` [data-testid=verdict]`)); !strings.Contains(top, "Japan used up and nothing is queued") {
		t.Errorf("the checklist's top reads %q; want Japan used up", top)
	}
	checkPage(t, ctx, "why-no-data-used-up")
	s.click("click Add plan for Japan", chromedp.CSS(line+` [data-testid=verdict] [data-testid=fix-add-plan]`))
	waitVisible(t, ctx, "the Add plan form", chromedp.CSS(`#`+formID))
	waitSettled(t, ctx, "#"+formID)
	if got := eval[string](t, ctx, `document.getElementById('`+formID+`-country').value`); got != "Japan" {
		t.Errorf("the country box holds %q; want Japan", got)
	}
	waitFocus(t, ctx, "Add plan opens", "#"+formID+" input, #"+formID+" select")
	checkPage(t, ctx, "why-no-data-fix-add-plan")
	s.choosePlan(formID, "Japan")
	s.click("submit Add plan", chromedp.CSS(`#`+formID+` button[type=submit]`))
	waitUntil(t, ctx, "the line says the plan was added", `document.querySelector('`+line+` [data-testid=line-note]')`)
	samePage(t, ctx, "the fix")
	if head := text(t, ctx, chromedp.CSS(line+` [data-testid=line-now]`)); strings.HasPrefix(head, "No data") {
		t.Errorf("after the fix the line says %q", head)
	}
	t.Logf("steps: \"I have no data\" to the fix done, from the profile: %d (was 16)", s.count)
	if s.count > 5 {
		t.Errorf("the fix took %d steps from the profile; want at most 5", s.count)
	}
	checkPage(t, ctx, "why-no-data-fixed")

	// Amara Okafor never installed the eSIM: the fix is Resend QR email.
	amara := p.Subscriber(t, "AC-100921")
	line = "#line-" + p.Lines(t, amara.ID)[0].ICCID
	openProfile(t, ctx, p, amara.ID)
	do(t, ctx, "open Why no data?", chromedp.Click(chromedp.CSS(line+` [data-testid=why-no-data-open]`)))
	do(t, ctx, "click Resend QR email in the checklist", chromedp.Click(chromedp.CSS(line+` [data-testid=verdict] [data-testid=fix-resend-qr]`)))
	answerConfirm(t, ctx, "Resend from the checklist", true)
	waitUntil(t, ctx, "the line says the QR email was queued", `document.querySelector('`+line+` [data-testid=line-note]')?.textContent.includes('queued again')`)
	samePage(t, ctx, "Resend from the checklist")
}

// normalisedPage is the profile's main content as a fresh load would show
// it: without the note of what just changed, the one-time values of forms,
// and the marks htmx and the tests leave.
const normalisedPage = `(() => {
	const m = document.getElementById('main').cloneNode(true);
	m.querySelectorAll('[data-testid=line-note], [data-testid=flash]').forEach(e => e.remove());
	m.querySelectorAll('input[name=_csrf], input[name=token]').forEach(e => e.removeAttribute('value'));
	m.querySelectorAll('*').forEach(e => {
		e.classList.remove('htmx-added', 'htmx-settling', 'htmx-swapping', 'htmx-request');
		if (e.getAttribute('class') === '') e.removeAttribute('class');
		e.removeAttribute('data-e2e-stale');
	});
	m.querySelectorAll('details').forEach(e => e.removeAttribute('open'));
	return m.outerHTML.replace(/>\s+</g, '><');
})()`

// samePageAsFresh compares the page after an action with a fresh load of
// it, and fails on the first difference.
func samePageAsFresh(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	after := eval[string](t, ctx, normalisedPage)
	do(t, ctx, "reload after "+what, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#esims`)))
	waitSettled(t, ctx, `#esims [data-testid=add-plan]`)
	loaded := eval[string](t, ctx, normalisedPage)
	if after == loaded {
		return
	}
	i := 0
	for i < len(after) && i < len(loaded) && after[i] == loaded[i] {
		i++
	}
	from := max(0, i-300)
	dir, _ := screenshotDir()
	name := regexp.MustCompile(`\W+`).ReplaceAllString(what, "-")
	os.WriteFile(filepath.Join(dir, name+"-after.html"), []byte(after), 0o644)
	os.WriteFile(filepath.Join(dir, name+"-fresh.html"), []byte(loaded), 0o644)
	t.Errorf("after %s the page differs from a fresh load at %d:\n after: …%s…\n fresh: …%s…", what, i,
		after[from:min(len(after), i+300)], loaded[from:min(len(loaded), i+300)])
}

// TestBrowserLineActionsKeepThePageTrue: after each line action on the
// profile, the page is what a fresh load of it shows: one Emails panel, up
// to date, and the line as it now is.
func TestBrowserLineActionsKeepThePageTrue(t *testing.T) {
	t.Parallel()
	p, ctx := signedIn(t, nil, demo.AgentEmail, demo.AgentPassword)
	ahmed := p.Subscriber(t, "AC-100719")
	canada := lineWith(t, p, ahmed.ID, "USCA5")
	turkey := lineWith(t, p, ahmed.ID, "TR3")
	note := func(line db.ESIM, what string) {
		t.Helper()
		waitUntil(t, ctx, what+": the line says what changed", `document.querySelector('#line-`+line.ICCID+` [data-testid=line-note]')`)
		waitUntil(t, ctx, what+": htmx is done", `!document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added')`)
		samePage(t, ctx, what)
		if n := eval[int](t, ctx, `document.querySelectorAll('#emails, section[aria-labelledby=emails-h]').length`); n != 1 {
			t.Errorf("after %s the page has %d Emails panels; want 1", what, n)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('#esims #emails, #esims #timeline').length`); n != 0 {
			t.Errorf("after %s an Emails panel is inside the eSIMs panel", what)
		}
	}

	openProfile(t, ctx, p, ahmed.ID)
	emailsBefore := eval[int](t, ctx, `document.querySelectorAll('#emails tbody tr').length`)
	do(t, ctx, "click Cancel on USA & Canada", chromedp.Click(chromedp.CSS(`#line-`+canada.ICCID+` [data-testid=cancel-plan]`)))
	waitVisible(t, ctx, "the Cancel plan form", chromedp.CSS(`[data-testid=cancel-plan-form]`))
	waitSettled(t, ctx, `[data-testid=cancel-plan-form]`)
	do(t, ctx, "cancel: the trip is off",
		chromedp.SetValue(chromedp.CSS(`[data-testid=cancel-plan-form] select[name=reason]`), db.CancelReasons[0]),
		chromedp.Click(chromedp.CSS(`[data-testid=cancel-plan-form] button[type=submit]`)))
	note(canada, "Cancel plan")
	if got := eval[int](t, ctx, `document.querySelectorAll('#emails tbody tr').length`); got != emailsBefore+1 {
		t.Errorf("after Cancel plan the Emails panel lists %d emails; want %d", got, emailsBefore+1)
	}
	checkPage(t, ctx, "cancel-plan-done")
	samePageAsFresh(t, ctx, "Cancel plan")

	markPage(t, ctx)
	formID := "add-plan-" + turkey.ICCID
	do(t, ctx, "click Add plan on Türkiye", chromedp.Click(chromedp.CSS(`#line-`+turkey.ICCID+` [data-testid=add-plan]`)))
	waitVisible(t, ctx, "the Add plan form", chromedp.CSS(`#`+formID))
	waitSettled(t, ctx, "#"+formID)
	choosePlan(t, ctx, formID, "Türkiye")
	do(t, ctx, "submit Add plan", chromedp.Click(chromedp.CSS(`#`+formID+` button[type=submit]`)))
	note(turkey, "Add plan")
	samePageAsFresh(t, ctx, "Add plan")

	markPage(t, ctx)
	do(t, ctx, "click Rename", chromedp.Click(chromedp.CSS(`#line-`+canada.ICCID+` [data-testid=rename-line]`)))
	waitVisible(t, ctx, "the Rename form", chromedp.CSS(`[data-testid=rename-form]`))
	waitSettled(t, ctx, `[data-testid=rename-form]`)
	typeInto(t, ctx, "rename-name-"+canada.ICCID, "Canada trip")
	do(t, ctx, "submit Rename", chromedp.Click(chromedp.CSS(`[data-testid=rename-form] button[type=submit]`)))
	note(canada, "Rename")
	samePageAsFresh(t, ctx, "Rename")

	markPage(t, ctx)
	do(t, ctx, "click Resend QR email", chromedp.Click(chromedp.CSS(`#line-`+canada.ICCID+` [data-testid=resend-qr]`)))
	answerConfirm(t, ctx, "Resend QR email", true)
	note(canada, "Resend QR email")
	samePageAsFresh(t, ctx, "Resend QR email")

	markPage(t, ctx)
	do(t, ctx, "click Replace eSIM", chromedp.Click(chromedp.CSS(`#line-`+turkey.ICCID+` [data-testid=replace-esim]`)))
	waitVisible(t, ctx, "the Replace eSIM form", chromedp.CSS(`[data-testid=replace-esim-form]`))
	waitSettled(t, ctx, `[data-testid=replace-esim-form]`)
	do(t, ctx, "replace: new phone",
		chromedp.SetValue(chromedp.CSS(`[data-testid=replace-esim-form] select[name=reason]`), "New or lost phone"),
		chromedp.Click(chromedp.CSS(`[data-testid=replace-esim-form] button[type=submit]`)))
	waitUntil(t, ctx, "the line shows its new eSIM", `!document.getElementById('line-`+turkey.ICCID+`')`)
	note(lineWith(t, p, ahmed.ID, "TR3"), "Replace eSIM")
	samePageAsFresh(t, ctx, "Replace eSIM")
}

// TestBrowserWayOutToANewLine: Add plan refuses a plan of another IMSI
// profile, and its way out opens Add line in place on the profile, filled
// in and ready to submit.
func TestBrowserWayOutToANewLine(t *testing.T) {
	t.Parallel()
	p, ctx := signedIn(t, nil, demo.AgentEmail, demo.AgentPassword)
	priya := p.Subscriber(t, "AC-100358") // line Europe, profile 7; allowance left
	europe := p.Lines(t, priya.ID)[0]
	formID := "add-plan-" + europe.ICCID
	openProfile(t, ctx, p, priya.ID)

	s := &steps{t: t, ctx: ctx}
	s.click("click Add plan", chromedp.CSS(`#line-`+europe.ICCID+` [data-testid=add-plan]`))
	waitVisible(t, ctx, "the Add plan form", chromedp.CSS(`#`+formID))
	waitSettled(t, ctx, "#"+formID)
	// Each key may send a request; the list that counts answers the whole name.
	answered := expectAnswer(t, ctx, `[?&]country=United(\+|%20)States(&|$)`)
	s.typeInto(formID+"-country", "United States")
	waitUntil(t, ctx, "the plans narrow to the United States", answered+` && !document.querySelector('.htmx-request')`)
	s.choosePlan(formID, "USA & Canada")
	waitVisible(t, ctx, "the refusal and its way out", chromedp.CSS(`#`+formID+` [data-testid=new-line-instead]`))
	checkPage(t, ctx, "way-out-refused")
	s.click("click the way out", chromedp.CSS(`#`+formID+` [data-testid=new-line-instead]`))
	waitVisible(t, ctx, "Add line, in place", chromedp.CSS(`#line-form-slot #add-line-form`))
	waitSettled(t, ctx, "#add-line-form")
	samePage(t, ctx, "the way out")
	if n := eval[int](t, ctx, `document.querySelectorAll('#`+formID+`').length`); n != 0 {
		t.Error("the refused Add plan form stays open beside Add line")
	}
	if got := eval[string](t, ctx, `document.getElementById('add-line-form-country').value + ' | ' + document.getElementById('line_name').value`); got != "United States | United States" {
		t.Errorf("Add line opens with country | line name %q; want the United States in both", got)
	}
	waitFocus(t, ctx, "Add line opens ready", `#add-line-form button[type=submit]`)
	inView := `(e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; })`
	if !eval[bool](t, ctx, inView+`(document.querySelector('#add-line-form input[name=plan]:checked').closest('.plan-option'))`) ||
		!eval[bool](t, ctx, `document.querySelector('#add-line-form input[name=plan]:checked').closest('.plan-option').textContent.includes('USA & Canada')`) {
		t.Error("USA & Canada is not chosen and in view")
	}
	if !eval[bool](t, ctx, inView+`(document.querySelector('#add-line-form button[type=submit]'))`) {
		t.Error("Add line's submit button is out of view")
	}
	checkPage(t, ctx, "way-out-add-line")
	s.press("press Enter: Add line", kb.Enter)
	waitVisible(t, ctx, "the new line's message", flash("Line “United States” added"))
	t.Logf("steps: the wrong-profile way out to a new line, from the profile: %d (was 32)", s.count)
	if s.count >= 20 {
		t.Errorf("the way out took %d steps; want under 20", s.count)
	}
	if got := lineWith(t, p, priya.ID, "USCA5"); got.LineName != "United States" {
		t.Errorf("the new line is named %q", got.LineName)
	}
	checkPage(t, ctx, "way-out-done")
}

// TestBrowserLineToolsInPlace: every line tool opens in place on the
// profile by keyboard, Esc or its Keep button closes it and gives the focus
// back to what opened it, and Replace eSIM ends on the profile with the new
// eSIM on the line.
func TestBrowserLineToolsInPlace(t *testing.T) {
	t.Parallel()
	p, ctx := signedIn(t, nil, demo.AgentEmail, demo.AgentPassword)
	ahmed := p.Subscriber(t, "AC-100719")
	canada := lineWith(t, p, ahmed.ID, "USCA5")
	line := "#line-" + canada.ICCID
	slot := "#plan-form-" + canada.ICCID
	openProfile(t, ctx, p, ahmed.ID)

	for _, tool := range []struct{ name, opener, form, keep string }{
		{"Add plan", "add-plan", "#add-plan-" + canada.ICCID, "Cancel"},
		{"Replace eSIM", "replace-esim", "[data-testid=replace-esim-form]", "Keep it"},
		{"Rename", "rename-line", "[data-testid=rename-form]", "Keep the name"},
		{"Cancel a plan", "cancel-plan", "[data-testid=cancel-plan-form]", "Keep it"},
	} {
		opener := line + ` [data-testid=` + tool.opener + `]`
		open := func() {
			t.Helper()
			eval[chromedp.Void](t, ctx, `document.querySelector('`+opener+`').focus()`)
			press(t, ctx, "Enter on "+tool.name, kb.Enter)
			waitVisible(t, ctx, tool.name+" opens", chromedp.CSS(slot+` `+tool.form))
			waitSettled(t, ctx, slot+` `+tool.form)
			waitFocus(t, ctx, tool.name+" opens with the keyboard in it", slot+` `+tool.form+` *`)
		}
		closed := func(how string) {
			t.Helper()
			waitUntil(t, ctx, how+" closes "+tool.name, `!document.querySelector('`+slot+`').firstElementChild`)
			waitFocus(t, ctx, how+" on "+tool.name, opener)
			samePage(t, ctx, how+" on "+tool.name)
		}
		open()
		checkPage(t, ctx, "tool-"+tool.opener)
		if tool.opener == "add-plan" {
			// Esc in the country box with text clears it, as in any search
			// field, and leaves the form open.
			box := "add-plan-" + canada.ICCID + "-country"
			typeInto(t, ctx, box, "Ja")
			press(t, ctx, "Esc in the country box", kb.Escape)
			if got := eval[string](t, ctx, `document.getElementById('`+box+`').value`); got != "" {
				t.Errorf("Esc left %q in the country box", got)
			}
			if eval[bool](t, ctx, `!document.querySelector('`+slot+` `+tool.form+`')`) {
				t.Fatal("Esc in a country box with text closed Add plan")
			}
		}
		press(t, ctx, "Esc in "+tool.name, kb.Escape)
		closed("Esc")
		open()
		do(t, ctx, "click "+tool.keep, chromedp.Click(chromedp.Search(`//*[@id="`+strings.TrimPrefix(slot, "#")+`"]//a[normalize-space()="`+tool.keep+`"]`)))
		closed(tool.keep)
	}

	// Resend asks first (the portal's own confirmation, which Esc
	// dismisses): no is no, and the keyboard goes back to Resend.
	resend := line + ` [data-testid=resend-qr]`
	eval[chromedp.Void](t, ctx, `document.querySelector('`+resend+`').focus()`)
	press(t, ctx, "Enter on Resend QR email", kb.Enter)
	answerConfirm(t, ctx, "Resend QR email", false)
	waitFocus(t, ctx, "Resend dismissed", resend)
	samePage(t, ctx, "Resend dismissed")

	// Replace eSIM, by keyboard, ends on the profile with the new eSIM on
	// the line.
	s := &steps{t: t, ctx: ctx}
	eval[chromedp.Void](t, ctx, `document.querySelector('`+line+` [data-testid=replace-esim]').focus()`)
	s.press("Enter on Replace eSIM", kb.Enter)
	waitVisible(t, ctx, "the Replace eSIM form", chromedp.CSS(slot+` [data-testid=replace-esim-form]`))
	waitSettled(t, ctx, slot+` [data-testid=replace-esim-form]`)
	waitFocus(t, ctx, "the reason", slot+` select[name=reason]`)
	s.press("choose the first reason", kb.ArrowDown)
	if got := eval[string](t, ctx, `document.activeElement.value`); got != db.ReplaceReasons[0] {
		t.Fatalf("the reason reads %q after ArrowDown", got)
	}
	s.press("Tab to Replace eSIM", kb.Tab)
	s.press("Enter: Replace eSIM", kb.Enter)
	waitUntil(t, ctx, "the line shows its new eSIM", `!document.querySelector('`+line+`') && document.querySelector('[data-testid=line-note]')`)
	fresh := lineWith(t, p, ahmed.ID, "USCA5")
	samePage(t, ctx, "Replace eSIM")
	if loc := location(t, ctx).Path; loc != "/subscribers/"+strconv.FormatInt(ahmed.ID, 10) {
		t.Errorf("Replace eSIM ends on %s; want the profile", loc)
	}
	if got := text(t, ctx, chromedp.CSS(`#line-`+fresh.ICCID+` [data-testid=line-replaces]`)); got != canada.ICCID {
		t.Errorf("the line replaces %q; want %s", got, canada.ICCID)
	}
	if nav := eval[string](t, ctx, `document.querySelector('nav [aria-current=page]')?.textContent.trim() ?? ''`); nav != "Subscribers" {
		t.Errorf("the navigation marks %q; want Subscribers", nav)
	}
	waitFocus(t, ctx, "after Replace eSIM", `#line-`+fresh.ICCID+` [data-testid=line-note]`)
	t.Logf("steps: Replace eSIM back on the profile, from the profile: %d (was 11, and off the profile)", s.count)
	checkPage(t, ctx, "replace-esim-done")
}
