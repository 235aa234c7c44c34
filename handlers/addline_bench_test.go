package handlers_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/demo"
	"github.com/carrier/esim-admin/db/demo/demotest"
	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/smdp/smdptest"
)

// Sizes of the benchmark's data set: a carrier's worth of eligible
// subscribers, and more free eSIMs than they can take, so neither the
// allowance nor the stock ever refuses an Add line.
const (
	benchClients     = 16
	benchSubscribers = 20_000
	benchSpareStock  = 5_000
)

// BenchmarkAddLineHTTP measures Add lines through the whole stack: router,
// sessions, CSRF, the IMMEDIATE transaction with its fsync, the two rendered
// emails, and the redirect with its flash, from 16 agents at once. Emails
// are held (no mail server), as the worker would compete for the writer.
func BenchmarkAddLineHTTP(b *testing.B) { benchAddLineHTTP(b, portaltest.Options{}) }

// BenchmarkAddLineHTTPSMDP is BenchmarkAddLineHTTP with the fake SM-DP+ on
// loopback: the agents do not wait for it, so the rate should stay within
// 0.8× of the one without. It also reports the time from each Add line to
// its QR email in the outbox, the SM-DP+'s two calls included.
func BenchmarkAddLineHTTPSMDP(b *testing.B) {
	benchAddLineHTTP(b, portaltest.Options{SMDP: smdptest.StartTB(b)})
}

func benchAddLineHTTP(b *testing.B, opts portaltest.Options) {
	app := newBenchApp(b, max(b.N, benchSubscribers), opts)
	agents := make([]*portaltest.Client, benchClients)
	var wg sync.WaitGroup
	errs := make([]error, benchClients)
	for i := range agents {
		wg.Go(func() {
			agents[i], errs[i] = portaltest.SignedIn(app.URL, app.transport, demo.AgentEmail, demo.AgentPassword)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}

	work := make(chan int64, b.N)
	for _, id := range app.subscribers[:b.N] {
		work <- id
	}
	close(work)
	var ok atomic.Int64
	latencies := make([][]time.Duration, benchClients)
	failures := make(chan error, benchClients)
	b.ResetTimer()
	for i, a := range agents {
		wg.Go(func() {
			for id := range work {
				start := time.Now()
				if err := addLine(a, id, app.planID); err != nil {
					failures <- err
					return
				}
				latencies[i] = append(latencies[i], time.Since(start))
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := b.Elapsed()
	b.StopTimer()
	close(failures)
	for err := range failures {
		b.Error(err)
	}
	if n := ok.Load(); n != int64(b.N) {
		b.Fatalf("%d of %d Add lines succeeded", n, b.N)
	}
	all := demotest.Timings(slices.Concat(latencies...))
	b.ReportMetric(float64(ok.Load())/elapsed.Seconds(), "addlines/s")
	b.ReportMetric(all.Ms(0.50), "p50-ms")
	b.ReportMetric(all.Ms(0.99), "p99-ms")

	if opts.SMDP != nil {
		reportToQREmail(b, app)
	}
	// Every 303 must stand for an eSIM with its plan and its two emails.
	var lines, plans, mails int
	err := app.Raw.QueryRow(`SELECT
		(SELECT count(*) FROM esims WHERE state = 'allocated' AND subscriber_id >= ?1),
		(SELECT count(*) FROM esim_plans p JOIN esims e USING (iccid) WHERE e.subscriber_id >= ?1),
		(SELECT count(*) FROM outbox WHERE subscriber_id >= ?1)`, app.subscribers[0]).Scan(&lines, &plans, &mails)
	if err != nil {
		b.Fatal(err)
	}
	if lines != b.N || plans != b.N || mails != 2*b.N {
		b.Fatalf("after %d Add lines: %d lines, %d plans, %d emails queued; want %d, %d, %d",
			b.N, lines, plans, mails, b.N, b.N, 2*b.N)
	}
}

// reportToQREmail waits for the SM-DP+ to release every profile, then
// reports the time from each Add line to its QR email in the outbox.
func reportToQREmail(b *testing.B, app *benchApp) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for app.Count(b, `SELECT count(*) FROM smdp_orders WHERE state = 'queued'`) > 0 {
		if time.Now().After(deadline) {
			b.Fatal("the SM-DP+ orders are still queued after 5 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	rows, err := app.Raw.Query(`SELECT (julianday(o.queued_at) - julianday(e.allocated_at)) * 86400000 FROM outbox o JOIN esims e USING (iccid)
		WHERE o.kind = 'qr' AND e.subscriber_id >= ?`, app.subscribers[0])
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var waits []time.Duration
	for rows.Next() {
		var ms float64
		if err := rows.Scan(&ms); err != nil {
			b.Fatal(err)
		}
		waits = append(waits, time.Duration(ms*float64(time.Millisecond)))
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	t := demotest.Timings(waits)
	b.ReportMetric(t.Ms(0.50), "to-qr-p50-ms")
	b.ReportMetric(t.Ms(0.95), "to-qr-p95-ms")
}

// benchApp is the portal with the benchmark's subscribers and stock added.
type benchApp struct {
	*portaltest.Portal
	planID      int64
	subscribers []int64 // eligible, without a line yet, in id order
	transport   *http.Transport
}

func newBenchApp(b testing.TB, subscribers int, opts portaltest.Options) *benchApp {
	b.Helper()
	app := &benchApp{Portal: portaltest.StartWith(b, opts)}
	var err error
	if app.subscribers, app.planID, err = stockBench(context.Background(), app.Raw, subscribers, subscribers+benchSpareStock); err != nil {
		b.Fatalf("add subscribers and stock: %v", err)
	}
	// One keep-alive connection per agent: the default of 2 idle
	// connections per host would measure TCP handshakes instead.
	app.transport = &http.Transport{MaxIdleConnsPerHost: benchClients, MaxConnsPerHost: benchClients}
	b.Cleanup(app.transport.CloseIdleConnections)
	return app
}

// stockBench adds n subscribers, each with an Unlimited All plan (one
// complimentary eSIM), and free eSIMs of the Euro 1 plan's profile, in one
// transaction.
func stockBench(ctx context.Context, raw *sql.DB, n, esims int) ([]int64, int64, error) {
	var planID int64
	var profile int
	if err := raw.QueryRowContext(ctx, `SELECT id, imsi_profile FROM plans WHERE code = 'EURO1'`).Scan(&planID, &profile); err != nil {
		return nil, 0, err
	}
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	sub, err := tx.PrepareContext(ctx, `INSERT INTO subscribers (account_number, name, email, phone, created_at) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, 0, err
	}
	dom, err := tx.PrepareContext(ctx, `INSERT INTO domestic_plans (subscriber_id, name, kind, lines, since) VALUES (?, 'Unlimited All', 'unlimited_all', 1, ?)`)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]int64, 0, n)
	for i := range n {
		res, err := sub.ExecContext(ctx, fmt.Sprintf("BN-%06d", i), fmt.Sprintf("Bench Subscriber %d", i),
			fmt.Sprintf("bench%d@example.com", i), fmt.Sprintf("+1555%07d", i), now)
		if err != nil {
			return nil, 0, err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return nil, 0, err
		}
		if _, err := dom.ExecContext(ctx, id, now); err != nil {
			return nil, 0, err
		}
		ids = append(ids, id)
	}
	esim, err := tx.PrepareContext(ctx, `INSERT INTO esims (iccid, imsi_profile, smdp_address, matching_id, state, stocked_at)
		VALUES (?, ?, 'smdp-eu.bench.example.com', ?, 'free', ?)`)
	if err != nil {
		return nil, 0, err
	}
	for i := range esims {
		body := fmt.Sprintf("89990%013d", i)
		if _, err := esim.ExecContext(ctx, body+string(db.LuhnDigit(body)), profile, fmt.Sprintf("BN-%08d", i), now); err != nil {
			return nil, 0, err
		}
	}
	return ids, planID, tx.Commit()
}

// addLine submits the Add line form as HTMX does, with a fresh one-time
// token, and checks that it sent the browser to the subscriber's profile.
func addLine(a *portaltest.Client, subscriberID, planID int64) error {
	token := make([]byte, 18)
	rand.Read(token)
	path := fmt.Sprintf("/subscribers/%d/lines", subscriberID)
	r, err := a.Send(http.MethodPost, path, url.Values{
		"_csrf":     {a.CSRF},
		"token":     {base64.RawURLEncoding.EncodeToString(token)},
		"line_name": {"France"},
		"plan":      {strconv.FormatInt(planID, 10)},
	}, "HX-Request", "true")
	if err != nil {
		return err
	}
	profile := fmt.Sprintf("/subscribers/%d", subscriberID)
	switch {
	case r.Status == http.StatusOK && r.Header.Get("HX-Redirect") == profile:
	case r.Status == http.StatusSeeOther && r.Location() == profile:
	default:
		return fmt.Errorf("POST %s: status %d, HX-Redirect %q, Location %q; want the profile %s; body: %.300s",
			path, r.Status, r.Header.Get("HX-Redirect"), r.Location(), profile, r.Body)
	}
	return nil
}
