package db_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db/demo/demotest"
	"github.com/carrier/esim-admin/views"
)

// BenchmarkSearchSubscribers measures the search agents type into, on the
// scale data set (ESIM_BENCH_SCALE eSIMs, a tenth as many subscribers).
func BenchmarkSearchSubscribers(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for _, q := range []string{"ga", "garc", "Lope", "mar", "son", "Sofia Ro", "@example.com", "AC-1", "0142", "555 0101",
		// What a customer reads out: an ICCID's last digits, an order number, a phone number in another format.
		"042170", "ORD-2026-004211", "ord 2026 4211", "+1 (212) 555-0101", "001 212 555 0101"} {
		b.Run(q, func(b *testing.B) {
			var t demotest.Timings
			for b.Loop() {
				start := time.Now()
				if _, err := s.SearchSubscribers(ctx, q, views.SearchLimit); err != nil {
					b.Fatal(err)
				}
				t = append(t, time.Since(start))
			}
			t.Report(b)
		})
	}
}

// BenchmarkSearchPrefixes types the first one to four letters of first
// names, surnames and email addresses, as an agent does, and reports the
// p95 of the slowest of them: every one must stay quick, however many
// subscribers it matches.
func BenchmarkSearchPrefixes(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var queries []string
	for _, word := range []string{"Lopez", "Sofia", "García", "Maria", "Kim.", "Johnson", "Tanaka", "Ahmed", "Ozzy"} {
		for n := 1; n <= 4 && n <= len(word); n++ {
			queries = append(queries, word[:n])
		}
	}
	t := make([]demotest.Timings, len(queries))
	for b.Loop() {
		for i, q := range queries {
			start := time.Now()
			if _, err := s.SearchSubscribers(ctx, q, views.SearchLimit); err != nil {
				b.Fatal(err)
			}
			t[i] = append(t[i], time.Since(start))
		}
	}
	var worst time.Duration
	var slowest string
	for i, q := range queries {
		if p := t[i].Percentile(0.95); p > worst {
			worst, slowest = p, q
		}
	}
	all := slices.Concat(t...)
	b.ReportMetric(float64(all.Percentile(0.50))/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(worst)/float64(time.Millisecond), "worst-p95-ms")
	b.Logf("slowest prefix: %q, p95 %s, of %d prefixes", slowest, worst, len(queries))
}
