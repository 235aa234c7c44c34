package main

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/mail"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/handlers/portaltest/browsertest"
)

// startPortal serves the portal with the program's default settings, the
// demo-only controls included, sending the emails to mail when it is not nil.
// The portal stops when the test ends.
func startPortal(t *testing.T, mail *smtptest.Server) *portaltest.Portal {
	t.Helper()
	cfg, _, err := parseConfig("e2e", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("the default configuration: %v", err)
	}
	return portaltest.StartWith(t, portaltest.Options{Mail: mail, Configure: func(h *handlers.Handlers) {
		h.Demo = cfg.Demo
		h.LowStock = cfg.LowStock
	}})
}

// mailTo is what the tests check of an email the portal sent.
type mailTo struct {
	To      []string // the envelope recipients
	Subject string
	QR      bool // carries the QR code image
}

// readMail decodes an email the test mail server received.
func readMail(t *testing.T, r smtptest.Received) mailTo {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("parse an email the portal sent: %v\n%s", err, r.Data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode the subject %q: %v", m.Header.Get("Subject"), err)
	}
	return mailTo{To: r.To, Subject: subject, QR: bytes.Contains(r.Data, []byte(`filename="qr-code.png"`))}
}

// The browser tests' harness lives in handlers/portaltest/browsertest; the
// names below are the ones this package's tests call it by.
var (
	desktopWidth = browsertest.DesktopWidth
	phoneWidth   = browsertest.PhoneWidth

	newBrowser          = browsertest.New
	expectConsoleErrors = browsertest.ExpectConsoleErrors
	screenshotDir       = browsertest.ScreenshotDir
	shot                = browsertest.Shot
	shotOnFailure       = browsertest.ShotOnFailure
	location            = browsertest.Location
	text                = browsertest.Text
	do                  = browsertest.Do
	signOut             = browsertest.SignOut
	waitUntil           = browsertest.WaitUntil
	markPage            = browsertest.MarkPage
	samePage            = browsertest.SamePage
	markStale           = browsertest.MarkStale
	freshJS             = browsertest.FreshJS
	choosePlan          = browsertest.ChoosePlan
	narrowTo            = browsertest.NarrowTo
	waitSettled         = browsertest.WaitSettled
	flash               = browsertest.Flash
	setWidth            = browsertest.SetWidth
	checkPage           = browsertest.CheckPage
	assertBeside        = browsertest.AssertBeside
	waitAnnounced       = browsertest.WaitAnnounced
	waitFocus           = browsertest.WaitFocus
	startProxy          = portaltest.StartProxy
	grantClipboard      = browsertest.GrantClipboard
	press               = browsertest.Press
	typeInto            = browsertest.TypeInto
)

// signIn signs in to the portal p from its sign-in page and waits for the
// subscriber search.
func signIn(t *testing.T, ctx context.Context, p *portaltest.Portal, email, password string) {
	t.Helper()
	browsertest.SignIn(t, ctx, p.URL, email, password)
}

// signedIn serves the portal as startPortal does and opens a browser signed
// in to it as email.
func signedIn(t *testing.T, mail *smtptest.Server, email, password string) (*portaltest.Portal, context.Context) {
	t.Helper()
	p := startPortal(t, mail)
	ctx := newBrowser(t)
	signIn(t, ctx, p, email, password)
	return p, ctx
}

// eval evaluates a JavaScript expression and returns its value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return browsertest.Eval[T](t, ctx, expr)
}

// waitVisible waits at most waitTimeout for sel to show.
func waitVisible[S chromedp.Selectable](t *testing.T, ctx context.Context, what string, sel S) {
	t.Helper()
	browsertest.WaitVisible(t, ctx, what, sel)
}
