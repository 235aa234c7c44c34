package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo/demotest"
)

// BenchmarkCatalog measures the Plans page's read: every plan with what was
// sold of it, counted over every order of the scale data set
// (ESIM_BENCH_SCALE eSIMs), whole and filtered to a country.
func BenchmarkCatalog(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for name, f := range map[string]db.CatalogFilter{"All": {}, "Japan": {Country: "JP"}} {
		b.Run(name, func(b *testing.B) {
			var t demotest.Timings
			for b.Loop() {
				start := time.Now()
				if _, err := s.Catalog(ctx, f); err != nil {
					b.Fatal(err)
				}
				t = append(t, time.Since(start))
			}
			t.Report(b)
		})
	}
}
