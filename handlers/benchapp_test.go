package handlers_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"testing"
	"time"

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
	e, err := portaltest.StockEligible(context.Background(), app.Raw, "BN", subscribers, subscribers+benchSpareStock, time.Now())
	if err != nil {
		b.Fatalf("add subscribers and stock: %v", err)
	}
	app.subscribers, app.planID = e.Subscribers, e.PlanID
	// One keep-alive connection per agent: the default of 2 idle
	// connections per host would measure TCP handshakes instead.
	app.transport = &http.Transport{MaxIdleConnsPerHost: benchClients, MaxConnsPerHost: benchClients}
	b.Cleanup(app.transport.CloseIdleConnections)
	return app
}

// addLine submits the Add line form as HTMX does, with a fresh one-time
// token, and checks that it sent the browser to the subscriber's profile.
func addLine(a *portaltest.Client, subscriberID, planID int64) error {
	r, err := a.PostAddLine(subscriberID, planID, rand.Text(), "HX-Request", "true")
	if err != nil {
		return err
	}
	profile := fmt.Sprintf("/subscribers/%d", subscriberID)
	switch {
	case r.Status == http.StatusOK && r.Header.Get("HX-Redirect") == profile:
	case r.Status == http.StatusSeeOther && r.Location() == profile:
	default:
		return fmt.Errorf("Add line for %d: status %d, HX-Redirect %q, Location %q; want the profile %s; body: %.300s",
			subscriberID, r.Status, r.Header.Get("HX-Redirect"), r.Location(), profile, r.Body)
	}
	return nil
}
