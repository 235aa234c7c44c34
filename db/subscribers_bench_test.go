package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/carrier/esim-admin/views"
)

// BenchmarkSearchSubscribers measures the search agents type into, on the
// scale data set (ESIM_BENCH_SCALE eSIMs, a tenth as many subscribers).
func BenchmarkSearchSubscribers(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for _, q := range []string{"ga", "garc", "Sofia Ro", "@example.com", "AC-1", "0142", "555 0101"} {
		b.Run(q, func(b *testing.B) {
			var t timings
			for b.Loop() {
				start := time.Now()
				if _, err := s.SearchSubscribers(ctx, q, views.SearchLimit); err != nil {
					b.Fatal(err)
				}
				t = append(t, time.Since(start))
			}
			t.report(b)
		})
	}
}
