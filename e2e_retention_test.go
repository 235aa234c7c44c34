package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

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

// TestBrowserLongTimelineFolds: the demo line with the longest history
// shows its latest events open and the earlier ones folded above them,
// which the keyboard opens.
func TestBrowserLongTimelineFolds(t *testing.T) {
	t.Parallel()
	p, ctx := signedIn(t, nil, demo.AgentEmail, demo.AgentPassword)
	longest, most := "", 0
	rows, err := p.Raw.Query(`SELECT iccid FROM esims WHERE subscriber_id IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var iccid string
		if err := rows.Scan(&iccid); err != nil {
			t.Fatal(err)
		}
		tl, err := p.Store.Timeline(context.Background(), iccid)
		if err != nil {
			t.Fatal(err)
		}
		if len(tl) > most {
			longest, most = iccid, len(tl)
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "open the eSIM page of the longest history", chromedp.Navigate(p.URL+"/esims/"+longest),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=timeline]`)))
	open := eval[int](t, ctx, `document.querySelectorAll('[data-testid=timeline] li').length`)
	summary := text(t, ctx, chromedp.CSS(`[data-testid=timeline-earlier] summary`))
	if want := fmt.Sprintf("%d earlier events, ", most-open); open != 60 || !strings.HasPrefix(summary, want) {
		t.Errorf("a timeline of %d events shows %d open under %q; want 60, and %q…", most, open, summary, want)
	}
	if eval[bool](t, ctx, `document.querySelector('[data-testid=timeline-earlier]').open`) {
		t.Error("the earlier events are open when the page loads")
	}
	eval[chromedp.Void](t, ctx, `document.querySelector('[data-testid=timeline-earlier] summary').focus()`)
	press(t, ctx, "Enter on the earlier events", kb.Enter)
	waitUntil(t, ctx, "the earlier events open", `document.querySelector('[data-testid=timeline-earlier]').open`)
	checkPage(t, ctx, "timeline-earlier-open")
}
