//go:build unix

package handlers_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/carrier/esim-admin/demo/demotest"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// BenchmarkProfileHTTP serves the profile of the demo's subscriber with the
// most emails (held, as with no mail server) to a signed-in agent through
// the whole stack, and reports its p50 and p95 and the CPU time a page
// costs the process:
//
//	go test ./handlers -run '^$' -bench ProfileHTTP -benchtime 2000x
func BenchmarkProfileHTTP(b *testing.B) {
	app := portaltest.Start(b)
	var id int64
	if err := app.Raw.QueryRow(`SELECT subscriber_id FROM outbox WHERE subscriber_id IS NOT NULL
		GROUP BY subscriber_id ORDER BY count(*) DESC, subscriber_id LIMIT 1`).Scan(&id); err != nil {
		b.Fatal(err)
	}
	agent := app.Agent(b)
	path := fmt.Sprintf("/subscribers/%d", id)
	if r := agent.Get(b, path); r.Status != http.StatusOK {
		b.Fatalf("GET %s: %d", path, r.Status)
	}
	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	cpu := demotest.CPU()
	for range b.N {
		began := time.Now()
		if r := agent.Get(b, path); r.Status != http.StatusOK {
			b.Fatalf("GET %s: %d", path, r.Status)
		}
		latencies = append(latencies, time.Since(began))
	}
	cpu = demotest.CPU() - cpu
	b.StopTimer()
	t := demotest.Timings(latencies)
	b.ReportMetric(t.Ms(0.50), "p50-ms")
	b.ReportMetric(t.Ms(0.95), "p95-ms")
	b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/page")
}
