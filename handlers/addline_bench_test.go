//go:build unix

package handlers_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/demo/demotest"
	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/smdp/smdptest"
)

// BenchmarkAddLineHTTP measures Add lines through the whole stack: router,
// sessions, CSRF, the IMMEDIATE transaction with its fsync, the two emails,
// and the redirect with its flash, from 16 agents at once. Emails are held
// (no mail server), as the worker would compete for the writer.
//
// It runs in turns with BenchmarkAddLineCeiling's transaction on a copy of
// the same database, so that both see the same machine, and reports both
// rates, their ratio, and the CPU time each cost (cpu-ratio), which other
// work on a shared machine changes less than the rates:
//
//	go test ./handlers -run '^$' -bench 'AddLineHTTP$' -benchtime 3000x
func BenchmarkAddLineHTTP(b *testing.B) { benchAddLineHTTP(b, portaltest.Options{}, true) }

// BenchmarkAddLineHTTPSMDP is BenchmarkAddLineHTTP with the fake SM-DP+ on
// loopback: the agents do not wait for it, so the rate should stay within
// 0.8× of the one without. It also reports the time from each Add line to
// its QR email in the outbox, the SM-DP+'s two calls included. It runs
// without the ceiling's turns, in which the provisioning worker would go on
// with its orders.
func BenchmarkAddLineHTTPSMDP(b *testing.B) {
	benchAddLineHTTP(b, portaltest.Options{SMDP: smdptest.StartTB(b)}, false)
}

// BenchmarkAddLineCeiling is the most Add lines this machine can do: the
// same allocation as plain SQL through the same driver at the same
// durability (synchronous=FULL), one transaction after another from one
// writer, with nothing else in the process (allocationCeiling).
func BenchmarkAddLineCeiling(b *testing.B) {
	app := newBenchApp(b, max(b.N, benchSubscribers), portaltest.Options{})
	ceiling := newAllocationCeiling(b, app)
	b.ResetTimer()
	if err := ceiling.run(b.N); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(ceiling.rate(), "allocations/s")
	b.ReportMetric(ceiling.cpuPerOp(), "cpu-ms/op")
}

// addLineTurn is how many Add lines, then ceiling transactions, each turn
// of BenchmarkAddLineHTTP makes.
const addLineTurn = 300

func benchAddLineHTTP(b *testing.B, opts portaltest.Options, withCeiling bool) {
	app := newBenchApp(b, max(b.N, benchSubscribers), opts)
	var ceiling *allocationCeiling
	if withCeiling {
		ceiling = newAllocationCeiling(b, app)
	}
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

	var ok atomic.Int64
	var elapsed, cpu time.Duration
	latencies := make([][]time.Duration, benchClients)
	failures := make(chan error, benchClients)
	turn := b.N
	if ceiling != nil {
		turn = addLineTurn
	}
	b.ResetTimer()
	for done := 0; done < b.N; done += turn {
		n := min(turn, b.N-done)
		work := make(chan int64, n)
		for _, id := range app.subscribers[done : done+n] {
			work <- id
		}
		close(work)
		b.StartTimer()
		start, cpuStart := time.Now(), demotest.CPU()
		for i, a := range agents {
			wg.Go(func() {
				for id := range work {
					began := time.Now()
					if err := addLine(a, id, app.planID); err != nil {
						failures <- err
						return
					}
					latencies[i] = append(latencies[i], time.Since(began))
					ok.Add(1)
				}
			})
		}
		wg.Wait()
		elapsed, cpu = elapsed+time.Since(start), cpu+demotest.CPU()-cpuStart
		b.StopTimer()
		if len(failures) > 0 {
			break
		}
		if ceiling != nil {
			if err := ceiling.run(n); err != nil {
				b.Fatal(err)
			}
		}
	}
	close(failures)
	for err := range failures {
		b.Error(err)
	}
	if n := ok.Load(); n != int64(b.N) {
		b.Fatalf("%d of %d Add lines succeeded", n, b.N)
	}
	all := demotest.Timings(slices.Concat(latencies...))
	rate, cpuPerOp := float64(b.N)/elapsed.Seconds(), cpu.Seconds()*1000/float64(b.N)
	b.ReportMetric(rate, "addlines/s")
	b.ReportMetric(cpuPerOp, "cpu-ms/op")
	b.ReportMetric(all.Ms(0.50), "p50-ms")
	b.ReportMetric(all.Ms(0.99), "p99-ms")
	if ceiling != nil {
		b.ReportMetric(ceiling.rate(), "ceiling/s")
		b.ReportMetric(rate/ceiling.rate(), "ratio")
		b.ReportMetric(ceiling.cpuPerOp()/cpuPerOp, "cpu-ratio")
	}

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

// allocationCeiling is Add line's transaction as plain SQL, on a copy of
// the benchmark's database taken before its first Add line, through the
// same driver at the same durability as the store's writer: pick the free
// eSIM of the plan's profile that has waited longest, allocate it, put the
// plan on it, queue two emails and write the audit entry, one transaction
// after another from one writer. Nothing of the portal runs in it (no
// HTTP, session, checks of the business rules, or group commit), so no
// Add line can be faster: BenchmarkAddLineHTTP reports its rate as a
// ratio of this one.
type allocationCeiling struct {
	db          *sql.DB
	profile     int
	planID      int64
	subscribers []int64
	next        int
	agent       int64    // the login that allocates
	emails      []string // an email of each kind, as the outbox holds it

	elapsed, cpu time.Duration
	done         int
}

// The store's pragmas (db.Open): the ceiling pays for the same durability.
const ceilingDSN = "?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(FULL)&_pragma=cache_size(-65536)&_txlock=immediate"

func newAllocationCeiling(b *testing.B, app *benchApp) *allocationCeiling {
	b.Helper()
	path := filepath.Join(b.TempDir(), "ceiling.db")
	if _, err := app.Raw.Exec(`VACUUM INTO ?`, path); err != nil {
		b.Fatal(err)
	}
	conn, err := sql.Open("sqlite", "file:"+path+ceilingDSN)
	if err != nil {
		b.Fatal(err)
	}
	conn.SetMaxOpenConns(1)
	b.Cleanup(func() { conn.Close() })
	var sync int
	var journal string
	if err := conn.QueryRow(`SELECT synchronous, journal_mode FROM pragma_synchronous, pragma_journal_mode`).Scan(&sync, &journal); err != nil {
		b.Fatal(err)
	}
	if sync != 2 || journal != "wal" {
		b.Fatalf("the ceiling's connection has synchronous=%d, journal_mode=%s; want 2 (FULL) and wal, as the store's", sync, journal)
	}
	c := &allocationCeiling{db: conn, planID: app.planID, subscribers: app.subscribers}
	if err := conn.QueryRow(`SELECT imsi_profile FROM plans WHERE id = ?`, app.planID).Scan(&c.profile); err != nil {
		b.Fatal(err)
	}
	if err := conn.QueryRow(`SELECT id FROM logins WHERE email = ?`, demo.AgentEmail).Scan(&c.agent); err != nil {
		b.Fatal(err)
	}
	// The emails are the size of the demo data's: what each row writes.
	for _, kind := range []string{"qr", "confirmation"} {
		var body string
		if err := conn.QueryRow(`SELECT subject || text_body || html_body FROM outbox WHERE kind = ? ORDER BY id DESC LIMIT 1`, kind).Scan(&body); err != nil {
			b.Fatalf("a %s email of the demo data: %v", kind, err)
		}
		c.emails = append(c.emails, body)
	}
	return c
}

// run makes n allocations, one transaction each, labelled in a CPU profile
// (go tool pprof -tagignore target=ceiling leaves them out).
func (c *allocationCeiling) run(n int) (err error) {
	start, cpuStart := time.Now(), demotest.CPU()
	pprof.Do(context.Background(), pprof.Labels("target", "ceiling"), func(ctx context.Context) {
		for range n {
			if err = c.allocate(ctx); err != nil {
				return
			}
		}
	})
	c.elapsed, c.cpu, c.done = c.elapsed+time.Since(start), c.cpu+demotest.CPU()-cpuStart, c.done+n
	return err
}

func (c *allocationCeiling) allocate(ctx context.Context) error {
	if c.next == len(c.subscribers) {
		return fmt.Errorf("the ceiling ran out of subscribers after %d allocations", c.next)
	}
	subscriber := c.subscribers[c.next]
	c.next++
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var iccid string
	if err := tx.QueryRowContext(ctx, `SELECT iccid FROM esims WHERE state = 'free' AND imsi_profile = ? ORDER BY stocked_at, iccid LIMIT 1`,
		c.profile).Scan(&iccid); err != nil {
		return fmt.Errorf("oldest free eSIM: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE esims SET state = 'allocated', subscriber_id = ?, line_name = 'France', allocated_at = ?, allocated_by = ?
		WHERE iccid = ? AND state = 'free'`, subscriber, now, c.agent, iccid); err != nil {
		return fmt.Errorf("allocate: %w", err)
	}
	var linePlan int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO esim_plans (id, order_number, iccid, plan_id, state, added_at, added_by, data_bytes, price_cents, currency)
		SELECT n, printf('ORD-2026-%06d', n), ?, p.id, 'queued', ?, ?, p.data_mb * 1000000, p.price_cents, p.currency
		FROM plans p, (SELECT coalesce(max(id), 0) + 1 AS n FROM esim_plans) WHERE p.id = ? RETURNING id`, iccid, now, c.agent, c.planID).Scan(&linePlan); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	for i, kind := range []string{"qr", "confirmation"} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (kind, subscriber_id, iccid, esim_plan_id, to_address, subject, text_body, html_body,
			message_id, next_attempt_at, queued_at) VALUES (?, ?, ?, ?, 'ceiling@example.com', 'Subject', ?, '', ?, ?, ?)`,
			kind, subscriber, iccid, linePlan, c.emails[i], fmt.Sprintf("<%s-%d@ceiling>", kind, linePlan), now, now); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, login_id, action, subscriber_id, iccid, detail) VALUES (?, ?, 'add_line', ?, ?, ?)`,
		now, c.agent, subscriber, iccid, fmt.Sprintf("line \"France\", plan %d, order %d", c.planID, linePlan)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return tx.Commit()
}

func (c *allocationCeiling) rate() float64 { return float64(c.done) / c.elapsed.Seconds() }

func (c *allocationCeiling) cpuPerOp() float64 { return c.cpu.Seconds() * 1000 / float64(c.done) }
