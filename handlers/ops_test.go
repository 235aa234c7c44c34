package handlers_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/smdp/smdptest"
)

// health GETs a health address, with headers as name, value pairs, and
// reads its JSON.
func health(t *testing.T, c *portaltest.Client, path string, headers ...string) (int, map[string]any) {
	t.Helper()
	r := c.Get(t, path, headers...)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: Content-Type %q, want JSON", path, ct)
	}
	if r.Header.Get("Set-Cookie") != "" {
		t.Errorf("GET %s sets a cookie: %q", path, r.Header.Get("Set-Cookie"))
	}
	var out map[string]any
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, r.Body)
	}
	return r.Status, out
}

// readyChecks GETs /readyz with the metrics token and returns its status,
// its answer and what it checked.
func readyChecks(t *testing.T, c *portaltest.Client) (int, map[string]any, map[string]string) {
	t.Helper()
	status, body := health(t, c, "/readyz", "Authorization", "Bearer "+testMetricsToken)
	checks := map[string]string{}
	raw, ok := body["checks"].(map[string]any)
	if !ok {
		t.Fatalf("readyz with the metrics token: %d %v, want what it checked", status, body)
	}
	for k, v := range raw {
		checks[k], _ = v.(string)
	}
	return status, body, checks
}

// withMetricsToken sets the portal's metrics token to testMetricsToken.
func withMetricsToken(h *handlers.Handlers) { h.MetricsToken = testMetricsToken }

// onlyStatus reports whether a health answer says nothing but want.
func onlyStatus(body map[string]any, want string) bool {
	return len(body) == 1 && body["status"] == want
}

func TestHealth(t *testing.T) {
	t.Parallel()
	t.Run("HeldMail", func(t *testing.T) {
		app := portaltest.StartWith(t, portaltest.Options{Configure: withMetricsToken})
		c := app.NewClient() // no sign-in
		if status, body := health(t, c, "/healthz"); status != http.StatusOK || body["status"] != "ok" {
			t.Errorf("healthz: %d %v", status, body)
		}
		status, body, checks := readyChecks(t, c)
		if status != http.StatusOK || body["status"] != "ready" || checks["database"] != "ok" ||
			!strings.HasPrefix(checks["schema"], "ok (version ") || !strings.HasPrefix(checks["outbox"], "held") || checks["smdp"] != "off: no SM-DP+" {
			t.Errorf("readyz: %d %v", status, body)
		}
	})
	t.Run("DetailsOnlyWithTheToken", func(t *testing.T) {
		app := portaltest.StartWith(t, portaltest.Options{Configure: withMetricsToken})
		c := app.NewClient()
		for _, auth := range []string{"", "Bearer wrong", "Basic " + testMetricsToken, "Bearer " + testMetricsToken + "x"} {
			if status, body := health(t, c, "/readyz", "Authorization", auth); status != http.StatusOK || !onlyStatus(body, "ready") {
				t.Errorf("readyz with Authorization %q: %d %v, want 200 and only {\"status\": \"ready\"}", auth, status, body)
			}
		}
		// No token set: no caller sees the details.
		if status, body := health(t, portaltest.Start(t).NewClient(), "/readyz", "Authorization", "Bearer "); status != http.StatusOK || !onlyStatus(body, "ready") {
			t.Errorf("readyz of a portal without a metrics token: %d %v, want only the status", status, body)
		}
	})
	// A running worker is ready once it has looked for its work.
	for _, w := range []struct {
		name, check string
		opts        portaltest.Options
	}{
		{"Worker", "outbox", portaltest.Options{Mail: smtptest.Start(t)}},
		{"ProvisioningWorker", "smdp", portaltest.Options{SMDP: smdptest.StartTB(t)}},
	} {
		t.Run(w.name, func(t *testing.T) {
			w.opts.Configure = withMetricsToken
			c := portaltest.StartWith(t, w.opts).NewClient()
			deadline := time.Now().Add(5 * time.Second)
			for {
				status, _, checks := readyChecks(t, c)
				if status == http.StatusOK && checks[w.check] == "ok" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("readyz with a running %s worker: %d %v", w.check, status, checks)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	t.Run("StuckWorker", func(t *testing.T) {
		app := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) {
			withMetricsToken(h)
			h.Outbox = func() emails.Status { return emails.Status{LastRun: time.Now().Add(-2 * time.Minute)} }
		}})
		c := app.NewClient()
		if status, body := health(t, c, "/readyz"); status != http.StatusServiceUnavailable || !onlyStatus(body, "not ready") {
			t.Errorf("readyz without the token, with a worker stuck for 2 minutes: %d %v, want 503 and only the status", status, body)
		}
		status, body, checks := readyChecks(t, c)
		if status != http.StatusServiceUnavailable || body["status"] != "not ready" || !strings.Contains(checks["outbox"], "has not run") {
			t.Errorf("readyz with a worker stuck for 2 minutes: %d %v", status, body)
		}
	})
	t.Run("StuckProvisioningWorker", func(t *testing.T) {
		app := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) {
			withMetricsToken(h)
			h.Provisioning = func() time.Time { return time.Now().Add(-3 * time.Minute) }
		}})
		status, body, checks := readyChecks(t, app.NewClient())
		if status != http.StatusServiceUnavailable || body["status"] != "not ready" || !strings.Contains(checks["smdp"], "has not run") {
			t.Errorf("readyz with an SM-DP+ worker stuck for 3 minutes: %d %v", status, body)
		}
	})
	t.Run("NewerSchema", func(t *testing.T) {
		app := portaltest.StartWith(t, portaltest.Options{Configure: withMetricsToken})
		if _, err := app.Raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, '2030-01-01T00:00:00.000Z')`); err != nil {
			t.Fatal(err)
		}
		c := app.NewClient()
		if status, body := health(t, c, "/readyz"); status != http.StatusServiceUnavailable || !onlyStatus(body, "not ready") {
			t.Errorf("readyz without the token on a database migrated by a newer program: %d %v, want 503 and only the status", status, body)
		}
		if status, body, checks := readyChecks(t, c); status != http.StatusServiceUnavailable || !strings.Contains(checks["schema"], "9999") {
			t.Errorf("readyz on a database migrated by a newer program: %d %v", status, body)
		}
	})
}

// TestSlowMailServer sends 21 QR emails through a mail server that takes one
// of them and never answers: that one waits in its own delivery (the real
// 10 minutes) and goes out once, the 20 others are delivered meanwhile, and
// readiness stays up, saying a delivery waits for the mail server.
func TestSlowMailServer(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	app := portaltest.StartWith(t, portaltest.Options{Mail: smtp, Configure: withMetricsToken})
	type line struct{ iccid, email string }
	var lines []line
	rows, err := app.Raw.Query(`SELECT e.iccid, s.email FROM esims e JOIN subscribers s ON s.id = e.subscriber_id
		WHERE e.state = 'allocated' AND s.status <> 'closed' ORDER BY s.id, e.iccid`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var l line
		if err := rows.Scan(&l.iccid, &l.email); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if err := rows.Close(); err != nil || len(lines) < 2 {
		t.Fatalf("%d lines (%v), want some", len(lines), err)
	}
	// The server never answers the one email to the first subscriber; the
	// others go to the other subscribers' lines, some more than once.
	stuck := lines[0]
	others := slices.DeleteFunc(lines[1:], func(l line) bool { return l.email == stuck.email })
	smtp.HangAfterDataOn(func(r smtptest.Received) bool { return slices.Contains(r.To, stuck.email) })

	c := app.Agent(t)
	csrf := c.CSRFToken(t, "/subscribers")
	// resend queues the line's QR email again and returns its Message-ID.
	resend := func(l line) string {
		t.Helper()
		if r := c.Post(t, "/esims/"+l.iccid+"/resend-qr", url.Values{"_csrf": {csrf}}); r.Status != http.StatusSeeOther {
			t.Fatalf("resend the QR email of %s: %d", l.iccid, r.Status)
		}
		var id string
		if err := app.Raw.QueryRow(`SELECT message_id FROM outbox WHERE iccid = ? ORDER BY id DESC LIMIT 1`, l.iccid).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// delivered waits until the server has taken every one of ids.
	delivered := func(what string, ids ...string) {
		t.Helper()
		smtp.WaitUntil(t, what, func(msgs []smtptest.Received) bool {
			got := map[string]bool{}
			for _, m := range msgs {
				if h, _, err := smtptest.Parse(m.Data); err == nil {
					got[h.Get("Message-Id")] = true
				}
			}
			for _, id := range ids {
				if !got[id] {
					return false
				}
			}
			return true
		}, time.Minute)
	}

	resend(stuck)
	var answered []string
	for i := range 20 {
		answered = append(answered, resend(others[i%len(others)]))
	}
	delivered("the 20 QR emails the server answers", answered...)

	// Four minutes on, the worker still looks at the outbox and delivers;
	// readiness says one delivery waits, and stays up.
	app.Clock.Advance(4*time.Minute + time.Second)
	delivered("a QR email queued after four minutes", resend(others[0]))
	anon := app.NewClient()
	if status, body := health(t, anon, "/readyz"); status != http.StatusOK || !onlyStatus(body, "ready") {
		t.Errorf("readyz while one delivery waits: %d %v, want 200 and only the status", status, body)
	}
	status, body, checks := readyChecks(t, anon)
	if want := "ok; one delivery has waited 4 min for the mail server"; status != http.StatusOK || checks["outbox"] != want {
		t.Errorf("readyz with the token while one delivery waits: %d %v, want 200 and outbox %q", status, body, want)
	}
	n := 0
	for _, m := range smtp.Messages() {
		if slices.Contains(m.To, stuck.email) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the unanswered QR email reached the server %d times, want once", n)
	}
}

const testMetricsToken = "test-metrics-token-0123456789abcdef"

// scrape reads /metrics with the token as Prometheus does, and parses it.
func scrape(t *testing.T, c *portaltest.Client) map[string]*dto.MetricFamily {
	t.Helper()
	r := c.Get(t, "/metrics", "Authorization", "Bearer "+testMetricsToken, "Accept-Encoding", "identity")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /metrics: %d", r.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value is the value of a counter, gauge or histogram's count whose labels
// include these name, value pairs; -1 when there is none.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f, ok := families[name]
	if !ok {
		return -1
	}
	total, found := 0.0, false
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && have[labels[i]] == labels[i+1]
		}
		if !match {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	if !found {
		return -1
	}
	return total
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	t.Run("OffWithoutToken", func(t *testing.T) {
		app := portaltest.Start(t)
		if r := app.NewClient().Get(t, "/metrics", "Authorization", "Bearer anything"); r.Status != http.StatusNotFound {
			t.Errorf("GET /metrics with no token set: %d, want 404", r.Status)
		}
	})
	app := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) {
		h.MetricsToken = testMetricsToken
		h.APIToken = testAPIToken
	}})
	anon := app.NewClient()
	t.Run("WrongToken", func(t *testing.T) {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + testMetricsToken, "Bearer " + testMetricsToken + "x"} {
			if r := anon.Get(t, "/metrics", "Authorization", auth); r.Status != http.StatusUnauthorized {
				t.Errorf("GET /metrics with %q: %d, want 401", auth, r.Status)
			}
		}
	})
	t.Run("CountersMove", func(t *testing.T) {
		agent := app.Agent(t)
		priya, japan := app.Subscriber(t, "AC-100358"), app.Plan(t, "Japan")
		profile := []string{"imsi_profile", itoa(japan.IMSIProfile), "state", "free"}
		before := scrape(t, anon)
		for _, name := range []string{"esim_http_request_duration_seconds", "esim_store_write_wait_seconds", "esim_store_commit_batch_changes",
			"esim_allocations_total", "esim_usage_records_total", "esim_signin_failures_total", "esim_stock",
			"esim_outbox_queued", "esim_outbox_oldest_queued_age_seconds", "esim_outbox_failed", "go_goroutines"} {
			if _, ok := before[name]; !ok {
				t.Errorf("no metric %s", name)
			}
		}
		r := agent.Post(t, "/subscribers/"+itoa(priya.ID)+"/lines", addLineForm(t, agent, priya.ID, "Osaka", japan.ID))
		if r.Status != http.StatusSeeOther {
			t.Fatalf("Add line: %d", r.Status)
		}
		if r := app.NewClient().SignIn(t, "agent@example.com", "not the password"); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", r.Status)
		}
		line := app.Lines(t, priya.ID)[0]
		now := app.Clock.Now()
		if u := usage(t, app, usageBody(usageRecordJSON("cdr-metrics", line.ICCID, `"country": "JP"`, 1000, now.Add(-time.Minute), now))); u.Status != http.StatusOK {
			t.Fatalf("usage: %d %v", u.Status, u.JSON)
		}
		after := scrape(t, anon)
		for _, tc := range []struct {
			name   string
			labels []string
			delta  float64
		}{
			{"esim_allocations_total", nil, 1},
			{"esim_stock", profile, -1},
			{"esim_outbox_queued", nil, 2},
			{"esim_signin_failures_total", nil, 1},
			{"esim_usage_records_total", []string{"result", "applied"}, 1},
			{"esim_http_request_duration_seconds", []string{"route", "/subscribers/:id/lines", "method", "POST", "code", "3xx"}, 1},
		} {
			b, a := max(value(before, tc.name, tc.labels...), 0), value(after, tc.name, tc.labels...)
			if a-b != tc.delta {
				t.Errorf("%s%v went from %v to %v, want a change of %v", tc.name, tc.labels, b, a, tc.delta)
			}
		}
		if w := value(after, "esim_store_write_wait_seconds") - value(before, "esim_store_write_wait_seconds"); w < 1 {
			t.Errorf("the write queue's histogram took %v waits during an Add line", w)
		}
		if age := value(after, "esim_outbox_oldest_queued_age_seconds"); age <= 0 {
			t.Errorf("oldest queued email %vs old, with emails held", age)
		}
		// A path with an ICCID in it counts under its route, not itself.
		agent.Get(t, "/esims/"+line.ICCID)
		final := scrape(t, anon)
		if value(final, "esim_http_request_duration_seconds", "route", "/esims/:iccid") < 1 {
			t.Error("GET /esims/ICCID is not counted under /esims/:iccid")
		}
		if value(final, "esim_http_request_duration_seconds", "route", "/esims/"+line.ICCID) != -1 {
			t.Error("a raw path made a series of its own")
		}
	})
}

func itoa[T int | int64](n T) string { return strconv.FormatInt(int64(n), 10) }
