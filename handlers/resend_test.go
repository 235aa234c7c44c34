package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/handlers/portaltest"
)

func TestResendQR(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)
	priya := app.Subscriber(t, "AC-100358")
	line := app.Lines(t, priya.ID)[0]
	csrf := c.CSRFToken(t, "/subscribers")
	qrEmails := func() int {
		return app.Count(t, `SELECT count(*) FROM outbox WHERE kind = 'qr' AND iccid = ? AND to_address = ?`, line.ICCID, priya.Email)
	}

	before := qrEmails()
	r := c.Post(t, "/esims/"+line.ICCID+"/resend-qr", url.Values{"_csrf": {csrf}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303", r.Status)
	}
	if got := qrEmails(); got != before+1 {
		t.Errorf("QR emails for the line = %d, want %d", got, before+1)
	}
	if n := app.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'resend_qr' AND iccid = ?`, line.ICCID); n != 1 {
		t.Errorf("audit entries = %d, want 1", n)
	}
	if flash := text(c.Page(t, r.Location()).Find("main [data-testid=flash]")); !strings.Contains(flash, "QR code email for line “Europe” queued again") {
		t.Errorf("flash = %q", flash)
	}

	var free string
	app.Raw.QueryRow(`SELECT iccid FROM esims WHERE state = 'free' LIMIT 1`).Scan(&free)
	if r := c.Post(t, "/esims/"+free+"/resend-qr", url.Values{"_csrf": {csrf}}); r.Status != http.StatusConflict {
		t.Errorf("resend for a free eSIM: status %d, want 409", r.Status)
	}
	if n := app.Count(t, `SELECT count(*) FROM outbox WHERE iccid = ?`, free); n != 0 {
		t.Errorf("a free eSIM got %d emails", n)
	}
}
