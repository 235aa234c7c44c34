//go:build unix

package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/demo/demotest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/views"
)

// BenchmarkESIMListHTTP serves the List's first page to a signed-in agent
// through the whole stack (router, session, CSRF, the List's queries, the
// stock panel, rendering, the request log as the program writes it), and,
// in turns with it, the same page's bytes from an Echo handler that only
// writes them from memory: the ceiling of any page on this machine. It
// reports both rates and their ratio, at 4 and 16 connections, with and
// without compression (the in-memory page is always sent as it is).
//
// A third target renders the same page per request from the List's data
// read once, with no SQL, session or middleware: the ceiling of any page
// whose templates are rendered per request (sent as it is, too). The List's
// rate over its is of-rendered, and the same by CPU time cpu-of-rendered.
func BenchmarkESIMListHTTP(b *testing.B) {
	lowStock := 0
	app := portaltest.StartWith(b, portaltest.Options{DB: demotest.ScaleDB(b, 1_000_000), Configure: func(h *handlers.Handlers) {
		h.Log = slog.New(slog.NewJSONHandler(io.Discard, nil)) // what the program logs, at INFO
		lowStock = h.LowStock
	}})
	agent := app.Agent(b)
	page := agent.Get(b, "/esims")
	if page.Status != http.StatusOK || !bytes.Contains(page.Body, []byte(`data-testid="esim-list"`)) {
		b.Fatalf("GET /esims: %d", page.Status)
	}
	e := echo.New()
	e.GET("/esims", func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, page.Body) })
	view, pageCtx := keptList(b, app, lowStock)
	e.GET("/rendered", func(c echo.Context) error {
		var out bytes.Buffer
		if err := views.ESIMList(view).Render(pageCtx, &out); err != nil {
			return err
		}
		return c.HTMLBlob(http.StatusOK, out.Bytes())
	})
	bare := httptest.NewServer(e)
	defer bare.Close()

	for _, conns := range []int{4, 16} {
		for _, encoding := range []string{"identity", "gzip, deflate, br"} {
			name := fmt.Sprintf("conns=%d/%s", conns, map[string]string{"identity": "plain"}[encoding])
			if encoding != "identity" {
				name = fmt.Sprintf("conns=%d/compressed", conns)
			}
			b.Run(name, func(b *testing.B) {
				transport := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
				defer transport.CloseIdleConnections()
				portal := &loadTarget{url: app.URL + "/esims", transport: transport, cookies: agent.HTTP.Jar.Cookies(mustURL(b, app.URL)), encoding: encoding}
				ceiling := &loadTarget{url: bare.URL + "/esims", transport: transport, encoding: "identity"}
				rendered := &loadTarget{url: bare.URL + "/rendered", transport: transport, encoding: "identity"}
				// Turns of a few hundred requests each, so that both see
				// the same machine, shared as it is with others.
				const turn = 200
				for done := 0; done < b.N; done += turn {
					n := min(turn, b.N-done)
					if err := portal.run(n, conns); err != nil {
						b.Fatal(err)
					}
					if err := ceiling.run(n, conns); err != nil {
						b.Fatal(err)
					}
					if err := rendered.run(n, conns); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(portal.rate(), "list-req/s")
				b.ReportMetric(ceiling.rate(), "memory-req/s")
				b.ReportMetric(portal.rate()/ceiling.rate(), "ratio")
				b.ReportMetric(rendered.rate()/ceiling.rate(), "rendered-ratio")
				// The List against its own templates rendered per request:
				// what the queries, the session and the middleware cost.
				b.ReportMetric(portal.rate()/rendered.rate(), "of-rendered")
				b.ReportMetric(rendered.cpuPerRequest()/portal.cpuPerRequest(), "cpu-of-rendered")
				// The same ratio by the CPU time each request cost the
				// process (server and client), which other work on the
				// machine changes less than it changes the rates.
				b.ReportMetric(portal.cpuPerRequest(), "list-cpu-ms/req")
				b.ReportMetric(ceiling.cpuPerRequest(), "memory-cpu-ms/req")
				b.ReportMetric(ceiling.cpuPerRequest()/portal.cpuPerRequest(), "cpu-ratio")
				b.ReportMetric(portal.percentile(0.50), "p50-ms")
				b.ReportMetric(portal.percentile(0.95), "p95-ms")
				b.ReportMetric(float64(portal.bytes)/float64(portal.requests)/1000, "KB/page")
			})
		}
	}
}

// keptList is the List's first page as the agent sees it, read once, and
// the context its templates are rendered in.
func keptList(b *testing.B, app *portaltest.Portal, lowStock int) (views.ESIMListView, context.Context) {
	ctx := context.Background()
	f, _ := db.ParseListFilter(db.ListFilterInput{})
	v := views.ESIMListView{Now: app.Store.Now(), LowStock: lowStock}
	var err error
	if v.Page, err = app.Store.ESIMList(ctx, f, "", ""); err == nil {
		if v.Allocators, err = app.Store.Logins(ctx); err == nil {
			v.Stock, err = app.Store.StockSummary(ctx)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	i := slices.IndexFunc(v.Allocators, func(l db.Login) bool { return l.Email == demo.AgentEmail })
	if i < 0 {
		b.Fatal("no demo agent")
	}
	agent := v.Allocators[i]
	return v, views.WithPage(ctx, views.Page{Login: &agent, CSRF: "a-token-as-long-as-echos-own-32b", Nav: "esims"})
}

// loadTarget sends GETs to one URL from a number of connections at once and
// keeps their time.
type loadTarget struct {
	url       string
	transport *http.Transport
	cookies   []*http.Cookie
	encoding  string

	elapsed   time.Duration
	cpu       time.Duration // user and system time of the process
	requests  int
	bytes     int64
	latencies []time.Duration
}

// run sends n requests over conns connections and waits for every answer.
func (t *loadTarget) run(n, conns int) error {
	client := &http.Client{Transport: t.transport}
	work := make(chan struct{}, n)
	for range n {
		work <- struct{}{}
	}
	close(work)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start, cpuStart := time.Now(), demotest.CPU()
	for range conns {
		wg.Go(func() {
			for range work {
				req, _ := http.NewRequest(http.MethodGet, t.url, nil)
				req.Header.Set("Accept-Encoding", t.encoding)
				for _, c := range t.cookies {
					req.AddCookie(c)
				}
				began := time.Now()
				res, err := client.Do(req)
				if err != nil {
					mu.Lock()
					firstErr = cmpOrErr(firstErr, err)
					mu.Unlock()
					return
				}
				size, _ := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				took := time.Since(began)
				mu.Lock()
				if res.StatusCode != http.StatusOK {
					firstErr = cmpOrErr(firstErr, fmt.Errorf("GET %s: %s", t.url, res.Status))
				}
				t.latencies = append(t.latencies, took)
				t.bytes += size
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.elapsed += time.Since(start)
	t.cpu += demotest.CPU() - cpuStart
	t.requests += n
	return firstErr
}

func (t *loadTarget) cpuPerRequest() float64 {
	return float64(t.cpu) / float64(t.requests) / float64(time.Millisecond)
}

func (t *loadTarget) rate() float64 { return float64(t.requests) / t.elapsed.Seconds() }

func (t *loadTarget) percentile(p float64) float64 { return demotest.Timings(t.latencies).Ms(p) }

func cmpOrErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func mustURL(b *testing.B, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	return u
}
