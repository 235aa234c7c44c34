package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo/demotest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// BenchmarkYearPages serves the pages agents and leads read most — the
// profile of the traveller with the longest history, the eSIM page of
// their line with its timeline, the List's first page, Insights — on a
// database a simulated year old (`demo year`, 100 travellers abroad at
// any time unless ESIM_BENCH_YEAR_TRAVELLERS says otherwise; built once
// into the temporary folder) and on the same travellers' first day,
// alternating between the two a turn at a time so both see the machine as
// it is. It reports each page's p50 on both and their ratio (target: the
// year-old page within 20% of the first day's, year/day1 ≤ 1.2), and the
// time of a backup of the year-old database:
//
//	go test ./handlers -run '^$' -bench YearPages -benchtime 100x
func BenchmarkYearPages(b *testing.B) {
	n := demotest.YearTravellers(b, 100)
	quiet := portaltest.Options{Configure: func(h *handlers.Handlers) { h.Log = slog.New(slog.NewJSONHandler(io.Discard, nil)) }}
	open := func(path string) (*portaltest.Portal, []string) {
		opts := quiet
		opts.DB = path
		app := portaltest.StartWith(b, opts)
		// The line with the most days of usage, whole or rolled up, and its holder.
		var sub int64
		var iccid string
		if err := app.Raw.QueryRow(`SELECT e.subscriber_id, e.iccid FROM esims e JOIN (
				SELECT iccid, count(*) AS n FROM (SELECT iccid FROM usage_days UNION ALL SELECT iccid FROM usage_records) GROUP BY iccid
			) u ON u.iccid = e.iccid WHERE e.subscriber_id IS NOT NULL ORDER BY u.n DESC LIMIT 1`).Scan(&sub, &iccid); err != nil {
			b.Fatal(err)
		}
		return app, []string{fmt.Sprintf("/subscribers/%d", sub), "/esims/" + iccid, "/esims", "/insights"}
	}
	yearPath := demotest.YearDB(b, n, 365)
	day1, day1Pages := open(demotest.YearDB(b, n, 1))
	year, yearPages := open(yearPath)
	clients := map[*portaltest.Portal]*portaltest.Client{day1: day1.Lead(b), year: year.Lead(b)}
	get := func(app *portaltest.Portal, path string) time.Duration {
		start := time.Now()
		r := clients[app].Get(b, path)
		took := time.Since(start)
		if r.Status != http.StatusOK {
			b.Fatalf("GET %s: %d", path, r.Status)
		}
		return took
	}
	names := []string{"profile", "esim", "list", "insights"}
	times := map[string][2]demotest.Timings{}
	for i := range names { // warm both: Insights reads its figures once
		get(day1, day1Pages[i])
		get(year, yearPages[i])
	}
	b.ResetTimer()
	const turn = 10
	for done := 0; done < b.N; done += turn {
		for i, name := range names {
			t := times[name]
			for range turn {
				t[0] = append(t[0], get(day1, day1Pages[i]))
			}
			for range turn {
				t[1] = append(t[1], get(year, yearPages[i]))
			}
			times[name] = t
		}
	}
	b.StopTimer()
	for _, name := range names {
		t := times[name]
		b.ReportMetric(t[0].Ms(0.5), name+"-day1-p50-ms")
		b.ReportMetric(t[1].Ms(0.5), name+"-year-p50-ms")
		b.ReportMetric(t[1].Ms(0.5)/t[0].Ms(0.5), name+"-year/day1")
	}
	// A backup of the year-old database, as the nightly one makes it.
	dst := filepath.Join(b.TempDir(), "backup.db")
	start := time.Now()
	if _, err := db.Backup(context.Background(), yearPath, dst); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	fi, err := os.Stat(yearPath)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(took.Seconds(), "backup-s")
	b.ReportMetric(float64(fi.Size())/1e6, "year-db-MB")
}
