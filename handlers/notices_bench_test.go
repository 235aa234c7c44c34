package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/demo/demotest"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// activePlans is how many plans the tick benchmark keeps running at once.
const activePlans = 100_000

// BenchmarkNotifyDueTick times one pass of the notice scheduler, a minute
// after the last, on the scale data set with 100,000 plans running (their
// ends spread over the next 30 days, so a minute brings a few due), and
// logs the query plans of its two lookups:
//
//	go test ./handlers -run '^$' -bench NotifyDueTick -benchtime 200x
func BenchmarkNotifyDueTick(b *testing.B) {
	app := portaltest.StartWith(b, portaltest.Options{DB: demotest.ScaleDB(b, 1_000_000)})
	ctx := context.Background()
	now := app.Clock.Now().UTC()
	// The scale data set's plans started and ended over two years; here a
	// hundred thousand of them are running now, with data left.
	if _, err := app.Raw.Exec(`UPDATE esim_plans SET state = 'active', reminded = 0, used_bytes = 0, ended_at = NULL,
			activated_at = strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '-' || (id % 30) || ' days'),
			expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '+' || (30 * 86400 - (id % 30) * 86400 - (id % 86400)) || ' seconds')
		WHERE id IN (SELECT id FROM esim_plans ORDER BY id DESC LIMIT ?2)`, now.Format("2006-01-02T15:04:05.000Z"), activePlans); err != nil {
		b.Fatal(err)
	}
	if _, err := app.Store.NotifyDue(ctx); err != nil { // the catch-up of a first start
		b.Fatal(err)
	}
	for _, q := range []string{
		`SELECT id, iccid FROM esim_plans INDEXED BY esim_plans_to_remind WHERE state = 'active' AND reminded = 0 AND expires_at <= ? ORDER BY expires_at LIMIT 500`,
		`SELECT id, iccid FROM esim_plans INDEXED BY esim_plans_to_end WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at LIMIT 500`,
	} {
		rows, err := app.Raw.Query(`EXPLAIN QUERY PLAN `+q, now.Format(time.RFC3339))
		if err != nil {
			b.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		b.Logf("query plan: %s", strings.Join(plan, "; "))
	}
	var took []time.Duration
	queued := 0
	b.ResetTimer()
	for b.Loop() {
		app.Clock.Advance(time.Minute)
		start := time.Now()
		n, err := app.Store.NotifyDue(ctx)
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
		queued += n
	}
	b.StopTimer()
	demotest.Timings(took).Report(b)
	b.ReportMetric(float64(queued)/float64(len(took)), "notices/tick")
}
