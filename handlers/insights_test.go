package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// number reads "1,234" as 1234.
func number(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(s), ",", ""))
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// chartRows are the rows of a bar chart of the page as label → the number
// its bar is drawn from.
func chartRows(t *testing.T, doc *goquery.Document, id string) map[string]int {
	t.Helper()
	svg := doc.Find(`svg[data-testid="` + id + `-chart"]`)
	if svg.Length() != 1 {
		t.Fatalf("%d charts %s", svg.Length(), id)
	}
	out := map[string]int{}
	svg.Find("g.hbar-row").Each(func(_ int, g *goquery.Selection) {
		label := g.AttrOr("data-label", "")
		if got := text(g.Find("text.hbar-label")); got != label {
			t.Errorf("%s: the bar labelled %q is written %q", id, label, got)
		}
		out[label] = number(t, g.AttrOr("data-value", ""))
	})
	return out
}

// tableRows are the rows of a table of the page as label → the number in
// its first cell.
func tableRows(t *testing.T, doc *goquery.Document, id string) map[string]int {
	t.Helper()
	table := doc.Find(`table[data-testid="` + id + `"]`)
	if table.Length() != 1 {
		t.Fatalf("%d tables %s", table.Length(), id)
	}
	out := map[string]int{}
	table.Find("tbody tr").Each(func(_ int, tr *goquery.Selection) {
		out[tr.AttrOr("data-label", "")] = number(t, tr.Find("td").First().Text())
	})
	return out
}

// listCount is how many eSIMs the List says a link of the page opens.
func listCount(t *testing.T, c *portaltest.Client, href string) int {
	t.Helper()
	s := text(c.Page(t, href).Find("[data-testid=list-count]"))
	if s == "" {
		t.Fatalf("%s: no count", href)
	}
	if strings.HasPrefix(s, "1 eSIM") {
		return 1
	}
	if strings.HasPrefix(s, "No ") {
		return 0
	}
	n, _, _ := strings.Cut(s, " ")
	return number(t, n)
}

func equalMaps(a, b map[string]int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// The page's charts and tables show the store's figures, the same numbers
// in both, and each link opens a List of as many eSIMs as it counts.
func TestInsightsPage(t *testing.T) {
	app := portaltest.Start(t)
	lead := app.Lead(t)
	doc := lead.Page(t, "/insights")
	in, err := app.Store.Insights(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Allocations", func(t *testing.T) {
		days := in.Allocations()
		svg := doc.Find(`svg[data-testid="allocations-chart"]`)
		cols := svg.Find("g.day")
		rows := doc.Find(`table[data-testid="allocations-table"] tbody tr`)
		if cols.Length() != db.AllocationDays || rows.Length() != db.AllocationDays {
			t.Fatalf("%d columns and %d rows, want %d", cols.Length(), rows.Length(), db.AllocationDays)
		}
		total := 0
		cols.Each(func(i int, g *goquery.Selection) {
			d := days[i]
			day := d.Day.Format("2006-01-02")
			row := doc.Find(`table[data-testid="allocations-table"] tr[data-day="` + day + `"]`)
			if g.AttrOr("data-day", "") != day || number(t, g.AttrOr("data-value", "")) != d.Total || number(t, row.Find(`td[data-profile=all]`).Text()) != d.Total {
				t.Errorf("%s: column %s, table %q; want %d", day, g.AttrOr("data-value", ""), text(row.Find(`td[data-profile=all]`)), d.Total)
			}
			for j, p := range db.IMSIProfiles {
				seg := g.Find(fmt.Sprintf(`rect[data-profile="%d"]`, p))
				got := 0
				if seg.Length() == 1 {
					got = number(t, seg.AttrOr("data-value", ""))
				}
				if cell := number(t, row.Find(fmt.Sprintf(`td[data-profile="%d"]`, p)).Text()); got != d.ByProfile[j] || cell != d.ByProfile[j] {
					t.Errorf("%s profile %d: bar %d, table %d, want %d", day, p, got, cell, d.ByProfile[j])
				}
			}
			total += d.Total
		})
		if total == 0 {
			t.Fatal("the demo data allocated nothing in 90 days")
		}
		// The last column with allocations opens them in the List.
		seg := svg.Find("rect.seg").Last()
		href, _ := seg.Parent().Attr("data-href")
		if got, want := listCount(t, lead, href), number(t, seg.AttrOr("data-value", "")); got != want {
			t.Errorf("%s lists %d eSIMs, the bar says %d", href, got, want)
		}
		if !strings.Contains(text(doc.Find("[data-testid=allocations-summary]")), strconv.Itoa(total)+" eSIMs allocated") {
			t.Errorf("summary %q, want %d allocated", text(doc.Find("[data-testid=allocations-summary]")), total)
		}
	})

	t.Run("Forecast", func(t *testing.T) {
		fs := in.Forecasts(db.DefaultReorderDays)
		bars := chartRows(t, doc, "forecast")
		for _, f := range fs {
			label := fmt.Sprintf("Profile %d · %d free", f.IMSIProfile, f.Free)
			row := doc.Find(fmt.Sprintf(`table[data-testid="forecast-table"] tr[data-profile="%d"] td`, f.IMSIProfile))
			if bars[label] != f.Free || number(t, row.Eq(0).Text()) != f.Free || text(row.Eq(1)) != strconv.FormatFloat(f.Rate14, 'f', 1, 64) ||
				text(row.Eq(2)) != strconv.FormatFloat(f.Rate28, 'f', 1, 64) {
				t.Errorf("profile %d: bars %v, table %q; want %+v", f.IMSIProfile, bars, texts(row), f)
			}
			line := text(doc.Find(fmt.Sprintf(`[data-testid=forecast][data-profile="%d"]`, f.IMSIProfile)))
			if !strings.Contains(line, fmt.Sprintf("Profile %d: %d free", f.IMSIProfile, f.Free)) {
				t.Errorf("forecast line %q", line)
			}
			if got := listCount(t, lead, fmt.Sprintf("/esims?state=free&profile=%d", f.IMSIProfile)); got != f.Free {
				t.Errorf("the List has %d free eSIMs of profile %d, the forecast %d", got, f.IMSIProfile, f.Free)
			}
		}
	})

	t.Run("Funnel", func(t *testing.T) {
		f := in.Funnel(30)
		want := map[string]int{"Lines allocated": f.Lines, "QR email delivered": f.QRDelivered, "Installed on the phone": f.Installed,
			"First plan started": f.Started, "Data used": f.DataUsed}
		if got := chartRows(t, doc, "funnel"); !equalMaps(got, want) {
			t.Errorf("funnel chart %v, want %v", got, want)
		}
		want["Never installed"] = f.NeverInstalled()
		if got := tableRows(t, doc, "funnel-table"); !equalMaps(got, want) {
			t.Errorf("funnel table %v, want %v", got, want)
		}
		if f.Lines == 0 || f.Installed == 0 || f.NeverInstalled() == 0 {
			t.Fatalf("the demo data's funnel %+v does not test much", f)
		}
		never := doc.Find("[data-testid=never-installed-link]").AttrOr("href", "")
		if got := listCount(t, lead, never); got != f.NeverInstalled() {
			t.Errorf("%s lists %d lines, the funnel says %d never installed", never, got, f.NeverInstalled())
		}
		doc.Find(`svg[data-testid="funnel-chart"] g.hbar-row`).Each(func(_ int, g *goquery.Selection) {
			href := g.Find("[data-href]").AttrOr("data-href", "")
			switch g.AttrOr("data-label", "") {
			case "Lines allocated", "Installed on the phone":
				if got, want := listCount(t, lead, href), number(t, g.AttrOr("data-value", "")); got != want {
					t.Errorf("%s lists %d, the funnel says %d", href, got, want)
				}
			}
		})
	})

	t.Run("Plans", func(t *testing.T) {
		plans, all := in.PlansGiven(30)
		table := tableRows(t, doc, "plans-table")
		bars := chartRows(t, doc, "plans")
		if len(plans) == 0 || len(table) != len(plans) {
			t.Fatalf("%d plans in the table, want %d", len(table), len(plans))
		}
		for i, g := range plans {
			if table[g.Plan.Name] != g.Plans {
				t.Errorf("%s: table %d, want %d", g.Plan.Name, table[g.Plan.Name], g.Plans)
			}
			if label := fmt.Sprintf("%s · profile %d", g.Plan.Name, g.Plan.IMSIProfile); i < 8 && bars[label] != g.Plans {
				t.Errorf("%s: bar %d, want %d", label, bars[label], g.Plans)
			}
		}
		outcomes := map[string]int{"Queued: not started yet": all.Queued, "Running": all.Running, "Used up: every byte used": all.UsedUp,
			"30 days over with data left": all.Expired, "… of which never used": all.Unused}
		if all.Cancelled > 0 {
			outcomes["Cancelled"] = all.Cancelled
		}
		if got := chartRows(t, doc, "outcomes"); !equalMaps(got, outcomes) {
			t.Errorf("outcomes chart %v, want %v", got, outcomes)
		}
		if got := tableRows(t, doc, "outcomes-table"); !equalMaps(got, outcomes) {
			t.Errorf("outcomes table %v, want %v", got, outcomes)
		}
		dests := map[string]int{}
		for _, d := range in.Destinations(30) {
			dests[d.Name] = d.Lines
		}
		if got := tableRows(t, doc, "destinations-table"); !equalMaps(got, dests) {
			t.Errorf("destinations table %v, want %v", got, dests)
		}
		destBars := chartRows(t, doc, "destinations")
		if len(destBars) != min(len(dests), 10) { // the chart shows the ten with most lines
			t.Errorf("%d destination bars for %d destinations, want %d", len(destBars), len(dests), min(len(dests), 10))
		}
		for name, n := range destBars {
			if dests[name] != n {
				t.Errorf("destination %s: bar %d, want %d", name, n, dests[name])
			}
		}
		want := fmt.Sprintf("%d plans given with %s of data, %s of it used", all.Plans, rules.FormatBytes(all.DataBytes), rules.FormatBytes(all.UsedBytes))
		if got := text(doc.Find("[data-testid=plans-summary]")); !strings.HasPrefix(got, want) {
			t.Errorf("summary %q, want %q", got, want)
		}
	})

	t.Run("Agents", func(t *testing.T) {
		a := in.Agents(8)
		rows := doc.Find(`table[data-testid="agents-table"] tbody tr`)
		if rows.Length() != len(a.Agents) || len(a.Agents) == 0 {
			t.Fatalf("%d agents in the table, want %d", rows.Length(), len(a.Agents))
		}
		rows.Each(func(i int, tr *goquery.Selection) {
			r := a.Agents[i]
			if text(tr.Find("th")) != r.Name {
				t.Errorf("row %d is %q, want %s", i, text(tr.Find("th")), r.Name)
			}
			for w, week := range r.Weeks {
				day := a.Weeks[w].Format("2006-01-02")
				lines := tr.Find(`td[data-week="` + day + `"][data-kind=lines]`)
				plans := tr.Find(`td[data-week="` + day + `"][data-kind=plans]`)
				if number(t, lines.Text()) != week.Lines || number(t, plans.Text()) != week.Plans {
					t.Errorf("%s, week of %s: %q lines, %q plans; want %+v", r.Name, day, text(lines), text(plans), week)
				}
				if href, ok := lines.Find("a").Attr("href"); ok && listCount(t, lead, href) != week.Lines {
					t.Errorf("%s lists %d lines, want %d", href, listCount(t, lead, href), week.Lines)
				}
			}
		})
	})

	t.Run("EmailHealth", func(t *testing.T) {
		h := in.Emails
		want := map[string]int{"Sent at the first attempt": h.SentFirst, "Sent after a retry": h.SentRetried, "Waiting for a retry": h.Retrying,
			"Failed": h.Failed, "Not tried yet": h.Waiting}
		if got := chartRows(t, doc, "email"); !equalMaps(got, want) {
			t.Errorf("email chart %v, want %v", got, want)
		}
		if got := tableRows(t, doc, "email-table"); !equalMaps(got, want) {
			t.Errorf("email table %v, want %v", got, want)
		}
		if failed := doc.Find(`table[data-testid="failed-emails"] tbody tr`).Length(); failed != len(h.FailedEmails) {
			t.Errorf("%d failed emails listed, want %d", failed, len(h.FailedEmails))
		}
	})

	t.Run("CSPAndScreenReaders", func(t *testing.T) {
		if n := doc.Find("[style]").Length(); n > 0 {
			t.Errorf("%d elements with an inline style", n)
		}
		if n := doc.Find("script:not([src])").Length(); n > 0 {
			t.Errorf("%d inline scripts", n)
		}
		doc.Find("svg.chart").Each(func(_ int, svg *goquery.Selection) {
			if svg.AttrOr("role", "") != "img" {
				t.Errorf("chart %s is not an image to screen readers", svg.AttrOr("data-testid", ""))
			}
			for _, id := range strings.Fields(svg.AttrOr("aria-labelledby", "")) {
				if doc.Find("#"+id).Length() != 1 {
					t.Errorf("chart %s is labelled by #%s, which is not there once", svg.AttrOr("data-testid", ""), id)
				}
			}
			svg.Find("a").Each(func(_ int, a *goquery.Selection) {
				if a.AttrOr("tabindex", "") != "-1" {
					t.Errorf("a link of chart %s is in the tab order: its table has it", svg.AttrOr("data-testid", ""))
				}
			})
		})
		doc.Find("section.insight").Each(func(_ int, sec *goquery.Selection) {
			if sec.Find("svg.chart").Length() > 0 && sec.Find("details.chart-table table").Length() == 0 {
				t.Errorf("section %s has charts and no table of their numbers", sec.AttrOr("id", ""))
			}
		})
	})
}

func TestInsightsPeriod(t *testing.T) {
	app := portaltest.Start(t)
	lead := app.Lead(t)
	in, err := app.Store.Insights(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, days := range []int{7, 30, 90} {
		doc := lead.Page(t, fmt.Sprintf("/insights?days=%d", days))
		f := in.Funnel(days)
		if got := chartRows(t, doc, "funnel")["Lines allocated"]; got != f.Lines {
			t.Errorf("%d days: %d lines allocated, want %d", days, got, f.Lines)
		}
		if cur := text(doc.Find(`.period-nav [aria-current=page]`)); cur != fmt.Sprintf("the last %d days", days) {
			t.Errorf("%d days: the period shown as chosen is %q", days, cur)
		}
	}
	for _, bad := range []string{"45", "week", "-7"} {
		if r := lead.Get(t, "/insights?days="+bad); r.Status != http.StatusBadRequest {
			t.Errorf("days=%s: status %d, want 400", bad, r.Status)
		}
	}
}

// The List's low-stock warning takes team leads to the forecast.
func TestInsightsLowStockLink(t *testing.T) {
	app := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) { h.LowStock = 1000 }})
	links := app.Lead(t).Page(t, "/esims").Find("[data-testid=low-stock] [data-testid=forecast-link]")
	if links.Length() != 3 || links.AttrOr("href", "") != "/insights#stock-forecast" {
		t.Errorf("%d links to the forecast (%s), want one a warning", links.Length(), links.AttrOr("href", ""))
	}
	if n := app.Agent(t).Page(t, "/esims").Find("[data-testid=forecast-link]").Length(); n != 0 {
		t.Errorf("an agent's warning links to Insights, a lead-only page")
	}
}

// A low-stock email is in the outbox like any other: on the page's email
// health, shown to team leads, and retried.
func TestInsightsLowStockEmail(t *testing.T) {
	ctx := context.Background()
	app := portaltest.Start(t)
	// Behind the store's back, so the stock is counted again, as a bulk
	// load does.
	for _, q := range []string{`UPDATE esims SET state = 'retired' WHERE state = 'free' AND imsi_profile = 7`, `DELETE FROM esim_stock`,
		`INSERT INTO esim_stock (imsi_profile, state, count) SELECT imsi_profile, state, count(*) FROM esims GROUP BY imsi_profile, state`} {
		if _, err := app.Raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	n, err := app.Store.NotifyLowStock(ctx, db.DefaultReorderDays)
	if err != nil || n == 0 {
		t.Fatalf("NotifyLowStock = %d, %v; want an email to each lead", n, err)
	}
	var id int64
	if err := app.Raw.QueryRow(`SELECT id FROM outbox WHERE kind = 'low_stock' AND imsi_profile = 7 ORDER BY id LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	lead := app.Lead(t)
	doc := lead.Page(t, "/insights")
	if line := text(doc.Find(`[data-testid=forecast][data-profile="7"]`)); !strings.Contains(line, "Reorder") || !strings.Contains(line, "out of stock") {
		t.Errorf("profile 7's forecast %q, want out of stock, reorder", line)
	}
	if got := chartRows(t, doc, "email")["Not tried yet"]; got < n {
		t.Errorf("%d emails not tried yet, want at least the %d low-stock ones", got, n)
	}
	page := lead.Page(t, fmt.Sprintf("/emails/%d", id))
	if h1 := text(page.Find("h1")); h1 != "Out of stock: no free profile 7 eSIMs" {
		t.Errorf("the email's page is %q", h1)
	}
	if crumb := page.Find(`a[href="/insights"]`).Length(); crumb == 0 {
		t.Errorf("the email's page does not lead back to Insights")
	}
	// Every view of the email follows the one rule: its page, the body its
	// frame loads, its retry.
	agent := app.Agent(t)
	for _, path := range []string{"/emails/%d", "/emails/%d/body"} {
		if r := agent.Get(t, fmt.Sprintf(path, id)); r.Status != http.StatusForbidden || strings.Contains(string(r.Body), "profile 7") {
			t.Errorf("an agent opens a team lead's email at %s: status %d, want 403 without the email", fmt.Sprintf(path, id), r.Status)
		}
	}
	if r := agent.Post(t, fmt.Sprintf("/emails/%d/retry", id), url.Values{"_csrf": {agent.CSRF}}); r.Status != http.StatusForbidden {
		t.Errorf("an agent retries a team lead's email: status %d, want 403", r.Status)
	}
	if _, err := app.Raw.Exec(`UPDATE outbox SET state = 'failed', attempts = 1, last_error = '550 mailbox full' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	r := lead.Post(t, fmt.Sprintf("/emails/%d/retry", id), url.Values{"_csrf": {lead.CSRF}})
	if r.Status != http.StatusSeeOther || r.Location() != "/insights#email-health" {
		t.Errorf("retry: status %d to %q, want 303 to Insights", r.Status, r.Location())
	}
	if state := app.Count(t, `SELECT state = 'queued' FROM outbox WHERE id = ?`, id); state != 1 {
		t.Errorf("the retried email is not queued")
	}
}
