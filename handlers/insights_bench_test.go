package handlers_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo/demotest"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// BenchmarkInsightsPage serves the Insights page to a team lead on the
// scale data set (1,000,000 eSIMs unless ESIM_BENCH_SCALE says otherwise)
// and reports the p50/p95 of a page while its figures are kept ("page"),
// and while they are old, each request starting or finding a read of new
// ones in the background ("stale"); with the time of one read of the figures,
// of the first page (which waits for that read) and of the daily low-stock
// check:
//
//	go test ./handlers -run '^$' -bench InsightsPage -benchtime 200x
func BenchmarkInsightsPage(b *testing.B) {
	app := portaltest.StartWith(b, portaltest.Options{DB: demotest.ScaleDB(b, 1_000_000)})
	ctx := context.Background()
	lead := app.Lead(b)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

	start := time.Now()
	in, err := app.Store.Insights(ctx)
	if err != nil {
		b.Fatal(err)
	}
	read := time.Since(start)
	f := in.Funnel(90)
	b.Logf("one read of the figures: %s; %d lines allocated in 90 days, %d free eSIMs of profile 7", read.Round(time.Millisecond), f.Lines, in.Free[7])
	start = time.Now()
	if _, err := app.Store.NotifyLowStock(ctx, db.DefaultReorderDays); err != nil {
		b.Fatal(err)
	}
	check := time.Since(start)
	start = time.Now()
	first := lead.Page(b, "/insights")
	cold := time.Since(start)
	if first.Find("svg.chart").Length() == 0 {
		b.Fatal("the page has no chart")
	}

	get := func() time.Duration {
		start := time.Now()
		r := lead.Get(b, "/insights")
		took := time.Since(start)
		if r.Status != http.StatusOK {
			b.Fatalf("status %d", r.Status)
		}
		return took
	}
	var kept, stale []time.Duration
	size := len(lead.Get(b, "/insights").Body)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			kept = append(kept, get())
			continue
		}
		// Past the figures' five minutes: this request starts a read, or
		// finds the last one still running, and gets the old figures.
		app.Clock.Advance(6 * time.Minute)
		stale = append(stale, get())
	}
	b.StopTimer()
	pct := func(d []time.Duration, p int) float64 { return demotest.Timings(d).Ms(float64(p) / 100) }
	b.ReportMetric(pct(kept, 50), "page-p50-ms")
	b.ReportMetric(pct(kept, 95), "page-p95-ms")
	if len(stale) > 0 {
		b.ReportMetric(pct(stale, 50), "stale-p50-ms")
		b.ReportMetric(pct(stale, 95), "stale-p95-ms")
	}
	b.ReportMetric(ms(read), "read-ms")
	b.ReportMetric(ms(cold), "first-page-ms")
	b.ReportMetric(ms(check), "stock-check-ms")
	b.ReportMetric(float64(size)/1024, "page-KB")
}
