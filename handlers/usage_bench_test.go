package handlers_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrier/esim-admin/demo/demotest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// Shape of the usage load: batches of the most records a request takes,
// spread over this many lines with an active plan, from a few network
// mediation servers at once.
const (
	usageBatch   = 1000
	usageLines   = 10_000
	usagePosters = 4
)

// BenchmarkUsageHTTP posts usage records through the whole API — bearer
// token, JSON, every check, the all-or-nothing change with its fsync
// (synchronous=FULL) — on the scale data set (1,000,000 eSIMs unless
// ESIM_BENCH_SCALE says otherwise), and reports records per second:
//
//	go test ./handlers -run '^$' -bench UsageHTTP -benchtime 60x
func BenchmarkUsageHTTP(b *testing.B) {
	app := portaltest.StartWith(b, portaltest.Options{DB: demotest.ScaleDB(b, 1_000_000), Configure: func(h *handlers.Handlers) { h.APIToken = testAPIToken }})
	now := app.Clock.Now()
	rows, err := app.Raw.Query(`SELECT ep.iccid, min(d.country) FROM esim_plans ep JOIN plan_destinations d ON d.plan_id = ep.plan_id
		WHERE ep.state = 'active' AND ep.expires_at > ? GROUP BY ep.iccid LIMIT ?`, now.UTC().Format("2006-01-02T15:04:05.000Z"), usageLines)
	if err != nil {
		b.Fatal(err)
	}
	type line struct{ iccid, country string }
	var lines []line
	for rows.Next() {
		var l line
		if err := rows.Scan(&l.iccid, &l.country); err != nil {
			b.Fatal(err)
		}
		lines = append(lines, l)
	}
	rows.Close()
	if len(lines) == 0 {
		b.Fatal("the scale data set has no active plan")
	}
	b.Logf("%d lines with an active plan", len(lines))
	// Bodies are made before the clock starts: the network's side of the work.
	bodies := make([][]byte, b.N)
	for n := range bodies {
		var body strings.Builder
		body.WriteString(`{"records": [`)
		for i := range usageBatch {
			k := n*usageBatch + i
			l := lines[k%len(lines)]
			end := now.Add(-time.Hour + time.Duration(k/len(lines))*time.Second)
			if i > 0 {
				body.WriteString(", ")
			}
			fmt.Fprintf(&body, `{"id": "bench-%d", "iccid": %q, "country": %q, "bytes": 250000, "start": %q, "end": %q}`,
				k, l.iccid, l.country, end.Add(-15*time.Minute).UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
		}
		body.WriteString(`]}`)
		bodies[n] = []byte(body.String())
	}
	work := make(chan []byte, b.N)
	for _, body := range bodies {
		work <- body
	}
	close(work)
	var wg sync.WaitGroup
	failures := make(chan error, usagePosters)
	b.ResetTimer()
	for range usagePosters {
		wg.Go(func() {
			for body := range work {
				if err := postUsage(app.URL, body); err != nil {
					failures <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := b.Elapsed()
	b.StopTimer()
	close(failures)
	for err := range failures {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*usageBatch)/elapsed.Seconds(), "records/s")
	b.ReportMetric(elapsed.Seconds()*1000/float64(b.N), "ms/batch")
}

func postUsage(base string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/usage", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+testAPIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return fmt.Errorf("usage: status %d: %s", resp.StatusCode, msg)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
