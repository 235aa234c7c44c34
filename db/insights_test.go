package db

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// insightsNow is the clock of the insights data set: Thursday 10 December.
var insightsNow = time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)

// insightsSet is a small hand-made data set, every figure of it counted by
// hand below:
//
//	line  allocated (UTC)           profile  by     QR email         install     plan
//	E     1 Oct 09:00               2        agent  sent             —           USCA5 started 2 Oct, over 1 Nov, unused
//	A     8 Dec 23:59:59.999        7        agent  sent             installed   Euro 1 started, 500 MB used; top-up by lead 9 Dec, queued
//	B     9 Dec 00:00:00.000        7        agent  sent on retry    enabled     Euro 1 started, used up
//	C     9 Dec 10:00               10       lead   failed           downloaded  Asia 1 queued
//	D     10 Dec 08:00 (today)      7        agent  queued           —           Euro 1 queued
//
// A and B are a millisecond apart across UTC midnight. The order emails only:
// the subscribers asked for no plan notices.
type insightsSet struct {
	*fixture
	now   time.Time
	lead  Login
	lines map[string]Order
}

func newInsightsSet(t *testing.T) *insightsSet {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t, 5, 4)
	set := &insightsSet{fixture: f, lines: map[string]Order{}}
	f.s.Now = func() time.Time { return set.now }
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := f.s.write.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO plans (id, code, name, region, data_mb, imsi_profile, price_cents) VALUES (4, 'USCA5', 'USA & Canada', 'North America', 5000, 2, 2200)`)
	exec(`INSERT INTO plan_destinations (plan_id, country) VALUES (4, 'US'), (4, 'CA')`)
	exec(`UPDATE subscribers SET plan_notices = 0`)
	// In stock well before the figures' months, which reports may not precede.
	exec(`UPDATE esims SET stocked_at = ?`, formatTime(insightsNow.AddDate(-1, 0, 0)))
	var err error
	if f.plans["USCA5"], err = f.s.Plan(ctx, 4); err != nil {
		t.Fatal(err)
	}
	set.now = insightsNow.AddDate(0, -3, 0)
	if set.lead, err = f.s.CreateLogin(ctx, "lead@example.com", "Lead", RoleLead, "lead-password"); err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		t.Helper()
		tm, err := time.Parse(timeFormat, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	line := func(key string, when string, sub int, name, plan string, by Login) {
		t.Helper()
		set.now = at(when)
		o, err := f.s.AddLine(ctx, AddLine{SubscriberID: f.subs[sub], LineName: name, PlanID: f.plans[plan].ID, By: by})
		if err != nil {
			t.Fatalf("line %s: %v", key, err)
		}
		set.lines[key] = o
	}
	line("E", "2026-10-01T09:00:00.000Z", 4, "United States", "USCA5", f.agent)
	set.now = at("2026-10-02T10:00:00.000Z")
	if _, err := f.s.Attach(ctx, Attach{ICCID: set.lines["E"].ICCID, Country: "US", AttachedAt: set.now}); err != nil {
		t.Fatal(err)
	}
	line("A", "2026-12-08T23:59:59.999Z", 0, "France", "EURO1", f.agent)
	line("B", "2026-12-09T00:00:00.000Z", 1, "Germany", "EURO1", f.agent)
	line("C", "2026-12-09T10:00:00.000Z", 2, "Japan", "ASIA1", set.lead)
	set.now = at("2026-12-09T11:00:00.000Z")
	if _, err := f.s.AddPlan(ctx, AddPlan{ICCID: set.lines["A"].ICCID, SubscriberID: f.subs[0], PlanID: f.plans["EURO1"].ID, By: set.lead}); err != nil {
		t.Fatal(err)
	}
	line("D", "2026-12-10T08:00:00.000Z", 3, "france 2", "EURO1", f.agent)
	set.now = insightsNow

	email := func(key, kind string) Email {
		t.Helper()
		es, err := f.s.EmailsForESIM(ctx, set.lines[key].ICCID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Kind == kind {
				return e
			}
		}
		t.Fatalf("no %s email of line %s", kind, key)
		return Email{}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.s.MarkEmailSent(ctx, email("E", EmailQR), at("2026-10-01T09:01:00.000Z")))
	must(f.s.MarkEmailSent(ctx, email("A", EmailQR), at("2026-12-09T00:10:00.000Z")))
	must(f.s.MarkEmailAttemptFailed(ctx, email("B", EmailQR).ID, "421 try later", at("2026-12-09T00:30:00.000Z")))
	must(f.s.MarkEmailSent(ctx, email("B", EmailQR), at("2026-12-09T00:31:00.000Z")))
	must(f.s.MarkEmailAttemptFailed(ctx, email("C", EmailQR).ID, "550 no such user", time.Time{}))
	must(f.s.MarkEmailAttemptFailed(ctx, email("A", EmailConfirmation).ID, "421 try later", at("2026-12-10T13:00:00.000Z")))
	for _, ev := range []ProfileEvent{
		{set.lines["A"].ICCID, ProfileInstalled, at("2026-12-09T08:00:00.000Z")},
		{set.lines["B"].ICCID, ProfileEnabled, at("2026-12-09T09:00:00.000Z")},
		{set.lines["C"].ICCID, ProfileDownloaded, at("2026-12-09T12:00:00.000Z")},
	} {
		_, err := f.s.RecordProfileEvent(ctx, ev)
		must(err)
	}
	_, err = f.s.Attach(ctx, Attach{ICCID: set.lines["A"].ICCID, Country: "FR", AttachedAt: at("2026-12-09T12:00:00.000Z")})
	must(err)
	_, err = f.s.RecordUsage(ctx, []UsageReport{
		{ID: "a-1", ICCID: set.lines["A"].ICCID, Country: "FR", Bytes: 500 * BytesPerMB, Start: at("2026-12-09T14:00:00.000Z"), End: at("2026-12-09T15:00:00.000Z")},
		{ID: "b-1", ICCID: set.lines["B"].ICCID, Country: "DE", Bytes: 3000 * BytesPerMB, Start: at("2026-12-09T14:00:00.000Z"), End: at("2026-12-09T15:00:00.000Z")},
	}, Login{})
	must(err)
	return set
}

func (set *insightsSet) insights(t *testing.T) *Insights {
	t.Helper()
	in, err := set.s.Insights(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestInsightsAllocationsPerDay(t *testing.T) {
	set := newInsightsSet(t)
	in := set.insights(t)
	days := in.Allocations()
	if len(days) != AllocationDays {
		t.Fatalf("%d days, want %d", len(days), AllocationDays)
	}
	if got, want := days[len(days)-1].Day, utcDay(insightsNow); !got.Equal(want) {
		t.Errorf("last day %s, want today %s", got, want)
	}
	got := map[string][]int{}
	total := 0
	for _, d := range days {
		if d.Total > 0 {
			got[d.Day.Format(time.DateOnly)] = d.ByProfile
		}
		total += d.Total
	}
	// Profiles in the order 2, 7, 10. A, a millisecond before midnight, is
	// the 8th's; B, at midnight, the 9th's.
	want := map[string][]int{
		"2026-10-01": {1, 0, 0},
		"2026-12-08": {0, 1, 0},
		"2026-12-09": {0, 1, 1},
		"2026-12-10": {0, 1, 0},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || total != 5 {
		t.Errorf("allocations by day = %v (%d in all), want %v (5)", got, total, want)
	}
	byDay := map[string]DayAllocations{}
	for _, d := range days {
		byDay[d.Day.Format(time.DateOnly)] = d
	}
	for day, avg := range map[string]float64{"2026-12-08": 1.0 / 7, "2026-12-09": 3.0 / 7, "2026-12-14": -1, "2026-10-07": 1.0 / 7, "2026-10-08": 0} {
		d, ok := byDay[day]
		if avg < 0 {
			if ok {
				t.Errorf("%s is in the chart", day)
			}
			continue
		}
		if !d.HasAverage || math.Abs(d.Average-avg) > 1e-9 {
			t.Errorf("7-day average of %s = %v (%v), want %v", day, d.Average, d.HasAverage, avg)
		}
	}
	if today := days[len(days)-1]; today.HasAverage {
		t.Errorf("today has an average: it is not over")
	}
}

func TestInsightsFunnel(t *testing.T) {
	set := newInsightsSet(t)
	in := set.insights(t)
	for _, tc := range []struct {
		days int
		want Funnel
	}{
		// A, B, C and D; A and B got all the way, C only downloaded.
		{7, Funnel{Lines: 4, QRDelivered: 2, Installed: 2, Started: 2, DataUsed: 2}},
		// Today only: D, nothing yet.
		{1, Funnel{Lines: 1}},
		// E too: its QR email went, a network saw its phone (no report of
		// the profile: installed all the same) and its plan started, its
		// data never used.
		{90, Funnel{Lines: 5, QRDelivered: 3, Installed: 3, Started: 3, DataUsed: 2}},
	} {
		t.Run(fmt.Sprint(tc.days), func(t *testing.T) {
			got := in.Funnel(tc.days)
			tc.want.Period = in.Period(tc.days)
			if got != tc.want {
				t.Errorf("funnel = %+v, want %+v", got, tc.want)
			}
			if p := got.Period; p.To.Format(time.DateOnly) != "2026-12-10" || !p.From.AddDate(0, 0, tc.days-1).Equal(p.To) {
				t.Errorf("period %s to %s for %d days", p.From, p.To, tc.days)
			}
		})
	}
	if n := in.Funnel(7).NeverInstalled(); n != 2 {
		t.Errorf("never installed = %d, want 2 (C and D)", n)
	}
}

func TestInsightsPlans(t *testing.T) {
	set := newInsightsSet(t)
	in := set.insights(t)
	byPlan, all := in.PlansGiven(7)
	var got []string
	for _, g := range byPlan {
		got = append(got, fmt.Sprintf("%s %d %d/%d MB", g.Plan.Code, g.Plans, g.UsedBytes/BytesPerMB, g.DataBytes/BytesPerMB))
	}
	if want := []string{"EURO1 4 3500/12000 MB", "ASIA1 1 0/3000 MB"}; !slices.Equal(got, want) {
		t.Errorf("plans given = %v, want %v", got, want)
	}
	// A's first plan runs; B's is used up; A's top-up, C's and D's wait.
	if want := (PlanOutcomes{Queued: 3, Running: 1, UsedUp: 1}); all.PlanOutcomes != want || all.Plans != 5 {
		t.Errorf("outcomes = %+v of %d, want %+v of 5", all.PlanOutcomes, all.Plans, want)
	}
	// E's plan ended on 1 November with all its 5 GB left.
	_, all = in.PlansGiven(90)
	if want := (PlanOutcomes{Queued: 3, Running: 1, UsedUp: 1, Expired: 1, Unused: 1, LeftBytes: 5000 * BytesPerMB}); all.PlanOutcomes != want {
		t.Errorf("outcomes over 90 days = %+v, want %+v", all.PlanOutcomes, want)
	}
	if got := fmt.Sprint(in.Destinations(7)); got != "[{France 2} {Germany 1} {Japan 1}]" {
		t.Errorf("destinations = %s, want France 2 (France and france 2), Germany, Japan", got)
	}
}

func TestInsightsAgents(t *testing.T) {
	set := newInsightsSet(t)
	in := set.insights(t)
	a := in.Agents(2)
	monday := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	if monday.Weekday() != time.Monday || len(a.Weeks) != 2 || !a.Weeks[1].Equal(monday) || !a.Weeks[0].Equal(monday.AddDate(0, 0, -7)) {
		t.Fatalf("weeks = %v, want the Mondays 30 Nov and 7 Dec", a.Weeks)
	}
	var got []string
	for _, r := range a.Agents {
		got = append(got, fmt.Sprintf("%s %v", r.Name, r.Weeks))
	}
	// The lead added C and A's top-up; the agent A, B and D.
	if want := []string{"Agent [{0 0} {3 3}]", "Lead [{0 0} {1 2}]"}; !slices.Equal(got, want) {
		t.Errorf("agents = %v, want %v", got, want)
	}
	if got := fmt.Sprint(a.Totals); got != "[{0 0} {4 5}]" {
		t.Errorf("totals = %s", got)
	}
	// Thirteen weeks go back to the week of E (Monday 28 September).
	if got := in.Agents(12); got.Agents[0].Weeks[1].Lines != 1 || !got.Weeks[1].Equal(time.Date(2026, 9, 28, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("12 weeks = %v %+v", got.Weeks, got.Agents[0])
	}
}

func TestInsightsEmailHealth(t *testing.T) {
	set := newInsightsSet(t)
	h := set.insights(t).Emails
	// Queued since 3 December: the QR and confirmation of A, B, C and D,
	// and the confirmation of A's top-up. E's went in October.
	got := [5]int{h.SentFirst, h.SentRetried, h.Retrying, h.Failed, h.Waiting}
	if want := [5]int{1, 1, 1, 1, 5}; got != want || h.Total() != 9 || h.Retried() != 2 {
		t.Errorf("sent first, sent retried, retrying, failed, waiting = %v (total %d), want %v (9)", got, h.Total(), want)
	}
	if len(h.FailedEmails) != 1 || h.FailedEmails[0].ICCID != set.lines["C"].ICCID || h.FailedEmails[0].LastError != "550 no such user" {
		t.Errorf("failed emails = %+v, want C's QR email", h.FailedEmails)
	}
}

func TestInsightsForecast(t *testing.T) {
	set := newInsightsSet(t)
	in := set.insights(t)
	got := map[int]StockForecast{}
	for _, f := range in.Forecasts(14) {
		got[f.IMSIProfile] = f
	}
	// Four free of each profile to start with. Profile 7: A and B in the
	// last 14 whole days (D is today's): 1/7 a day, and 1 free left.
	p7 := got[7]
	if p7.Free != 1 || math.Abs(p7.Rate14-2.0/14) > 1e-9 || math.Abs(p7.Rate28-2.0/28) > 1e-9 {
		t.Errorf("profile 7 = %+v, want 1 free at 2/14 and 2/28 a day", p7)
	}
	if want := insightsNow.Add(7 * 24 * time.Hour); !near(p7.RunsOut, want) || !p7.AtRisk {
		t.Errorf("profile 7 runs out %s (at risk %v), want %s, at risk", p7.RunsOut, p7.AtRisk, want)
	}
	// Profile 2: E was allocated 70 days ago: no rate, no end.
	if p2 := got[2]; p2.Free != 3 || p2.Rate() != 0 || !p2.RunsOut.IsZero() || p2.AtRisk {
		t.Errorf("profile 2 = %+v, want 3 free that do not run out", p2)
	}
	if p10 := got[10]; p10.Free != 3 || !near(p10.RunsOut, insightsNow.Add(42*24*time.Hour)) || p10.AtRisk {
		t.Errorf("profile 10 = %+v, want 3 free for 42 days", p10)
	}
}

func TestForecastStock(t *testing.T) {
	now := insightsNow
	days := func(d float64) time.Time { return now.Add(time.Duration(d * float64(24*time.Hour))) }
	steady := func(n, perDay int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = perDay
		}
		return out
	}
	rising := append(steady(14, 1), steady(14, 5)...)
	falling := append(steady(14, 5), steady(14, 1)...)
	for _, tc := range []struct {
		name           string
		free           int
		daily          []int
		reorder        int
		rate14, rate28 float64
		runsOut        time.Time
		atRisk         bool
	}{
		{"NothingAllocated", 50, steady(28, 0), 14, 0, 0, time.Time{}, false},
		{"NoHistory", 50, nil, 14, 0, 0, time.Time{}, false},
		{"OutOfStock", 0, steady(28, 0), 14, 0, 0, now, true},
		{"OutOfStockWhileUsed", 0, steady(28, 3), 14, 3, 3, now, true},
		{"Steady", 100, steady(28, 2), 14, 2, 2, days(50), false},
		{"SteadyWithinLeadTime", 100, steady(28, 10), 14, 10, 10, days(10), true},
		// Rising: the last 14 days' rate is the higher, and it is used.
		{"Rising", 100, rising, 14, 5, 3, days(20), false},
		{"RisingLongLeadTime", 100, rising, 21, 5, 3, days(20), true},
		// Falling: a quiet fortnight does not push the date away.
		{"Falling", 100, falling, 14, 1, 3, days(100.0 / 3), false},
		// A profile two weeks old: the days before it count as none.
		{"New", 100, steady(14, 4), 14, 4, 2, days(25), false},
		{"ReorderDayIsToday", 28, steady(28, 2), 14, 2, 2, days(14), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ForecastStock(7, tc.free, tc.daily, now, tc.reorder)
			if math.Abs(f.Rate14-tc.rate14) > 1e-9 || math.Abs(f.Rate28-tc.rate28) > 1e-9 {
				t.Errorf("rates = %v, %v; want %v, %v", f.Rate14, f.Rate28, tc.rate14, tc.rate28)
			}
			if !near(f.RunsOut, tc.runsOut) || f.RunsOut.IsZero() != tc.runsOut.IsZero() {
				t.Errorf("runs out %s, want %s", f.RunsOut, tc.runsOut)
			}
			if f.AtRisk != tc.atRisk {
				t.Errorf("at risk = %v, want %v (reorder by %s)", f.AtRisk, tc.atRisk, f.ReorderBy)
			}
			if !f.RunsOut.IsZero() && !f.ReorderBy.Equal(f.RunsOut.AddDate(0, 0, -tc.reorder)) {
				t.Errorf("reorder by %s, want %d days before %s", f.ReorderBy, tc.reorder, f.RunsOut)
			}
		})
	}
}

// near reports whether two times are within a millisecond: a forecast
// divides by a rate.
func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Millisecond && d < time.Millisecond
}

func TestDestinationName(t *testing.T) {
	for in, want := range map[string]string{
		"France":      "France",
		" France 2 ":  "France",
		"France 12":   "France",
		"Route 66 US": "Route 66 US",
		"2":           "2",
		"Asia Plus":   "Asia Plus",
	} {
		if got := destinationName(in); got != want {
			t.Errorf("destinationName(%q) = %q, want %q", in, got, want)
		}
	}
}
