package handlers_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// newQREmail has the agent give a subscriber with allowance left a new
// line, and returns its QR email's id and the ICCID and matching ID of its
// eSIM.
func newQREmail(t *testing.T, app *portaltest.Portal, agent *portaltest.Client, lineName string) (id int64, iccid, matchingID string) {
	t.Helper()
	var account string
	if err := app.Raw.QueryRow(`SELECT s.account_number FROM subscribers s
		WHERE (SELECT count(*) FROM domestic_plans d WHERE d.subscriber_id = s.id AND d.qualifies) >
		      (SELECT count(*) FROM esims e WHERE e.subscriber_id = s.id AND e.state = 'allocated') ORDER BY s.id LIMIT 1`).Scan(&account); err != nil {
		t.Fatal(err)
	}
	sub := app.Subscriber(t, account)
	r := agent.Post(t, fmt.Sprintf("/subscribers/%d/lines", sub.ID), addLineForm(t, agent, sub.ID, lineName, app.Plan(t, "Euro 1").ID))
	iccid = addedLine(t, app, r, sub.ID, lineName)
	err := app.Raw.QueryRow(`SELECT o.id, e.matching_id FROM outbox o JOIN esims e ON e.iccid = o.iccid WHERE o.kind = 'qr' AND o.iccid = ?`,
		iccid).Scan(&id, &matchingID)
	if err != nil {
		t.Fatal(err)
	}
	return id, iccid, matchingID
}

func shownCodes(t *testing.T, app *portaltest.Portal, iccid string) int {
	return app.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'show_activation_code' AND iccid = ?`, iccid)
}

// TestQREmailCodeIsAudited walks the QR emails as an agent collecting
// activation codes would: the preview, its frame and the QR image show no
// code until the agent asks, the asking is in the audit log, and the QR
// image is served only to the frame of that preview.
func TestQREmailCodeIsAudited(t *testing.T) {
	app := portaltest.Start(t)
	agent := app.Agent(t)
	id, iccid, matchingID := newQREmail(t, app, agent, "Portugal")
	otherID, _, _ := newQREmail(t, app, agent, "Italy")
	path := fmt.Sprintf("/emails/%d", id)

	t.Run("Walking", func(t *testing.T) {
		for _, p := range []string{path, path + "/body"} {
			r := agent.Get(t, p)
			if r.Status != http.StatusOK || strings.Contains(string(r.Body), matchingID) {
				t.Errorf("GET %s: status %d, the matching ID shown: %v; want 200 without it", p, r.Status, strings.Contains(string(r.Body), matchingID))
			}
			if strings.Contains(string(r.Body), "qr.png") {
				t.Errorf("GET %s links the QR image", p)
			}
		}
		// The frame says where the QR code is, rather than showing a
		// broken image.
		frame := agent.Page(t, path+"/body")
		if n := frame.Find("img").Length(); n != 0 {
			t.Errorf("the frame with the code hidden has %d images; want none", n)
		}
		if got := text(frame.Find("[data-testid=qr-hidden]")); got != "QR code hidden — Show the activation code to see it" {
			t.Errorf("the frame with the code hidden says %q where the QR code was", got)
		}
		for _, p := range []string{path + "/qr.png", path + "/qr.png?code=made-up"} {
			if r := agent.Get(t, p); r.Status != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", p, r.Status)
			}
		}
		if n := shownCodes(t, app, iccid); n != 0 {
			t.Errorf("%d activation code openings recorded for looking at a hidden one", n)
		}
	})

	var frame string
	t.Run("Shown", func(t *testing.T) {
		// Post, redirect, get: the agent is not left on a POST address.
		r := agent.Post(t, path+"/activation-code", url.Values{"_csrf": {agent.CSRF}})
		shown := r.Header.Get("Location")
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(shown, path+"?code=") {
			t.Fatalf("show the code: status %d to %q; want 303 to %s?code=…", r.Status, shown, path)
		}
		r = agent.Get(t, shown)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: status %d", shown, r.Status)
		}
		doc := r.Doc(t)
		if got := text(doc.Find("pre.email-text")); !strings.Contains(got, matchingID) {
			t.Errorf("the plain-text version does not show the matching ID once asked for")
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q on a page with an activation code, want no-store", r.Header.Get("Cache-Control"))
		}
		frame = doc.Find("iframe.email-frame").AttrOr("src", "")
		body := agent.Get(t, frame)
		if !strings.Contains(string(body.Body), matchingID) {
			t.Errorf("the frame %s does not show the matching ID", frame)
		}
		img := between(string(body.Body), `src="`, `"`)
		if !strings.Contains(img, "/qr.png?code=") {
			t.Fatalf("the frame's image is %q, want the QR image with its token", img)
		}
		img = strings.ReplaceAll(img, "&amp;", "&")
		qr := agent.Get(t, img)
		if qr.Status != http.StatusOK || qr.Header.Get("Content-Type") != "image/png" || decodeQR(t, qr.Body) != "LPA:1$"+between(string(body.Body), "LPA:1$", "$")+"$"+matchingID {
			t.Errorf("GET %s: status %d, %s", img, qr.Status, qr.Header.Get("Content-Type"))
		}
		var who, detail string
		var subscriber int64
		app.Raw.QueryRow(`SELECT l.email, a.detail, coalesce(a.subscriber_id, 0) FROM audit_log a JOIN logins l ON l.id = a.login_id
			WHERE a.action = 'show_activation_code' AND a.iccid = ?`, iccid).Scan(&who, &detail, &subscriber)
		if who != demo.AgentEmail || detail != fmt.Sprintf("in QR email #%d", id) || subscriber == 0 {
			t.Errorf("audit entry by %q, %q, subscriber %d; want the agent, the email, its subscriber", who, detail, subscriber)
		}
		if got := text(app.Lead(t).Page(t, "/audit?iccid="+iccid).Find("[data-testid=audit-entries]")); !strings.Contains(got, "Opened activation code") {
			t.Errorf("the audit log page does not say the code was opened: %s", got)
		}
	})

	t.Run("TokenIsTheAgentsForThisEmail", func(t *testing.T) {
		token := between(frame+"&", "code=", "&")
		lead := app.Lead(t)
		for _, tc := range []struct {
			name string
			c    *portaltest.Client
			path string
		}{
			{"AnotherLogin", lead, fmt.Sprintf("/emails/%d/qr.png?code=%s", id, token)},
			{"AnotherEmail", agent, fmt.Sprintf("/emails/%d/qr.png?code=%s", otherID, token)},
		} {
			if r := tc.c.Get(t, tc.path); r.Status != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", tc.name, r.Status)
			}
		}
		// The other login still sees the email, only without the code: a
		// page that failed to load would show no code either.
		if r := lead.Get(t, frame); r.Status != http.StatusOK || strings.Contains(string(r.Body), matchingID) {
			t.Errorf("another login's frame with the agent's token: status %d; want 200 without the matching ID", r.Status)
		}
		if r := lead.Get(t, fmt.Sprintf("/emails/%d?code=%s", id, token)); r.Status != http.StatusOK || strings.Contains(string(r.Body), matchingID) {
			t.Errorf("another login's page with the agent's token: status %d; want 200 without the matching ID", r.Status)
		}
		app.Clock.Advance(11 * time.Minute)
		defer app.Clock.Reset()
		if r := agent.Get(t, fmt.Sprintf("/emails/%d/qr.png?code=%s", id, token)); r.Status != http.StatusNotFound {
			t.Errorf("the token 11 minutes later: status %d, want 404", r.Status)
		}
	})
}

// TestESIMCodeIsAudited checks the eSIM's page: its activation code shows
// when asked for, in its panel, and the audit log has who asked.
func TestESIMCodeIsAudited(t *testing.T) {
	app := portaltest.Start(t)
	agent := app.Agent(t)
	line := demoLine(t, app, pendingEurope)
	path := "/esims/" + line.ICCID
	if r := agent.Get(t, path); strings.Contains(string(r.Body), line.MatchingID) {
		t.Fatalf("the eSIM's page shows the matching ID before anyone asked")
	}
	if doc := agent.Page(t, path); doc.Find("[data-testid=show-activation-code]").Length() != 1 {
		t.Fatalf("no Show the activation code button")
	}
	r := agent.Post(t, path+"/activation-code", url.Values{"_csrf": {agent.CSRF}}, "HX-Request", "true")
	if r.Status != http.StatusOK {
		t.Fatalf("HTMX show: status %d", r.Status)
	}
	panel := r.Doc(t).Find("#activation-code")
	if got := text(panel.Find("[data-testid=activation-code]")); got != line.ActivationCode() {
		t.Errorf("the panel shows %q, want the activation code %q", got, line.ActivationCode())
	}
	if panel.Find("form").Length() != 0 || r.Doc(t).Find("h1").Length() != 0 {
		t.Errorf("the HTMX answer is not just the panel with the code")
	}
	// Without JavaScript, the form gives the page with the code.
	r = agent.Post(t, path+"/activation-code", url.Values{"_csrf": {agent.CSRF}})
	if got := text(r.Doc(t).Find("[data-testid=activation-code]")); r.Status != http.StatusOK || got != line.ActivationCode() {
		t.Errorf("plain form: status %d, code %q", r.Status, got)
	}
	if n := shownCodes(t, app, line.ICCID); n != 2 {
		t.Errorf("%d openings of the code recorded, want 2", n)
	}
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

// brokenQR renders every email but the QR email of a line named "Broken",
// as a template with a defect would fail on it.
type brokenQR struct{ db.MailRenderer }

func (b brokenQR) QRCode(m db.QRMail) (db.Message, error) {
	if m.LineName == "Broken" {
		return db.Message{}, errors.New("template: qr: no such field")
	}
	return b.MailRenderer.QRCode(m)
}

// TestEmailThatCannotBeWritten: an email whose draft the renderer fails on
// opens as a page that says so, with the reason, and the emails beside it
// as they are.
func TestEmailThatCannotBeWritten(t *testing.T) {
	app := portaltest.Start(t)
	app.Store.Mail = brokenQR{app.Store.Mail}
	agent := app.Agent(t)
	broken, _, _ := newQREmail(t, app, agent, "Broken")
	fine, _, _ := newQREmail(t, app, agent, "Italy")
	doc := agent.Page(t, fmt.Sprintf("/emails/%d", broken))
	if got := text(doc.Find("[data-testid=email-unwritten]")); !strings.Contains(got, "could not be written") || !strings.Contains(got, "no such field") {
		t.Errorf("the preview of an email that cannot be written says %q; want that, with the reason", got)
	}
	if doc.Find("iframe.email-frame").Length() != 0 {
		t.Error("the preview of an email that cannot be written frames its body")
	}
	doc = agent.Page(t, fmt.Sprintf("/emails/%d", fine))
	if doc.Find("[data-testid=email-unwritten]").Length() != 0 || doc.Find("iframe.email-frame").Length() != 1 {
		t.Error("an email that can be written is previewed as one that cannot")
	}
}
