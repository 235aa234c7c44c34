package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
)

// A team lead adds Iceland 5 GB on profile 7, an agent gives it to a
// customer from Add line, the lead withdraws it: gone from Add line, while
// the customer's plan runs on.
func TestBrowserPlanCatalog(t *testing.T) {
	t.Parallel()
	p, ctx := signedIn(t, nil, demo.LeadEmail, demo.LeadPassword)

	do(t, ctx, "open Plans from the menu", chromedp.Click(chromedp.Search(`//nav//a[normalize-space()="Plans"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=catalog]`)))
	checkPage(t, ctx, "plans")
	do(t, ctx, "open Add a plan", chromedp.Click(chromedp.CSS(`[data-testid=add-plan-to-catalog]`)), chromedp.WaitVisible(chromedp.ID("plan-form")))

	// Every field refused at once, next to it, the keyboard on the first.
	markStale(t, ctx, "#plan-form")
	do(t, ctx, "add a plan with nothing filled in", chromedp.Click(chromedp.CSS(`#plan-form button[type=submit]`)))
	waitUntil(t, ctx, "the form comes back refused", freshJS("#plan-form", "#code-error:not(:empty)"))
	for _, id := range []string{"code", "name", "region", "data", "price", "imsi_profile", "destinations"} {
		if text(t, ctx, chromedp.CSS("#"+id+"-error")) == "" {
			t.Errorf("no message next to %s after a refused Add a plan", id)
		}
	}
	waitFocus(t, ctx, "after a refused Add a plan", `#code`)
	checkPage(t, ctx, "plan-form-refused")

	typeInto(t, ctx, "code", "ICE5")
	typeInto(t, ctx, "name", "Iceland 5 GB")
	typeInto(t, ctx, "region", "Europe")
	typeInto(t, ctx, "data", "5 GB")
	typeInto(t, ctx, "price", "19.00")
	do(t, ctx, "choose profile 7", chromedp.Click(chromedp.ID("imsi_profile-7")))
	// The destination search finds Iceland by name.
	// Each key may send a search; the one that counts answers what was typed.
	answered := expectAnswer(t, ctx, `[?&]dest_q=icel(&|$)`)
	typeInto(t, ctx, "dest_q", "icel")
	waitUntil(t, ctx, "the search finds Iceland", answered+` && document.getElementById('dest-add-IS')`)
	waitFocus(t, ctx, "typing in the destination search", `#dest_q`)
	markStale(t, ctx, "#plan-form-dest")
	do(t, ctx, "tick Iceland", chromedp.Click(chromedp.ID("dest-add-IS")))
	waitUntil(t, ctx, "Iceland is chosen", freshJS("#plan-form-dest", "#dest-IS:checked"))
	checkPage(t, ctx, "plan-form-filled")
	do(t, ctx, "add the plan", chromedp.Click(chromedp.CSS(`#plan-form button[type=submit]`)))
	waitVisible(t, ctx, "the catalog says the plan was added", flash("Iceland 5 GB (ICE5) added to the catalog on profile 7, on sale."))
	checkPage(t, ctx, "plans-added")
	signOut(t, ctx)

	// The agent finds it by the country and gives it to Hannah Kim.
	signIn(t, ctx, p, demo.AgentEmail, demo.AgentPassword)
	do(t, ctx, "ask which plans cover Iceland", chromedp.Navigate(p.URL+"/plans?country=Iceland"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=country-summary]`)))
	if got, want := text(t, ctx, chromedp.CSS(`[data-testid=country-summary]`)), "Iceland: 2 plans on profile 7."; got != want {
		t.Errorf("the Plans page answers %q; want %q", got, want)
	}
	checkPage(t, ctx, "plans-agent-iceland")
	hannah := p.Subscriber(t, "AC-100105")
	addLineShows := func(sub db.Subscriber) []string {
		t.Helper()
		do(t, ctx, "open Add line for "+sub.Name, chromedp.Navigate(fmt.Sprintf("%s/subscribers/%d/lines/new", p.URL, sub.ID)),
			chromedp.WaitVisible(chromedp.ID("add-line-form-country")))
		// Each key may send a request; the list that counts answers the whole word.
		answered := expectAnswer(t, ctx, `[?&]country=Iceland(&|$)`)
		typeInto(t, ctx, "add-line-form-country", "Iceland")
		waitUntil(t, ctx, "the plans narrow to Iceland", answered+` && !document.querySelector('.htmx-request')`)
		return eval[[]string](t, ctx, `[...document.querySelectorAll('#add-line-form .plan-option .plan-name')].map(e => e.textContent.trim())`)
	}
	if got := addLineShows(hannah); !slices.Contains(got, "Iceland 5 GB") {
		t.Fatalf("Add line for Iceland offers %q; want Iceland 5 GB", got)
	}
	choosePlan(t, ctx, "add-line-form", "Iceland 5 GB")
	do(t, ctx, "submit Add line", chromedp.Click(chromedp.CSS(`#add-line-form button[type=submit]`)))
	waitVisible(t, ctx, "the line was added", flash(`Line “Iceland” added`))
	signOut(t, ctx)

	// The lead withdraws it; Euro 10 still covers Iceland, so no warning.
	signIn(t, ctx, p, demo.LeadEmail, demo.LeadPassword)
	do(t, ctx, "open the plan", chromedp.Navigate(p.URL+"/plans/ICE5"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=sold-note]`)))
	checkPage(t, ctx, "plan-sold")
	do(t, ctx, "withdraw it", chromedp.Click(chromedp.CSS(`[data-testid=withdraw-plan]`)))
	waitVisible(t, ctx, "the plan is withdrawn", flash("Iceland 5 GB withdrawn"))
	signOut(t, ctx)

	signIn(t, ctx, p, demo.AgentEmail, demo.AgentPassword)
	if got := addLineShows(p.Subscriber(t, "AC-101160")); slices.Contains(got, "Iceland 5 GB") || !slices.Contains(got, "Euro 10") {
		t.Errorf("after the withdrawal Add line for Iceland offers %q; want Euro 10 and not Iceland 5 GB", got)
	}
	// Hannah's plan runs on: her phone connects in Iceland and uses data.
	lines := p.Lines(t, hannah.ID)
	if len(lines) != 1 {
		t.Fatalf("Hannah Kim holds %d lines", len(lines))
	}
	now := p.Clock.Now()
	if _, err := p.Store.RecordUsage(context.Background(), []db.UsageReport{{ID: "e2e-ice-1", ICCID: lines[0].ICCID, Country: "IS",
		Bytes: 250 * db.BytesPerMB, Start: now, End: now.Add(time.Minute)}}, db.Login{}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "open Hannah's line", chromedp.Navigate(p.URL+"/esims/"+lines[0].ICCID), chromedp.WaitVisible(chromedp.CSS(`[data-testid=line-plan]`)))
	e, err := p.Store.ESIM(context.Background(), lines[0].ICCID)
	if err != nil {
		t.Fatal(err)
	}
	if lp := e.Plans[0]; lp.Plan.Code != "ICE5" || lp.StateAt(p.Clock.Now()) != db.PlanActive || lp.UsedBytes != 250*db.BytesPerMB || lp.Plan.Price() != "$19.00" {
		t.Errorf("Hannah's plan = %s %s, %d bytes used, %s; want ICE5 running with 250 MB used, sold at $19.00", lp.Plan.Code, lp.StateAt(p.Clock.Now()), lp.UsedBytes, lp.Plan.Price())
	}
}

// expectAnswer starts listening for the settled answer to a request whose
// address matches the regular expression re, and returns the JavaScript
// expression that is true once it came: typing sends a request per pause,
// and a test must act on the answer to the whole of what it typed.
func expectAnswer(t *testing.T, ctx context.Context, re string) string {
	t.Helper()
	eval[chromedp.Void](t, ctx, `window.answered = false; document.body.addEventListener('htmx:afterSettle',
		e => { if (new RegExp(`+strconv.Quote(re)+`).test(e.detail.xhr.responseURL)) window.answered = true; })`)
	return "window.answered"
}
