package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/demo"
)

// A team lead opens Insights from the navigation: the charts draw inside a
// wide window and a phone's width without breaking the CSP, a table shows
// the numbers of its chart, the period changes the funnel, and the lines
// never installed open in the eSIM List.
func TestBrowserInsights(t *testing.T) {
	t.Parallel()
	_, ctx := signedIn(t, nil, demo.LeadEmail, demo.LeadPassword)

	do(t, ctx, "open Team lead → Insights", chromedp.Click(chromedp.Search(`//header//nav//a[normalize-space()="Insights"]`)))
	waitVisible(t, ctx, "the allocations chart shows", chromedp.CSS(`[data-testid=allocations-chart]`))
	if u := location(t, ctx); u.Path != "/insights" {
		t.Fatalf("Insights opened %s", u)
	}
	// Every chart is drawn: its bars have a size on the screen.
	charts := eval[map[string]int](t, ctx, `Object.fromEntries([...document.querySelectorAll('svg.chart')].map(s =>
		[s.dataset.testid, [...s.querySelectorAll('rect.seg, rect.hbar-bar, rect.hbar-pattern')].filter(r => r.getBoundingClientRect().width > 0).length]))`)
	for _, id := range []string{"allocations-chart", "forecast-chart", "funnel-chart", "plans-chart", "data-chart", "outcomes-chart", "destinations-chart", "email-chart"} {
		if charts[id] == 0 {
			t.Errorf("chart %s draws no bar: %v", id, charts)
		}
	}
	// The profiles' patterns fill the bars: a pattern drawn as nothing
	// would leave the chart blank.
	if fill := eval[string](t, ctx, `getComputedStyle(document.querySelector('rect.seg')).fill`); !strings.Contains(fill, "url(") {
		t.Errorf("the allocations bars are filled with %q, not their profile's pattern", fill)
	}
	checkPage(t, ctx, "insights")

	// A table of a chart's numbers opens and shows them.
	do(t, ctx, "open the funnel's table", chromedp.Click(chromedp.CSS(`#funnel details.chart-table summary`)))
	waitVisible(t, ctx, "the funnel's table shows", chromedp.CSS(`[data-testid=funnel-table]`))
	bars := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('[data-testid=funnel-chart] g.hbar-row')].map(g =>
		[g.dataset.label, g.dataset.value]))`)
	cells := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('[data-testid=funnel-table] tbody tr')].map(r =>
		[r.dataset.label, r.querySelector('td').textContent.replace(/,/g, '')]))`)
	if len(bars) == 0 {
		t.Fatal("the funnel chart has no bars")
	}
	for label, v := range bars {
		if cells[label] != v {
			t.Errorf("funnel %s: chart %s, table %s", label, v, cells[label])
		}
	}

	// On a phone the page does not scroll sideways: a wide table scrolls
	// in its own box, and the charts take the width there is.
	do(t, ctx, "narrow the window to a phone's", chromedp.EmulateViewport(390, 844))
	waitUntil(t, ctx, "the page lays out at 390 px", `document.documentElement.clientWidth === 390`)
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("at 390 px the page is %d px wide", w)
	}
	if w := eval[float64](t, ctx, `document.querySelector('[data-testid=funnel-chart]').getBoundingClientRect().width`); w < 300 || w > 390 {
		t.Errorf("at 390 px the funnel chart is %v px wide", w)
	}
	shot(t, ctx, "insights-390")
	do(t, ctx, "back to a wide window", chromedp.EmulateViewport(1280, 900))

	// Another period: the address says it, and the funnel counts its lines.
	lines30 := bars["Lines allocated"]
	do(t, ctx, "show the last 90 days", chromedp.Click(chromedp.Search(`//nav[contains(@class,"period-nav")]//a[normalize-space()="the last 90 days"]`)))
	waitVisible(t, ctx, "the page shows 90 days", chromedp.CSS(`.period-nav a[aria-current=page][href^="/insights?days=90"]`))
	lines90 := eval[string](t, ctx, `document.querySelector('[data-testid=funnel-chart] g.hbar-row[data-label="Lines allocated"]').dataset.value`)
	n30, err30 := strconv.Atoi(lines30)
	n90, err90 := strconv.Atoi(lines90)
	if err30 != nil || err90 != nil || n90 < n30 {
		t.Errorf("%q lines allocated in 90 days, %q in 30; want numbers, no fewer in 90", lines90, lines30)
	}

	// The lines never installed open in the List, with its filter set.
	never := eval[string](t, ctx, `document.querySelector('[data-testid=never-installed]').dataset.value`)
	do(t, ctx, "open the lines never installed", chromedp.Click(chromedp.CSS(`[data-testid=never-installed-link]`)))
	waitVisible(t, ctx, "the List shows them", chromedp.CSS(`[data-testid=list-count]`))
	if u := location(t, ctx); u.Path != "/esims" || u.Query().Get("installed") != "no" {
		t.Errorf("the link opened %s", u)
	}
	if got := eval[string](t, ctx, `document.getElementById('list-installed').value`); got != "no" {
		t.Errorf("the List's Installed filter shows %q, want never installed", got)
	}
	count := text(t, ctx, chromedp.CSS(`[data-testid=list-count]`))
	want := never + " eSIMs match"
	if never == "1" {
		want = "1 eSIM matches"
	}
	if count != want {
		t.Errorf("the List says %q; the funnel, %s never installed", count, never)
	}
	shot(t, ctx, "list-never-installed")
}
