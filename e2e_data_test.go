package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/emails/smtptest"
)

// TestBrowserDataUseAndTopUp: a team lead makes a demo line use its data
// past 80% and then up, the customer hears each once, and a top-up of the
// used-up line starts with the phone's next use and shows its bar.
func TestBrowserDataUseAndTopUp(t *testing.T) {
	mailServer := smtptest.Start(t)
	p, ctx := signedIn(t, mailServer, demo.LeadEmail, demo.LeadPassword)

	priya := p.Subscriber(t, "AC-100358") // Euro 1 (1 GB) queued on line Europe
	iccid := p.Lines(t, priya.ID)[0].ICCID
	lineSel := "#line-" + iccid
	do(t, ctx, "open the eSIM page", chromedp.Navigate(p.URL+"/esims/"+iccid),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=simulate-usage]`)))
	use := func(mbs int, country string) {
		t.Helper()
		do(t, ctx, fmt.Sprintf("simulate %d MB in %s", mbs, country),
			chromedp.SetValue(chromedp.ID("simulate-usage-mb"), fmt.Sprint(mbs)),
			chromedp.SetValue(chromedp.ID("simulate-usage-country"), country),
			chromedp.Click(chromedp.CSS(`[data-testid=simulate-usage] button[type=submit]`)),
		)
		waitVisible(t, ctx, "the simulation's message", flash(fmt.Sprintf("Simulated %d MB used in ", mbs)))
	}
	lineNow := func() string { return text(t, ctx, chromedp.CSS(lineSel+` [data-testid=line-now]`)) }

	use(850, "FR")
	if got := lineNow(); got != "Using now: Euro 1 — 150 MB left, 30 days left" {
		t.Errorf("after 850 MB the line says %q", got)
	}
	if !eval[bool](t, ctx, `!!document.querySelector('`+lineSel+` [data-testid=line-plan][data-state=active] svg.databar')`) {
		t.Error("the active plan shows no data bar")
	}
	shot(t, ctx, "data-running-low")

	use(200, "FR")
	if got := lineNow(); !strings.HasPrefix(got, "No data: Euro 1 used up ") {
		t.Errorf("after the data ran out the line says %q", got)
	}
	if got := text(t, ctx, chromedp.CSS(lineSel+` [data-testid=uncovered]`)); !strings.HasPrefix(got, "50 MB used with no plan") {
		t.Errorf("uncovered reads %q; want 50 MB", got)
	}
	kinds := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-testid=email-log] tbody tr td:first-child a')].map(a => a.textContent.trim())`)
	for _, k := range []string{"Plan started", "Data running low", "Data used up"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("the email log lists %q; want %q", kinds, k)
		}
	}
	shot(t, ctx, "data-used-up")

	// The top-up: Add plan says the line has run out, and the new plan
	// starts with the phone's next use.
	formID := "add-plan-" + iccid
	do(t, ctx, "click Add plan", chromedp.Click(chromedp.CSS(lineSel+` [data-testid=add-plan]`)))
	waitVisible(t, ctx, "the Add plan form opens", chromedp.CSS(`#`+formID))
	waitSettled(t, ctx, "#"+formID)
	if got := text(t, ctx, chromedp.CSS(`#`+formID+` [data-testid=top-up-notice]`)); !strings.HasPrefix(got, "Euro 1 is used up") {
		t.Errorf("Add plan says %q; want that Euro 1 is used up", got)
	}
	choosePlan(t, ctx, formID, "Euro 3")
	do(t, ctx, "submit Add plan", chromedp.Click(chromedp.CSS(`#`+formID+` button[type=submit]`)))
	waitUntil(t, ctx, "the line updates with a note", `document.querySelector('`+lineSel+` [data-testid=line-note]')`)
	use(40, "DE")
	if got := lineNow(); !strings.HasPrefix(got, "Using now: Euro 3 — 2.96 GB left, 30 days left, but 50 MB used with no plan") {
		t.Errorf("after the top-up's first use the line says %q", got)
	}
	active := eval[[]string](t, ctx, `[...document.querySelectorAll('`+lineSel+` [data-testid=line-plan][data-state=active]')].map(tr =>
		tr.querySelector('td').textContent.trim() + ' ' + tr.querySelector('[data-testid=plan-data]').textContent.trim())`)
	if !slices.Equal(active, []string{"Euro 3 40 MB of 3 GB used · 2.96 GB left"}) {
		t.Errorf("active plans %q; want Euro 3 with its data", active)
	}
	shot(t, ctx, "top-up-active")

	// The customer's mailbox: each notice once.
	subjects := map[string]int{}
	for _, m := range mailServer.WaitFor(t, 5, waitTimeout) {
		subjects[readMail(t, m).Subject]++
	}
	for _, s := range []string{"Your Euro 1 plan has started", "Euro 1: 80% of your data used", "Euro 1: your data is used up",
		"Your Euro 3 plan has started"} {
		if subjects[s] != 1 {
			t.Errorf("the customer got %q %d times; want once (all: %v)", s, subjects[s], subjects)
		}
	}
}
