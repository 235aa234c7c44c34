package handlers_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/demo"
	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/handlers"
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
func BenchmarkAddLineHTTP(b *testing.B) {
	app := newBenchApp(b, max(b.N, benchSubscribers))
	agents := make([]*benchAgent, benchClients)
	var wg sync.WaitGroup
	errs := make([]error, benchClients)
	for i := range agents {
		wg.Go(func() { agents[i], errs[i] = app.signIn() })
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
				if err := a.addLine(id, app.planID); err != nil {
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
	all := slices.Concat(latencies...)
	slices.Sort(all)
	b.ReportMetric(float64(ok.Load())/elapsed.Seconds(), "addlines/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")

	// Every 303 must stand for an eSIM with its plan and its two emails.
	var lines, plans, mails int
	err := app.raw.QueryRow(`SELECT
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

// benchApp is the portal served by httptest on a seeded database file with
// the benchmark's subscribers and stock added.
type benchApp struct {
	url         string
	raw         *sql.DB
	planID      int64
	subscribers []int64 // eligible, without a line yet, in id order
	transport   *http.Transport
}

func newBenchApp(b *testing.B, subscribers int) *benchApp {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	store, err := db.Open(ctx, path)
	if err != nil {
		b.Fatalf("open store: %v", err)
	}
	b.Cleanup(func() { store.Close() })
	store.Mail = emails.Renderer{Brand: "Test Carrier"}
	if _, err := demo.Seed(ctx, store); err != nil {
		b.Fatalf("seed demo data: %v", err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatalf("open raw connection: %v", err)
	}
	b.Cleanup(func() { raw.Close() })
	app := &benchApp{raw: raw}
	if app.subscribers, app.planID, err = stockBench(ctx, raw, subscribers, subscribers+benchSpareStock); err != nil {
		b.Fatalf("add subscribers and stock: %v", err)
	}

	key := make([]byte, 32)
	rand.Read(key)
	h := handlers.Handlers{
		Store:      store,
		Sessions:   store.NewSessionStore(key, false),
		Log:        slog.New(slog.DiscardHandler),
		CookieName: "esim_session",
		MailHeld:   true,
	}
	srv := httptest.NewServer(handlers.New(h).Routes())
	b.Cleanup(srv.Close)
	app.url = srv.URL
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

// benchAgent is one signed-in agent's browser.
type benchAgent struct {
	base string
	hc   *http.Client
	csrf string
}

// signIn signs in the demo agent in a browser of its own.
func (app *benchApp) signIn() (*benchAgent, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	a := &benchAgent{base: app.url, hc: &http.Client{
		Jar:           jar,
		Transport:     app.transport,
		Timeout:       time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	token, err := a.csrfToken("/login")
	if err != nil {
		return nil, err
	}
	r, err := a.post("/login", url.Values{"_csrf": {token}, "email": {demo.AgentEmail}, "password": {demo.AgentPassword}})
	if err != nil {
		return nil, err
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in: status %d, want 303", r.StatusCode)
	}
	// The CSRF token is tied to the browser's csrf cookie, not to a form:
	// one read serves every later submit.
	if a.csrf, err = a.csrfToken("/subscribers"); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *benchAgent) csrfToken(path string) (string, error) {
	r, err := a.hc.Get(a.base + path)
	if err != nil {
		return "", err
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d", path, r.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(r.Body)
	if err != nil {
		return "", err
	}
	token := doc.Find(`input[name="_csrf"]`).First().AttrOr("value", "")
	if token == "" {
		return "", fmt.Errorf("GET %s: no _csrf input", path)
	}
	return token, nil
}

func (a *benchAgent) post(path string, form url.Values, headers ...string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, a.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return a.hc.Do(req)
}

// addLine submits the Add line form as HTMX does, with a fresh one-time
// token, and checks that it sent the browser to the subscriber's profile.
func (a *benchAgent) addLine(subscriberID, planID int64) error {
	token := make([]byte, 18)
	rand.Read(token)
	path := fmt.Sprintf("/subscribers/%d/lines", subscriberID)
	r, err := a.post(path, url.Values{
		"_csrf":     {a.csrf},
		"token":     {base64.RawURLEncoding.EncodeToString(token)},
		"line_name": {"France"},
		"plan":      {strconv.FormatInt(planID, 10)},
	}, "HX-Request", "true")
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return fmt.Errorf("POST %s: read body: %w", path, err)
	}
	profile := fmt.Sprintf("/subscribers/%d", subscriberID)
	switch {
	case r.StatusCode == http.StatusOK && r.Header.Get("HX-Redirect") == profile:
	case r.StatusCode == http.StatusSeeOther && r.Header.Get("Location") == profile:
	default:
		return fmt.Errorf("POST %s: status %d, HX-Redirect %q, Location %q; want the profile %s; body: %.300s",
			path, r.StatusCode, r.Header.Get("HX-Redirect"), r.Header.Get("Location"), profile, body)
	}
	return nil
}
