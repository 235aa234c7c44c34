package handlers_test

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// TestPagesAfterRollUp renders the pages that read usage, attachments and
// profile events — every profile and eSIM page with usage on it (where the
// phone last connected, its install status, data with no plan, the
// timeline) — and Insights' figures, on the demo data a hundred days on,
// then forces the retention pass over every report and renders them again:
// they say the same, except that the timeline sums up a day of several
// attachments in a country, or of one profile event, in one line, and
// consecutive days of usage in one country in one line, whose bytes are the
// days' sum.
func TestPagesAfterRollUp(t *testing.T) {
	t.Parallel()
	app := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) { h.MetricsToken = testMetricsToken }})
	ctx := context.Background()
	// A line of the demo whose phone connected in France three times one
	// day and was disabled twice: the timeline will sum each up in a line.
	var busy string
	if err := app.Raw.QueryRow(`SELECT min(iccid) FROM usage_records`).Scan(&busy); err != nil {
		t.Fatal(err)
	}
	day := app.Clock.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	var reported []string // their times, as the timeline's markup has them
	for _, r := range []struct {
		country, event string
		at             time.Duration
	}{
		{"FR", "", 9*time.Hour + 7*time.Second},
		{"", db.ProfileDisabled, 9*time.Hour + 10*time.Minute + 7*time.Second},
		{"FR", "", 9*time.Hour + 30*time.Minute + 7*time.Second},
		{"", db.ProfileDisabled, 9*time.Hour + 40*time.Minute + 7*time.Second},
		{"FR", "", 10*time.Hour + 7*time.Second},
	} {
		var err error
		if r.event == "" {
			_, err = app.Store.Attach(ctx, db.Attach{ICCID: busy, Country: r.country, AttachedAt: day.Add(r.at)})
		} else {
			_, err = app.Store.RecordProfileEvent(ctx, db.ProfileEvent{ICCID: busy, Event: r.event, At: day.Add(r.at)})
		}
		if err != nil {
			t.Fatal(err)
		}
		reported = append(reported, day.Add(r.at).Format(time.RFC3339))
	}
	// Their lines in the timeline, one each before the rollup, a line a
	// day and kind after: an attachment's or profile event's line at one
	// of their times (a rolled-up day's is its last).
	reports := func(doc *goquery.Document) *goquery.Selection {
		return doc.Find(`ol.timeline li`).FilterFunction(func(_ int, li *goquery.Selection) bool {
			kind := strings.TrimSuffix(li.AttrOr("data-kind", ""), "_day")
			return (kind == db.TimelineAttached || kind == db.TimelineProfile) && slices.Contains(reported, li.Find("time").AttrOr("datetime", ""))
		})
	}
	// What a person reads on the page, but for those lines and the usage
	// lines (compared by their sums per country instead: after the rollup,
	// consecutive days in a country are one line), and for how many earlier
	// events a long timeline folds away, which depends on how many lines
	// the rolled-up days make.
	same := func(page *goquery.Document) string {
		doc := goquery.CloneDocument(page)
		reports(doc).Remove()
		doc.Find(`ol.timeline li[data-kind=usage], details.timeline-earlier > summary`).Remove()
		return words(doc.Find("main"))
	}
	at := app.Clock.Now().Add(100 * 24 * time.Hour)
	app.Store.Now = func() time.Time { return at }
	lead := app.Lead(t)
	var pages []string
	rows, err := app.Raw.Query(`SELECT DISTINCT e.iccid, coalesce(e.subscriber_id, r.subscriber_id) FROM usage_records u JOIN esims e ON e.iccid = u.iccid
		LEFT JOIN esims r ON r.iccid = e.replaced_by ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	subs := map[int64]bool{}
	for rows.Next() {
		var iccid string
		var sub int64
		if err := rows.Scan(&iccid, &sub); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, "/esims/"+iccid)
		if !subs[sub] {
			subs[sub] = true
			pages = append(pages, "/subscribers/"+itoa(sub))
		}
	}
	rows.Close()
	if len(pages) < 4 {
		t.Fatalf("the demo data has usage on only %v", pages)
	}
	render := func() map[string]*goquery.Document {
		out := map[string]*goquery.Document{}
		for _, p := range pages {
			out[p] = lead.Page(t, p)
		}
		return out
	}
	insights := func() *db.Insights {
		in, err := app.Store.Insights(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	// What each line's timeline says of its usage: per country, the bytes,
	// those with no plan, and the days.
	usage := func() map[string]string {
		out := map[string]string{}
		for _, p := range pages {
			iccid, ok := strings.CutPrefix(p, "/esims/")
			if !ok {
				continue
			}
			tl, err := app.Store.Timeline(ctx, iccid)
			if err != nil {
				t.Fatal(err)
			}
			sums := map[string][3]int64{}
			for _, ev := range tl {
				if ev.Kind == db.TimelineUsage {
					s := sums[ev.Subject]
					sums[ev.Subject] = [3]int64{s[0] + ev.Bytes, s[1] + ev.Uncovered, s[2] + int64(max(ev.Days, 1))}
				}
			}
			out[iccid] = fmt.Sprint(sums)
		}
		return out
	}
	before, inBefore, usageBefore := render(), insights(), usage()
	for p, again := range render() {
		if same(again) != same(before[p]) || len(same(again)) < 200 {
			t.Fatalf("%s reads differently between two renders with nothing changed, or reads next to nothing: the comparison below would mean nothing", p)
		}
	}
	raw := app.Count(t, `SELECT count(*) FROM usage_records`)
	backlog := scrape(t, app.NewClient())
	for _, kind := range []string{"usage", "attachment", "profile_event"} {
		if v := value(backlog, "esim_retention_behind_seconds", "kind", kind); v <= 0 {
			t.Errorf("%s backlog %vs a hundred days on, before the pass", kind, v)
		}
	}
	var longest time.Duration
	if err := app.Store.Retain(ctx, func(st db.RetentionStep) {
		longest = max(longest, st.Took)
		if st.Kind == "usage" && st.Done > 0 {
			// The pass runs beside the portal: a page mid-way reads the same too.
			if p := pages[0]; same(lead.Page(t, p)) != same(before[p]) {
				t.Errorf("%s reads differently in the middle of the pass", p)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if n := app.Count(t, `SELECT count(*) FROM usage_records`); n != 0 {
		t.Fatalf("%d of %d records left after the pass a hundred days on", n, raw)
	}
	if n := app.Count(t, `SELECT (SELECT count(*) FROM attachments) + (SELECT count(*) FROM profile_events)`); n != 0 {
		t.Fatalf("%d attachments and profile events left after the pass a hundred days on", n)
	}
	if err := app.Store.CheckUsage(ctx); err != nil {
		t.Error(err)
	}
	after, inAfter, usageAfter := render(), insights(), usage()
	if !reflect.DeepEqual(usageBefore, usageAfter) {
		t.Errorf("the timelines' usage per country (bytes, with no plan, days):\nbefore %v\nafter  %v", usageBefore, usageAfter)
	}
	// Sofia Rossi's four days in the United States before her eSIM was
	// replaced, one line; how much she used depends on the hour the demo is made.
	merged := regexp.MustCompile(`^[0-9]+( [A-Z][a-z]+)?–[0-9]+ [A-Z][a-z]+, United States: [0-9.]+ [KMG]?B$`)
	runs := 0
	for _, doc := range after {
		doc.Find(`ol.timeline li[data-kind=usage] > span`).Each(func(_ int, line *goquery.Selection) {
			if merged.MatchString(text(line)) {
				runs++
			}
		})
	}
	if runs == 0 {
		t.Error("no run of rolled-up days reads as one line")
	}
	busyPage := "/esims/" + busy
	if n := reports(before[busyPage]).Length(); n != 5 {
		t.Errorf("the timeline showed %d of the 5 reports before the rollup", n)
	}
	summed := texts(reports(after[busyPage]))
	if len(summed) != 2 || !strings.Contains(summed[0], "Disabled on the phone 2 times that day, 09:10–09:40 UTC") ||
		!strings.Contains(summed[1], "Connected in France 3 times that day, 09:00–10:00 UTC") {
		t.Errorf("the timeline's rolled-up day:\n%s", strings.Join(summed, "\n"))
	}
	for _, p := range pages {
		// Apart from the summed-up days, the same.
		b, a := same(before[p]), same(after[p])
		if b != a {
			t.Errorf("%s reads differently after the rollup:\n%s", p, firstDiff(b, a))
		}
	}
	if !reflect.DeepEqual(inBefore, inAfter) {
		t.Error("Insights' figures differ after the rollup")
	}
	t.Logf("%d records rolled up; the longest change of the pass took %s", raw, longest)
	m := scrape(t, app.NewClient())
	for _, kind := range []string{"usage", "attachment", "profile_event"} {
		if v := value(m, "esim_retention_behind_seconds", "kind", kind); v != 0 {
			t.Errorf("%s backlog %vs after the pass, want 0", kind, v)
		}
	}
}

// firstDiff shows where two pages part.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(i-200, 0)
	return "before: …" + a[from:min(len(a), i+200)] + "\nafter:  …" + b[from:min(len(b), i+200)]
}

// TestEmailPreviewAfterRetention: a sent email past the email period shows
// who it went to, when and its state, and says its content was removed.
func TestEmailPreviewAfterRetention(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	ctx := context.Background()
	var id int64
	if err := app.Raw.QueryRow(`SELECT id FROM outbox WHERE kind = 'confirmation' AND state = 'sent' ORDER BY sent_at DESC LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	agent := app.Agent(t)
	path := "/emails/" + itoa(id)
	whole := string(agent.Get(t, path).Body)
	if strings.Contains(whole, "content removed") || !strings.Contains(whole, "Plain-text version") {
		t.Fatal("a whole email's preview does not show its text")
	}
	app.Clock.Advance(366 * 24 * time.Hour)
	if err := app.Store.Retain(ctx, nil); err != nil {
		t.Fatal(err)
	}
	page := string(app.Agent(t).Get(t, path).Body) // signed in anew: a year on
	if !strings.Contains(page, "Content removed after 365 days") || strings.Contains(page, "Plain-text version") || strings.Contains(page, "<iframe") {
		t.Errorf("the preview of a thinned email:\n%s", page)
	}
	e, err := app.Store.EmailByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, e.Message.Subject) || e.State != db.EmailSent || e.SentAt.IsZero() || e.To == "" {
		t.Errorf("the thinned email lost what was sent, to whom, when or its state: %+v", e)
	}
}

// TestReadyzRetentionBehind: /readyz mentions the retention pass only when
// it is a day behind, and the portal stays ready.
func TestReadyzRetentionBehind(t *testing.T) {
	t.Parallel()
	app := portaltest.StartWith(t, portaltest.Options{Configure: withMetricsToken})
	c := app.NewClient()
	retention := func(body map[string]any) string {
		s, _ := body["checks"].(map[string]any)["retention"].(string)
		return s
	}
	if err := app.Store.Retain(context.Background(), nil); err != nil { // as the portal does at start
		t.Fatal(err)
	}
	if status, body := health(t, c, "/readyz", "Authorization", "Bearer "+testMetricsToken); status != 200 || retention(body) != "" {
		t.Fatalf("readyz with nothing to retain: %d %v", status, body)
	}
	app.Clock.Advance(10 * 24 * time.Hour)
	status, body := health(t, c, "/readyz", "Authorization", "Bearer "+testMetricsToken)
	if status != 200 || body["status"] != "ready" || !strings.Contains(retention(body), "behind by") {
		t.Errorf("readyz with the pass ten days behind: %d %v", status, body)
	}
	if err := app.Store.Retain(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if status, body := health(t, c, "/readyz", "Authorization", "Bearer "+testMetricsToken); status != 200 || retention(body) != "" {
		t.Errorf("readyz after the pass: %d %v", status, body)
	}
}
