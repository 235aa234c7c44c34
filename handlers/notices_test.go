package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// received are the plain-text parts of the messages the mail server got for
// to, by subject.
func received(t *testing.T, smtp *smtptest.Server, to string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range smtp.Messages() {
		if len(m.To) != 1 || m.To[0] != to {
			continue
		}
		h, parts := parseMail(t, m.Data)
		s := subject(t, h)
		if _, dup := out[s]; dup {
			t.Errorf("%q received twice", s)
		}
		out[s] = strings.Join(strings.Fields(string(partsOf(parts, "text/plain")[0].Body)), " ")
	}
	return out
}

// waitForSubjects waits until the customer has the messages with these subjects.
func waitForSubjects(t *testing.T, smtp *smtptest.Server, to string, subjects ...string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := received(t, smtp, to)
		missing := false
		for _, s := range subjects {
			if _, ok := got[s]; !ok {
				missing = true
			}
		}
		if !missing {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s the customer has %q, want %q", keys(got), subjects)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestPlanNoticesReachTheCustomer: the customer reads, in their mailbox, that
// the plan started, runs low, is used up, ends soon and ended — each once,
// whatever is reported twice.
func TestPlanNoticesReachTheCustomer(t *testing.T) {
	smtp := smtptest.Start(t)
	app := portaltest.StartWith(t, portaltest.Options{Mail: smtp, Configure: func(h *handlers.Handlers) { h.APIToken = testAPIToken }})
	ctx := context.Background()
	line := demoLine(t, app, pendingEurope) // Priya Raman: Euro 1, 1 GB, queued
	priya := app.Subscriber(t, pendingEurope)
	order := line.Plans[0].OrderNumber
	now := app.Clock.Now().Truncate(time.Second)
	rec := func(id string, mbs int64) string {
		return usageRecordJSON(id, line.ICCID, `"country": "FR"`, mbs*db.BytesPerMB, now.Add(-30*time.Minute), now.Add(-20*time.Minute))
	}
	usage(t, app, usageBody(rec("n-1", 850)))
	got := waitForSubjects(t, smtp, priya.Email, "Your Euro 1 plan has started", "Euro 1: 80% of your data used")
	for _, want := range []string{"Your Euro 1 plan on line Europe started in France on ", "Order number: " + order, "Ends: ", "1 GB"} {
		if !strings.Contains(got["Your Euro 1 plan has started"], want) {
			t.Errorf("plan started says %q, want %q in it", got["Your Euro 1 plan has started"], want)
		}
	}
	if low := got["Euro 1: 80% of your data used"]; !strings.Contains(low, "You have used 850 MB of the 1 GB of your Euro 1 plan on line Europe: 150 MB is left.") ||
		!strings.Contains(low, "ask for a new plan on your eSIM line Europe") {
		t.Errorf("running low says %q", low)
	}

	// The same records again, and one that uses the data up.
	usage(t, app, usageBody(rec("n-1", 850), rec("n-2", 200)))
	got = waitForSubjects(t, smtp, priya.Email, "Euro 1: your data is used up")
	if up := got["Euro 1: your data is used up"]; !strings.Contains(up, "used up its 1 GB on ") || !strings.Contains(up, "Nothing else is on this line") {
		t.Errorf("used up says %q", up)
	}

	// Time-based notices, on Sofia Rossi's USA & Canada plan, active.
	sofia := app.Subscriber(t, "AC-100644")
	usa := demoLine(t, app, "AC-100644").Plans[0]
	app.Clock.Advance(usa.ExpiresAt.Sub(app.Clock.Now()) - 71*time.Hour)
	if _, err := app.Store.NotifyDue(ctx); err != nil {
		t.Fatal(err)
	}
	soon := fmt.Sprintf("USA & Canada ends on %s", usa.ExpiresAt.UTC().Format("2 January"))
	got = waitForSubjects(t, smtp, sofia.Email, soon)
	if !strings.Contains(got[soon], "in 3 days. It still has 3.5 GB of data.") {
		t.Errorf("ends soon says %q", got[soon])
	}
	app.Clock.Advance(72 * time.Hour)
	for range 2 {
		if _, err := app.Store.NotifyDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got = waitForSubjects(t, smtp, sofia.Email, "USA & Canada has ended")
	if !strings.Contains(got["USA & Canada has ended"], "30 days after it started") {
		t.Errorf("ended says %q", got["USA & Canada has ended"])
	}
	received(t, smtp, priya.Email) // fails on anything received twice
	received(t, smtp, sofia.Email)

	// The email log names them, and each has a preview.
	doc := app.Agent(t).Page(t, fmt.Sprintf("/subscribers/%d", priya.ID))
	log := strings.Join(texts(doc.Find("[data-testid=email-log] tbody tr td:first-child a")), "|")
	for _, kind := range []string{"Plan started", "Data running low", "Data used up"} {
		if !strings.Contains(log, kind) {
			t.Errorf("email log %q, want %q", log, kind)
		}
	}
}

// TestPlanNoticesOptOut: at the customer's request the agent turns notices
// off on the profile; it is audited, and no notice goes out after it.
func TestPlanNoticesOptOut(t *testing.T) {
	app := newAPIApp(t, false)
	agent := app.Agent(t)
	priya := app.Subscriber(t, pendingEurope)
	line := demoLine(t, app, pendingEurope)
	profile := fmt.Sprintf("/subscribers/%d", priya.ID)
	r := agent.Post(t, profile+"/plan-notices", url.Values{"_csrf": {agent.CSRFToken(t, profile)}, "on": {"false"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("turn off: status %d", r.Status)
	}
	doc := agent.Page(t, profile)
	if got := text(doc.Find("[data-testid=plan-notices]")); !strings.HasPrefix(got, "Off at the customer's request Turn on") {
		t.Errorf("plan notices = %q", got)
	}
	if n := app.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'set_plan_notices' AND subscriber_id = ?`, priya.ID); n != 1 {
		t.Errorf("audit entries = %d, want 1", n)
	}
	now := app.Clock.Now().Truncate(time.Second)
	usage(t, app, usageBody(usageRecordJSON("o-1", line.ICCID, `"country": "FR"`, 2*db.BytesPerMB*1000, now, now)))
	if n := app.Count(t, `SELECT count(*) FROM outbox WHERE iccid = ? AND kind NOT IN ('qr', 'confirmation')`, line.ICCID); n != 0 {
		t.Errorf("%d notices queued for a customer who turned them off", n)
	}
}
