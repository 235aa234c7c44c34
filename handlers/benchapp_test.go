package handlers_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// Sizes of the benchmark's data set: a carrier's worth of eligible
// subscribers, and more free eSIMs than they can take, so neither the
// allowance nor the stock ever refuses an Add line.
const (
	benchClients     = 16
	benchSubscribers = 20_000
	benchSpareStock  = 5_000
)

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
