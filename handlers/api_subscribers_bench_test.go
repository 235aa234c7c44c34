package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo/demotest"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// BenchmarkSubscribersBatchHTTP posts billing's batches of 1,000
// subscribers through the whole API — key, JSON, every check, the
// all-or-nothing change with its fsync — to a portal holding the scale data
// set's subscribers (ESIM_BENCH_SUBSCRIBERS, 100,000 by default; the issue's
// size is a million), from two billing workers at once. Each batch updates
// 500 subscribers the portal holds (a new email) and creates 500. It reports
// subscribers per second; the target is 5,000.
//
//	ESIM_BENCH_SUBSCRIBERS=1000000 go test ./handlers -run '^$' -bench SubscribersBatchHTTP -benchtime 100x
func BenchmarkSubscribersBatchHTTP(b *testing.B) {
	app := portaltest.StartWith(b, portaltest.Options{DB: demotest.ScaleDB(b, 1_000_000)})
	key := benchClientKey(b, app)
	rows, err := app.Raw.Query(`SELECT account_number, name FROM subscribers ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	var held [][2]string
	for rows.Next() {
		var a, n string
		rows.Scan(&a, &n)
		held = append(held, [2]string{a, n})
	}
	rows.Close()
	asOf := app.Clock.Now().UTC().Format(time.RFC3339)
	bodies := make([][]byte, b.N)
	for n := range bodies {
		var body strings.Builder
		body.WriteString(`{"subscribers": [`)
		for i := range 1000 {
			if i > 0 {
				body.WriteString(", ")
			}
			account, name := fmt.Sprintf("BN-%d-%d", n, i), fmt.Sprintf("New Customer %d", i)
			if i%2 == 0 {
				h := held[(n*500+i/2)%len(held)]
				account, name = h[0], h[1]
			}
			fmt.Fprintf(&body, `{"account_number": %q, "name": %q, "email": "moved-%d-%d@example.com", "phone": "+44 7700 900%03d", "status": "active", "as_of": %q,
				"home_plans": [{"id": "HP-%d-%d", "name": "Unlimited All", "kind": "unlimited_all"}]}`, account, name, n, i, i, asOf, n, i)
		}
		body.WriteString("]}")
		bodies[n] = []byte(body.String())
	}
	work := make(chan []byte)
	var wg sync.WaitGroup
	var failed sync.Once
	b.ResetTimer()
	start := time.Now()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range work {
				req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/v1/subscribers", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Do(func() { b.Errorf("batch: %v %v", err, resp.Status) })
				}
			}
		}()
	}
	for _, body := range bodies {
		work <- body
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N*1000)/time.Since(start).Seconds(), "subscribers/s")
	b.ReportMetric(float64(len(held)), "held")
}

// benchClientKey makes a billing client and returns its key.
func benchClientKey(b *testing.B, app *portaltest.Portal) string {
	b.Helper()
	_, key, err := app.Store.AddAPIClient(context.Background(), "Billing", []string{db.ScopeSubscribers}, db.Login{})
	if err != nil {
		b.Fatal(err)
	}
	return key
}
