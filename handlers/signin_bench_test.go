package handlers_test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/demo/demotest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// floodClients is how many addresses flood the sign-in at once.
const floodClients = 60

// BenchmarkPageDuringSignInFlood measures an agent's subscriber page while
// 60 clients send sign-ins with made-up emails, each from a new address so
// that the throttle refuses none and every one costs a password check at
// the production bcrypt cost, as the portal runs: half the CPUs check
// passwords, a sign-in waits 2 s for its turn, then is answered 503. Besides
// the page's p50/p95 it reports the flood's checked and refused (503)
// sign-ins per second, and how long a team lead's own sign-in took in it.
func BenchmarkPageDuringSignInFlood(b *testing.B) {
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	app := portaltest.StartWith(b, portaltest.Options{Configure: func(h *handlers.Handlers) {
		h.Proxies = []*net.IPNet{loopback}
	}})
	transport := &http.Transport{MaxIdleConnsPerHost: 2 * floodClients}
	agent, err := portaltest.SignedIn(app.URL, transport, demo.AgentEmail, demo.AgentPassword)
	if err != nil {
		b.Fatal(err)
	}
	// The demo's hashes are cheap; a made-up email is checked against
	// one made at this cost, as in production.
	app.Store.PasswordCost = db.DefaultPasswordCost
	page := fmt.Sprintf("/subscribers/%d", app.Subscriber(b, "AC-100358").ID)

	stop := make(chan struct{})
	var checked, busy, next atomic.Int64
	var wg sync.WaitGroup
	for range floodClients {
		c := portaltest.NewClient(app.URL, transport)
		token := c.CSRFToken(b, "/login")
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := next.Add(1)
				from := fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)
				r, err := c.Send(http.MethodPost, "/login", url.Values{"_csrf": {token}, "email": {fmt.Sprintf("flood-%d@example.com", n)},
					"password": {"not the password"}}, "X-Forwarded-For", from)
				switch {
				case err != nil:
				case r.Status == http.StatusServiceUnavailable:
					busy.Add(1)
				default:
					checked.Add(1)
				}
			}
		})
	}
	// Let the flood fill the portal before measuring.
	for checked.Load()+busy.Load() < floodClients {
		agent.Get(b, page)
	}
	start := time.Now()
	var took demotest.Timings
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if r := agent.Get(b, page); r.Status != http.StatusOK {
			b.Fatalf("the agent's page: status %d", r.Status)
		}
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	elapsed := time.Since(start).Seconds()
	signIn := portaltest.NewClient(app.URL, transport)
	t0 := time.Now()
	status := signInFrom(b, signIn, "198.51.100.20", demo.LeadEmail, demo.LeadPassword)
	signInTook := time.Since(t0)
	close(stop)
	wg.Wait()
	took.Report(b)
	b.ReportMetric(float64(checked.Load())/elapsed, "checked/s")
	b.ReportMetric(float64(busy.Load())/elapsed, "busy/s")
	b.ReportMetric(signInTook.Seconds()*1000, "own-sign-in-ms")
	b.Logf("the team lead's sign-in in the flood: status %d after %s", status, signInTook.Round(time.Millisecond))
}
