package main

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/mail"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/handlers/portaltest/browsertest"
)

// The browser tests' harness lives in handlers/portaltest/browsertest; the
// names below are the ones this package's tests call it by.

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

const (
	browserTestTimeout = browsertest.Timeout
	viewHeight         = browsertest.ViewHeight
	axeVersion         = browsertest.AxeVersion
	staleAttr          = browsertest.StaleAttr
	sidewaysJS         = browsertest.SidewaysJS
)

var (
	desktopWidth = browsertest.DesktopWidth
	phoneWidth   = browsertest.PhoneWidth
	axeSource    = browsertest.AxeSource
)

type (
	axeViolation = browsertest.AxeViolation
	cutProxy     = browsertest.Proxy
)

func browserPath() (string, bool) { return browsertest.Path() }

func newBrowser(t *testing.T) context.Context { t.Helper(); return browsertest.New(t) }

func expectConsoleErrors(ctx context.Context, substrings ...string) {
	browsertest.ExpectConsoleErrors(ctx, substrings...)
}

func screenshotDir() (string, error) { return browsertest.ScreenshotDir() }

func shot(t *testing.T, ctx context.Context, name string) { t.Helper(); browsertest.Shot(t, ctx, name) }

func shotOnFailure(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	browsertest.ShotOnFailure(t, ctx, what)
}

func location(t *testing.T, ctx context.Context) *url.URL {
	t.Helper()
	return browsertest.Location(t, ctx)
}

func text(t *testing.T, ctx context.Context, sel chromedp.CSS) string {
	t.Helper()
	return browsertest.Text(t, ctx, sel)
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browsertest.Do(t, ctx, what, steps...)
}

func signIn(t *testing.T, ctx context.Context, p *portaltest.Portal, email, password string) {
	t.Helper()
	browsertest.SignIn(t, ctx, p.URL, email, password)
}

func signOut(t *testing.T, ctx context.Context) { t.Helper(); browsertest.SignOut(t, ctx) }

func waitUntil(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	browsertest.WaitUntil(t, ctx, what, expr)
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return browsertest.Eval[T](t, ctx, expr)
}

func markPage(t *testing.T, ctx context.Context) { t.Helper(); browsertest.MarkPage(t, ctx) }

func samePage(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	browsertest.SamePage(t, ctx, what)
}

func markStale(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	browsertest.MarkStale(t, ctx, sel)
}

func fresh(sel string) string { return browsertest.Fresh(sel) }

func freshJS(sel, inner string) string { return browsertest.FreshJS(sel, inner) }

func planRadio(formID, name string) chromedp.Search { return browsertest.PlanRadio(formID, name) }

func choosePlan(t *testing.T, ctx context.Context, formID, name string) {
	t.Helper()
	browsertest.ChoosePlan(t, ctx, formID, name)
}

func waitSettled(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	browsertest.WaitSettled(t, ctx, sel)
}

func waitVisible[S chromedp.Selectable](t *testing.T, ctx context.Context, what string, sel S) {
	t.Helper()
	browsertest.WaitVisible(t, ctx, what, sel)
}

func flash(want string) chromedp.Search { return browsertest.Flash(want) }

func xpathString(s string) string { return browsertest.XPathString(s) }

func setWidth(t *testing.T, ctx context.Context, width int64) {
	t.Helper()
	browsertest.SetWidth(t, ctx, width)
}

func runAxe(t *testing.T, ctx context.Context) []axeViolation {
	t.Helper()
	return browsertest.RunAxe(t, ctx)
}

func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browsertest.CheckPage(t, ctx, name)
}

func assertBeside(t *testing.T, ctx context.Context, what, sel, next string) {
	t.Helper()
	browsertest.AssertBeside(t, ctx, what, sel, next)
}

func waitAnnounced(t *testing.T, ctx context.Context, kind, want string) {
	t.Helper()
	browsertest.WaitAnnounced(t, ctx, kind, want)
}

func waitFocus(t *testing.T, ctx context.Context, what, sel string) {
	t.Helper()
	browsertest.WaitFocus(t, ctx, what, sel)
}

func startProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	return browsertest.StartProxy(t, target)
}

// dialogs answers the page's confirm() dialogs: accept or dismiss, as set
// before the click that opens one; next reads each message.
type dialogs struct {
	*browsertest.Dialogs
	accept *atomic.Bool
}

func answerDialogs(t *testing.T, ctx context.Context) *dialogs {
	t.Helper()
	d := browsertest.AnswerDialogs(t, ctx)
	return &dialogs{Dialogs: d, accept: &d.Accept}
}

func (d *dialogs) next(t *testing.T, what string) string { t.Helper(); return d.Next(t, what) }

func grantClipboard(t *testing.T, ctx context.Context, origin string) {
	t.Helper()
	browsertest.GrantClipboard(t, ctx, origin)
}

func press(t *testing.T, ctx context.Context, what, keys string) {
	t.Helper()
	browsertest.Press(t, ctx, what, keys)
}

func typeInto(t *testing.T, ctx context.Context, id, typed string) {
	t.Helper()
	browsertest.TypeInto(t, ctx, id, typed)
}
