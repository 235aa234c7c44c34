package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// browserTestTimeout bounds a whole browser test, so a page that never
// shows what a test waits for fails the test instead of hanging the run.
const browserTestTimeout = 150 * time.Second

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

// browserPath finds Chromium or Chrome on PATH.
func browserPath() (string, bool) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// newBrowser starts a headless Chromium with a fresh profile and returns the
// context of its first tab, ended after browserTestTimeout at the latest.
// Where no browser is installed the test is skipped, except on CI, where
// skipping would hide that the flows were never clicked through.
//
// Call it after startPortal, so that the browser closes before the portal
// stops (cleanups run last-in first-out): a request the browser still has
// open would otherwise hold up the server's Close.
//
// The test fails at its end if the page threw an uncaught exception, called
// console.error, or broke the Content-Security-Policy: each of these means
// a piece of the page silently did not work.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, ok := browserPath()
	if !ok {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found: CI requires the browser tests")
		}
		t.Skip("chromium not found; install Debian's chromium to run the browser tests")
	}

	timeout, cancelTimeout := context.WithTimeout(context.Background(), browserTestTimeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root, where Chromium's sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(timeout, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktopWidth, viewHeight)); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}

	var (
		mu       sync.Mutex
		problems []string
		notes    []string
	)
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text += " " + d.Exception.Description
			}
			problems = append(problems, fmt.Sprintf("JS exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			var args []string
			for _, a := range ev.Args {
				switch {
				case a.Description != "":
					args = append(args, a.Description)
				case len(a.Value) > 0:
					args = append(args, string(a.Value))
				default:
					args = append(args, string(a.Type))
				}
			}
			msg := strings.Join(args, " ")
			if expected(ctx, msg) {
				notes = append(notes, "expected console.error: "+msg)
				return
			}
			problems = append(problems, "console.error: "+msg)
		case *log.EventEntryAdded:
			e := ev.Entry
			line := fmt.Sprintf("browser log (%s, %s): %s %s", e.Level, e.Source, e.Text, e.URL)
			if isCSPViolation(e.Text) || (e.Source == log.EntrySourceSecurity && e.Level == log.EntryLevelError) {
				problems = append(problems, "CSP violation: "+line)
			} else if e.Level == log.EntryLevelError || e.Level == log.EntryLevelWarning {
				notes = append(notes, line)
			}
		}
	})
	if err != nil {
		t.Fatalf("listen to the browser console: %v", err)
	}
	// Runs before the browser closes (cleanups run last-in first-out), when
	// every event up to the last command has reached the listener.
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range notes {
			t.Log(n)
		}
		for _, p := range problems {
			t.Error(p)
		}
	})
	return ctx
}

// expectedErrors holds, per browser, the console errors a test provokes on
// purpose, such as htmx's own report of a request that failed.
var expectedErrors sync.Map // *chromedp.Context → *[]string, guarded by expectedMu

var expectedMu sync.Mutex

// expectConsoleErrors lets console errors containing any of the substrings
// pass in the browser of ctx from now on.
func expectConsoleErrors(ctx context.Context, substrings ...string) {
	expectedMu.Lock()
	defer expectedMu.Unlock()
	v, _ := expectedErrors.LoadOrStore(chromedp.FromContext(ctx), new([]string))
	list := v.(*[]string)
	*list = append(*list, substrings...)
}

func expected(ctx context.Context, msg string) bool {
	expectedMu.Lock()
	defer expectedMu.Unlock()
	v, ok := expectedErrors.Load(chromedp.FromContext(ctx))
	if !ok {
		return false
	}
	for _, s := range *v.(*[]string) {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func isCSPViolation(text string) bool {
	return strings.Contains(text, "Content Security Policy") || strings.Contains(text, "Refused to")
}

var (
	shotsOnce sync.Once
	shotsDir  string
	shotsErr  error

	shotsMu  sync.Mutex
	shotsSeq = map[string]int{} // per test, so the files sort in the order the pages were visited
)

// screenshotDir is E2E_SCREENSHOTS, or a directory made once per run that
// outlives the tests so a person can look at the pages afterwards.
func screenshotDir() (string, error) {
	shotsOnce.Do(func() {
		if d := os.Getenv("E2E_SCREENSHOTS"); d != "" {
			shotsDir, shotsErr = d, os.MkdirAll(d, 0o755)
			return
		}
		shotsDir, shotsErr = os.MkdirTemp("", "esim-e2e-")
	})
	return shotsDir, shotsErr
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// shot saves a full-page PNG of what the browser shows, named after the
// test, the order of the shot and name.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir, err := screenshotDir()
	if err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	// Quality 100 is what makes Chromium encode PNG rather than JPEG.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %q: %v", name, err)
	}
	shotsMu.Lock()
	shotsSeq[t.Name()]++
	n := shotsSeq[t.Name()]
	shotsMu.Unlock()
	file := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.png",
		unsafeFileChars.ReplaceAllString(t.Name(), "_"), n, unsafeFileChars.ReplaceAllString(name, "_")))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	if n == 1 {
		t.Logf("screenshots in %s", dir)
	}
}

// location returns the URL the browser shows.
func location(t *testing.T, ctx context.Context) *url.URL {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("read the location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("parse the location %q: %v", loc, err)
	}
	return u
}

// text returns the visible text of the first element sel matches, trimmed.
func text(t *testing.T, ctx context.Context, sel chromedp.CSS) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("read the text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// do runs browser steps and fails the test, saying what it was doing, if
// one of them fails.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		shotOnFailure(t, ctx, what)
		t.Fatalf("%s: %v", what, err)
	}
}

// shotOnFailure keeps a picture of the page a step gave up on; the step may
// have failed because the browser is gone, so its own errors are only logged.
func shotOnFailure(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if ctx.Err() != nil {
		return
	}
	dir, err := screenshotDir()
	if err != nil {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("no screenshot of the failure: %v", err)
		return
	}
	file := filepath.Join(dir, unsafeFileChars.ReplaceAllString(t.Name()+"-FAILED-"+what, "_")+".png")
	if err := os.WriteFile(file, png, 0o644); err == nil {
		t.Logf("page at the failure: %s", file)
	}
}

// signIn signs in from the sign-in page and waits for the subscriber
// search, where a sign-in without a next page lands.
func signIn(t *testing.T, ctx context.Context, p *portaltest.Portal, email, password string) {
	t.Helper()
	do(t, ctx, "open the sign-in page",
		chromedp.Navigate(p.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	shot(t, ctx, "login")
	do(t, ctx, "sign in as "+email,
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("q")),
	)
	if u := location(t, ctx); u.Path != "/subscribers" {
		t.Fatalf("after signing in as %s the browser is at %s; want /subscribers", email, u)
	}
	shot(t, ctx, "subscribers")
}

// signOut signs out from the header and waits for the sign-in page.
func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "sign out",
		chromedp.Click(chromedp.Search(`//header//button[normalize-space()="Sign out"]`)),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	if u := location(t, ctx); u.Path != "/login" {
		t.Fatalf("after signing out the browser is at %s; want /login", u)
	}
	shot(t, ctx, "signed-out")
}

// waitUntil polls the JavaScript expression until it is truthy, and fails
// the test, saying what it waited for, if it never is.
func waitUntil(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(`+expr+`)`, chromedp.WithPollingTimeout(waitTimeout))); err != nil {
		shotOnFailure(t, ctx, what)
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression and returns its value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// markPage leaves a marker on window that only a page load removes, so
// samePage can tell an in-place swap from a reload.
func markPage(t *testing.T, ctx context.Context) {
	t.Helper()
	eval[chromedp.Void](t, ctx, `window.e2eSamePage = true`)
}

// samePage fails the test if the page was loaded again since markPage.
func samePage(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if !eval[bool](t, ctx, `window.e2eSamePage === true`) {
		t.Errorf("%s loaded a new page instead of swapping in place", what)
	}
}

// staleAttr marks an element HTMX is about to replace, so a wait can tell
// the old element from the one the server sends in its place: the old one
// already shows what the browser changed, e.g. a radio button checked.
const staleAttr = "data-e2e-stale"

// markStale marks every element sel matches as stale.
func markStale(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	eval[chromedp.Void](t, ctx, `document.querySelectorAll(`+strconv.Quote(sel)+`).forEach(e => e.setAttribute(`+strconv.Quote(staleAttr)+`, ""))`)
}

// fresh is a CSS selector for the element sel matches once HTMX swapped it
// in, after markStale, with no request of the page still running.
func fresh(sel string) string {
	return sel + `:not([` + staleAttr + `])`
}

// freshJS is a JavaScript expression for the element sel matches once it
// has been swapped in and no HTMX request runs (or, when inner is set, the
// element inner matches inside it); null until then.
func freshJS(sel, inner string) string {
	q := fresh(sel)
	if inner != "" {
		q += " " + inner
	}
	return `(document.querySelector('.htmx-request') ? null : document.querySelector(` + strconv.Quote(q) + `))`
}

// planRadio is the radio button of the plan named name in the form with id formID.
func planRadio(formID, name string) chromedp.Search {
	return chromedp.Search(`//form[@id="` + formID + `"]//div[contains(@class,"plan-option")][.//span[@class="plan-name" and normalize-space()="` +
		name + `"]]/input[@name="plan"]`)
}

// choosePlan picks a plan in an HTMX form that reloads itself when the plan
// changes, and waits for the form the server sends back with that plan.
func choosePlan(t *testing.T, ctx context.Context, formID, name string) {
	t.Helper()
	radio := planRadio(formID, name)
	find, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	id, err := chromedp.Run(find, chromedp.AttributeValue(radio, "id"))
	if err != nil || !id.Exists {
		shotOnFailure(t, ctx, "find the plan "+name)
		t.Fatalf("find the radio button of the plan %s in #%s: %v", name, formID, err)
	}
	markStale(t, ctx, "#"+formID)
	do(t, ctx, "choose the plan "+name, chromedp.Click(radio))
	waitUntil(t, ctx, "the form comes back with "+name+" chosen", freshJS("#"+formID, "#"+id.Value+":checked"))
	waitSettled(t, ctx, "#"+formID)
}

// narrowTo types the country into a form's country box and waits for the
// plans that cover it: Add line lists none before.
func narrowTo(t *testing.T, ctx context.Context, formID, country string) {
	t.Helper()
	waitSettled(t, ctx, "#"+formID)
	markStale(t, ctx, "#"+formID+"-plans")
	typeInto(t, ctx, formID+"-country", country)
	waitUntil(t, ctx, "the plans narrow to "+country, freshJS("#"+formID+"-plans", "[data-testid=plan-summary]"))
	waitSettled(t, ctx, "#"+formID)
}

// waitSettled waits until htmx has taken over the element sel and nothing is
// in flight or settling: a click before that would go out as a plain form
// post, not through htmx.
func waitSettled(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	waitUntil(t, ctx, "htmx settles on "+sel, `(() => {
		const el = document.querySelector(`+"`"+sel+"`"+`);
		return el && el['htmx-internal-data'] && !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping');
	})()`)
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

// waitVisible waits at most waitTimeout for sel to show, so a step that
// never happens fails with what was awaited, well before the test times out.
func waitVisible[S chromedp.Selectable](t *testing.T, ctx context.Context, what string, sel S) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(sel)); err != nil {
		shotOnFailure(t, ctx, what)
		t.Fatalf("%s: %v", what, err)
	}
}

// flash is the XPath of the message a page shows after a change, once it
// contains want.
func flash(want string) chromedp.Search {
	return chromedp.Search(`//main/div[@data-testid="flash"][contains(., ` + xpathString(want) + `)]`)
}

// xpathString quotes s as an XPath string literal.
func xpathString(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return `'` + s + `'`
}

// The widths every page state is checked at: a desktop window and a phone,
// both 800 px high.
var (
	desktopWidth int64 = 1280
	phoneWidth   int64 = 390
)

const viewHeight = 800

// axeVersion is the axe-core vendored in testdata/axe-core.
const axeVersion = "4.14.1"

var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile("testdata/axe-core/axe.min.js")
	return string(b), err
})

// setWidth makes the page as wide as a window of width px, as a phone does
// below 600: the layout viewport, the media queries and no scrollbar in the
// way.
func setWidth(t *testing.T, ctx context.Context, width int64) {
	t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if width < 600 {
		opts = append(opts, chromedp.EmulateMobile)
	}
	do(t, ctx, fmt.Sprintf("set the width to %d px", width), chromedp.EmulateViewport(width, viewHeight, opts...))
	// Two frames: the layout of the new width is done.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))`,
		chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("wait for the layout at %d px: %v", width, err)
	}
}

// axeViolation is what the tests report of an axe-core violation.
type axeViolation struct {
	ID    string   `json:"id"`
	Help  string   `json:"help"`
	Nodes []string `json:"nodes"`
}

// runAxe runs axe-core's rules on the page as it is now; it injects
// axe-core first into a page that does not have it yet.
func runAxe(t *testing.T, ctx context.Context) []axeViolation {
	t.Helper()
	if !eval[bool](t, ctx, `typeof window.axe === 'object'`) {
		src, err := axeSource()
		if err != nil {
			t.Fatalf("read axe-core: %v", err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
			t.Fatalf("inject axe-core: %v", err)
		}
		if v := eval[string](t, ctx, `axe.version`); v != axeVersion {
			t.Fatalf("axe-core %s was injected; want %s", v, axeVersion)
		}
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
		id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\s+/g, ' ')),
	})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	return v
}

// sidewaysJS lists what sticks out of the page to the right, making it
// scroll sideways, without what a scrolling box of its own holds: empty when
// the page fits its width.
const sidewaysJS = `(() => {
	const root = document.documentElement;
	if (root.scrollWidth <= root.clientWidth) return [];
	const clipped = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
		if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) return true; } return false; };
	const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
	const wide = [...document.querySelectorAll('body *')].filter(e => !clipped(e) && (e.getBoundingClientRect().right > root.clientWidth + 0.5
		|| (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0)));
	if (wide.length === 0) return ['something on the page'];
	return wide.slice(0, 6).map(e => name(e) + ' to ' + Math.round(Math.max(e.getBoundingClientRect().right, e.getBoundingClientRect().left + e.scrollWidth)) + ' px');
})()`

// widerJS lists what is wider than the box it is in, or sticks out of it
// to either side: a box that clips its content (or scrolls it) hides that
// from the sideways-scroll check. Only a table's own scrolling wrapper, a
// preformatted block and what is positioned out of the flow may do so.
const widerJS = `(() => {
	const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
	const out = [];
	for (const e of document.querySelectorAll('main *, header *, footer *, dialog[open] *')) {
		if (e.closest('.table-wrap, pre, svg')) continue;
		const cs = getComputedStyle(e);
		if (cs.position === 'absolute' || cs.position === 'fixed' || cs.display === 'none' || cs.display === 'contents') continue;
		let p = e.parentElement;
		while (p && getComputedStyle(p).display === 'contents') p = p.parentElement;
		if (!p || getComputedStyle(p).display === 'inline') continue;
		const r = e.getBoundingClientRect(), pr = p.getBoundingClientRect();
		if (r.width === 0 || r.height === 0) continue;
		if (r.right > pr.right + 1 || r.left < pr.left - 1) {
			out.push(name(e) + ' (' + Math.round(r.left) + '–' + Math.round(r.right) + ' px) in ' + name(p) + ' (' + Math.round(pr.left) + '–' + Math.round(pr.right) + ' px)');
		}
	}
	return out.slice(0, 6);
})()`

// checkPage checks the page state the browser shows at each width: no
// axe-core violation, and on the phone no sideways scroll and nothing
// wider than the box it is in. It saves a
// screenshot at each width, and leaves the page at the desktop width.
func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, w := range []int64{desktopWidth, phoneWidth} {
		setWidth(t, ctx, w)
		for _, v := range runAxe(t, ctx) {
			t.Errorf("%s at %d px: axe-core %s: %s\n\t%s", name, w, v.ID, v.Help, strings.Join(v.Nodes, "\n\t"))
		}
		if w == phoneWidth {
			if wide := eval[[]string](t, ctx, sidewaysJS); len(wide) > 0 {
				width := eval[int](t, ctx, `document.documentElement.scrollWidth`)
				t.Errorf("%s at %d px scrolls sideways, %d px wide: %s", name, w, width, strings.Join(wide, ", "))
			}
			if wider := eval[[]string](t, ctx, widerJS); len(wider) > 0 {
				t.Errorf("%s at %d px: wider than its box: %s", name, w, strings.Join(wider, "; "))
			}
		}
		shot(t, ctx, fmt.Sprintf("%s-%d", name, w))
	}
	setWidth(t, ctx, desktopWidth)
}

// assertBeside fails the test unless the element sel matches shows inside
// the window, right under (or beside) the element of next: where the eye
// already is.
func assertBeside(t *testing.T, ctx context.Context, what, sel, next string) {
	t.Helper()
	type box struct {
		Top    float64 `json:"top"`
		Bottom float64 `json:"bottom"`
		Gap    float64 `json:"gap"`
		View   float64 `json:"view"`
	}
	b := eval[box](t, ctx, `(() => {
		const e = document.querySelector(`+strconv.Quote(sel)+`).getBoundingClientRect();
		const n = document.querySelector(`+strconv.Quote(next)+`).getBoundingClientRect();
		return {top: e.top, bottom: e.bottom, gap: e.top - n.bottom, view: window.innerHeight};
	})()`)
	if b.Top < -1 || b.Bottom > b.View+1 { // a pixel of slack for sub-pixel layout
		t.Errorf("%s is out of sight: from %.0f to %.0f px in a window %.0f px high", what, b.Top, b.Bottom, b.View)
	}
	if b.Gap < -1 || b.Gap > 80 {
		t.Errorf("%s is %.0f px from what it is about; want it right under it", what, b.Gap)
	}
}

// waitAnnounced waits until the page's live region of kind ("status" or
// "alert") reads want.
func waitAnnounced(t *testing.T, ctx context.Context, kind, want string) {
	t.Helper()
	js := `document.getElementById('announce-` + kind + `').textContent`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js+`.includes(`+strconv.Quote(want)+`)`, chromedp.WithPollingTimeout(waitTimeout))); err != nil {
		got := eval[string](t, ctx, js)
		t.Errorf("the %s live region reads %q; want it to say %q", kind, got, want)
	}
}

// waitFocus waits until the focus is on the element sel matches.
func waitFocus(t *testing.T, ctx context.Context, what, sel string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.activeElement && document.activeElement.matches(`+strconv.Quote(sel)+`)`,
		chromedp.WithPollingTimeout(waitTimeout))); err != nil {
		got := eval[string](t, ctx, `(e => e ? e.outerHTML.slice(0, 160) : 'nothing')(document.activeElement)`)
		t.Errorf("%s: the focus is on %s; want %s", what, got, sel)
	}
}

// cutProxy stands between the browser and the portal, on an address of its
// own, so a test can stop "the server" mid-flow as the browser sees it:
// Stop closes the listener and every open connection, Start listens on the
// same address again, and Slow holds each answer back.
type cutProxy struct {
	URL    string
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	slow  time.Duration
}

// startProxy serves a proxy to target (host:port) until the test ends.
func startProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &cutProxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.URL = "http://" + p.addr
	p.serve(ln)
	t.Cleanup(p.Stop)
	return p
}

func (p *cutProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *cutProxy) pipe(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // stopped meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	done := func() {
		c.Close()
		s.Close()
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, s)
		p.mu.Unlock()
	}
	go func() {
		io.Copy(s, c)
		done()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			p.mu.Lock()
			slow := p.slow
			p.mu.Unlock()
			time.Sleep(slow)
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	done()
}

// Stop cuts the browser off from the portal, as a stopped server would.
func (p *cutProxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// Start lets the browser reach the portal again, on the same address.
func (p *cutProxy) Start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// Slow holds each answer back by d; 0 lets them through at once.
func (p *cutProxy) Slow(d time.Duration) {
	p.mu.Lock()
	p.slow = d
	p.mu.Unlock()
}

// dialogs answers the page's confirm() dialogs: accept or dismiss, as set
// before the click that opens one; each message is sent on the channel.
type dialogs struct {
	accept   atomic.Bool
	messages chan string
}

func answerDialogs(t *testing.T, ctx context.Context) *dialogs {
	t.Helper()
	d := &dialogs{messages: make(chan string, 8)}
	err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			d.messages <- ev.Message
			accept := d.accept.Load()
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
		}
	})
	if err != nil {
		t.Fatalf("listen for dialogs: %v", err)
	}
	return d
}

// next waits for the message of the next dialog.
func (d *dialogs) next(t *testing.T, what string) string {
	t.Helper()
	select {
	case m := <-d.messages:
		return m
	case <-time.After(waitTimeout):
		t.Fatalf("%s: no confirmation was asked", what)
		return ""
	}
}

// grantClipboard lets the pages of origin read and write the clipboard, so
// a test can read what a copy button copied.
func grantClipboard(t *testing.T, ctx context.Context, origin string) {
	t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{Origin: origin,
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted})
		if err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
}

// press sends keys to the page, as typed on the keyboard.
// press sends keys once the page's shortcuts listen: portal.js is deferred,
// and a key pressed before it runs is lost.
func press(t *testing.T, ctx context.Context, what, keys string) {
	t.Helper()
	waitUntil(t, ctx, what+": the page's keys listen", `document.documentElement.hasAttribute('data-keys-ready')`)
	do(t, ctx, what, chromedp.KeyEvent(keys))
}

// typeInto replaces what the field with id holds by what is typed, key by key.
func typeInto(t *testing.T, ctx context.Context, id, typed string) {
	t.Helper()
	eval[chromedp.Void](t, ctx, `(e => { e.value = ''; e.focus(); })(document.getElementById(`+strconv.Quote(id)+`))`)
	do(t, ctx, "type "+typed+" into #"+id, chromedp.SendKeys(chromedp.ID(id), typed))
}
