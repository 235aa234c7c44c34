package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/db/rules"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/emails/smtptest"
)

// TestBrowserReplaceESIM: an agent replaces the eSIM a customer deleted from
// the phone; the customer's new QR email installs the new eSIM, and says it
// replaces the old one.
func TestBrowserReplaceESIM(t *testing.T) {
	mailServer := smtptest.Start(t)
	p, ctx := signedIn(t, mailServer, demo.AgentEmail, demo.AgentPassword)

	kenji := p.Subscriber(t, "AC-100412") // Japan, profile 10
	old := p.Lines(t, kenji.ID)[0]
	lineSel := "#line-" + old.ICCID
	do(t, ctx, "open the profile", chromedp.Navigate(p.URL+"/subscribers/"+strconv.FormatInt(kenji.ID, 10)),
		chromedp.WaitVisible(chromedp.CSS(lineSel)))
	do(t, ctx, "click Replace eSIM", chromedp.Click(chromedp.CSS(lineSel+` [data-testid=replace-esim]`)))
	waitVisible(t, ctx, "the Replace eSIM form", chromedp.CSS(`[data-testid=replace-esim-form]`))
	waitSettled(t, ctx, `[data-testid=replace-esim-form]`)
	if got := text(t, ctx, chromedp.CSS(`[data-testid=replace-esim-form] p`)); !strings.Contains(got, "stops working for good") {
		t.Errorf("the confirmation says %q", got)
	}
	shot(t, ctx, "replace-esim-form")
	do(t, ctx, "replace: deleted from the phone",
		chromedp.SetValue(chromedp.CSS(`[data-testid=replace-esim-form] select[name=reason]`), "Deleted from the phone"),
		chromedp.Click(chromedp.CSS(`[data-testid=replace-esim-form] button[type=submit]`)),
	)
	// The profile shows the line on its new eSIM, in place.
	waitUntil(t, ctx, "the line on its new eSIM", `!document.querySelector('`+lineSel+`') && document.querySelector('[data-testid=line-note]')`)
	fresh := p.Lines(t, kenji.ID)[0].ICCID
	if got := text(t, ctx, chromedp.CSS(`#line-`+fresh+` [data-testid=line-note]`)); !strings.Contains(got, "now has eSIM "+fresh) {
		t.Errorf("the line's note reads %q", got)
	}
	shot(t, ctx, "replaced")
	do(t, ctx, "open the new eSIM's page", chromedp.Click(chromedp.CSS(`#line-`+fresh+` .iccid a`)))
	waitVisible(t, ctx, "the new eSIM's page", chromedp.CSS(`[data-testid=replaces]`))
	if got := text(t, ctx, `[data-testid=replaces]`); got != old.ICCID {
		t.Errorf("the new eSIM replaces %q, want %s", got, old.ICCID)
	}

	// The customer's mailbox: the new QR code, for the new eSIM.
	var code string
	for _, r := range mailServer.WaitFor(t, 1, waitTimeout) {
		m := readMail(t, r)
		if !m.QR || !strings.Contains(m.Subject, "replacement") {
			continue
		}
		if !bytes.Contains(r.Data, []byte(old.ICCID)) {
			t.Errorf("the QR email does not name the eSIM it replaces, %s", old.ICCID)
		}
		code = decodeQRIn(t, r.Data)
	}
	e, err := p.Store.ESIM(t.Context(), fresh)
	if err != nil {
		t.Fatal(err)
	}
	if want := rules.ActivationCode(e.SMDPAddress, e.MatchingID); code != want {
		t.Errorf("the new QR code reads %q, want the new eSIM's %q", code, want)
	}
}

// decodeQRIn reads the QR code attached to a raw email.
func decodeQRIn(t *testing.T, raw []byte) string {
	t.Helper()
	_, parts, err := smtptest.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range parts {
		if part.Type != "image/png" {
			continue
		}
		text, err := smtptest.QRText(part.Body)
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	t.Fatal("no QR image in the email")
	return ""
}
