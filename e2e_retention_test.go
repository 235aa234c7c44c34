package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/demo"
)

// TestBrowserTimelineAfterRollUp: a hundred days on, once the retention pass
// has rolled up the records, Sofia Rossi's replaced eSIM shows her days in
// the United States as one line of its timeline, with their data summed.
func TestBrowserTimelineAfterRollUp(t *testing.T) {
	p := startPortal(t, nil)
	var iccid string
	if err := p.Raw.QueryRow(`SELECT iccid FROM esims WHERE replaced_by IS NOT NULL ORDER BY iccid LIMIT 1`).Scan(&iccid); err != nil {
		t.Fatal(err)
	}
	p.Clock.Advance(100 * 24 * time.Hour)
	if err := p.Store.Retain(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	signIn(t, ctx, p, demo.AgentEmail, demo.AgentPassword)
	do(t, ctx, "open the replaced eSIM's page", chromedp.Navigate(p.URL+"/esims/"+iccid),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=timeline]`)))
	usage := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-testid=timeline] li[data-kind=usage]')].map(li => li.textContent.trim())`)
	// How much she used depends on the hour the demo is made.
	run := regexp.MustCompile(`^\d+ \w+ \d{4}, \d\d:\d\d UTC\s*\d+( \w+)?–\d+ \w+, United States: [0-9.]+ [KMG]?B$`)
	if len(usage) != 1 || !run.MatchString(usage[0]) {
		t.Errorf("the timeline's usage lines: %q; want the four days in the United States as one", usage)
	}
	checkPage(t, ctx, "timeline-rolled-up")
}
