// Package browsertest drives the portal's pages in a real, headless
// Chromium for end-to-end tests: a browser that fails the test on a
// JavaScript error, a console.error or a broken Content-Security-Policy,
// steps that say what they were doing when they fail and keep a picture of
// the page, waits for HTMX's swaps, the axe-core and phone-width checks of a
// page state, screenshots, and the answers to confirm() dialogs. The proxy
// that cuts the browser off from the portal is portaltest.Proxy.
package browsertest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Timeout bounds a whole browser test, so a page that never shows what a
// test waits for fails the test instead of hanging the run.
const Timeout = 150 * time.Second

// WaitTimeout bounds each wait for something to appear; far above what the
// pages need, far below the test's own timeout so a failure says where.
const WaitTimeout = 15 * time.Second

// Path finds Chromium or Chrome on PATH.
func Path() (string, bool) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// New starts a headless Chromium with a fresh profile and returns the
// context of its first tab, ended after Timeout at the latest.
// Where no browser is installed the test is skipped, except on CI, where
// skipping would hide that the flows were never clicked through.
//
// Call it after starting the portal, so that the browser closes before it
// stops (cleanups run last-in first-out): a request the browser still has
// open would otherwise hold up the server's Close.
//
// The test fails at its end if the page threw an uncaught exception, called
// console.error, or broke the Content-Security-Policy: each of these means
// a piece of the page silently did not work.
func New(t testing.TB) context.Context {
	t.Helper()
	path, ok := Path()
	if !ok {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found: CI requires the browser tests")
		}
		t.Skip("chromium not found; install Debian's chromium to run the browser tests")
	}

	timeout, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
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
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(DesktopWidth, ViewHeight)); err != nil {
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
		case *cdpruntime.EventExceptionThrown:
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text += " " + d.Exception.Description
			}
			problems = append(problems, fmt.Sprintf("JS exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type != cdpruntime.ConsoleAPICalledTypeError {
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

// ExpectConsoleErrors lets console errors containing any of the substrings
// pass in the browser of ctx from now on.
func ExpectConsoleErrors(ctx context.Context, substrings ...string) {
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

// ScreenshotDir is E2E_SCREENSHOTS, or a directory made once per run that
// outlives the tests so a person can look at the pages afterwards.
func ScreenshotDir() (string, error) {
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

// Shot saves a full-page PNG of what the browser shows, named after the
// test, the order of the shot and name.
func Shot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir, err := ScreenshotDir()
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

// Location returns the URL the browser shows.
func Location(t testing.TB, ctx context.Context) *url.URL {
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

// Text returns the visible text of the first element sel matches, trimmed.
func Text(t testing.TB, ctx context.Context, sel chromedp.CSS) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("read the text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// Do runs browser steps and fails the test, saying what it was doing, if
// one of them fails.
func Do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		ShotOnFailure(t, ctx, what)
		t.Fatalf("%s: %v", what, err)
	}
}

// ShotOnFailure keeps a picture of the page a step gave up on; the step may
// have failed because the browser is gone, so its own errors are only logged.
func ShotOnFailure(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	if ctx.Err() != nil {
		return
	}
	dir, err := ScreenshotDir()
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

// SignIn signs in from the sign-in page of the portal at baseURL and waits
// for the subscriber search, where a sign-in without a next page lands.
func SignIn(t testing.TB, ctx context.Context, baseURL, email, password string) {
	t.Helper()
	Do(t, ctx, "open the sign-in page",
		chromedp.Navigate(baseURL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	Shot(t, ctx, "login")
	Do(t, ctx, "sign in as "+email,
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("q")),
	)
	if u := Location(t, ctx); u.Path != "/subscribers" {
		t.Fatalf("after signing in as %s the browser is at %s; want /subscribers", email, u)
	}
	Shot(t, ctx, "subscribers")
}

// SignOut signs out from the header and waits for the sign-in page.
func SignOut(t testing.TB, ctx context.Context) {
	t.Helper()
	Do(t, ctx, "sign out",
		chromedp.Click(chromedp.Search(`//header//button[normalize-space()="Sign out"]`)),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	if u := Location(t, ctx); u.Path != "/login" {
		t.Fatalf("after signing out the browser is at %s; want /login", u)
	}
	Shot(t, ctx, "signed-out")
}

// WaitUntil polls the JavaScript expression until it is truthy, and fails
// the test, saying what it waited for, if it never is.
func WaitUntil(t testing.TB, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(`+expr+`)`, chromedp.WithPollingTimeout(WaitTimeout))); err != nil {
		ShotOnFailure(t, ctx, what)
		t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression and returns its value.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// MarkPage leaves a marker on window that only a page load removes, so
// SamePage can tell an in-place swap from a reload.
func MarkPage(t testing.TB, ctx context.Context) {
	t.Helper()
	Eval[chromedp.Void](t, ctx, `window.e2eSamePage = true`)
}

// SamePage fails the test if the page was loaded again since MarkPage.
func SamePage(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	if !Eval[bool](t, ctx, `window.e2eSamePage === true`) {
		t.Errorf("%s loaded a new page instead of swapping in place", what)
	}
}

// StaleAttr marks an element HTMX is about to replace, so a wait can tell
// the old element from the one the server sends in its place: the old one
// already shows what the browser changed, e.g. a radio button checked.
const StaleAttr = "data-e2e-stale"

// MarkStale marks every element sel matches as stale.
func MarkStale(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	Eval[chromedp.Void](t, ctx, `document.querySelectorAll(`+strconv.Quote(sel)+`).forEach(e => e.setAttribute(`+strconv.Quote(StaleAttr)+`, ""))`)
}

// Fresh is a CSS selector for the element sel matches once HTMX swapped it
// in, after MarkStale, with no request of the page still running.
func Fresh(sel string) string {
	return sel + `:not([` + StaleAttr + `])`
}

// FreshJS is a JavaScript expression for the element sel matches once it
// has been swapped in and no HTMX request runs (or, when inner is set, the
// element inner matches inside it); null until then.
func FreshJS(sel, inner string) string {
	q := Fresh(sel)
	if inner != "" {
		q += " " + inner
	}
	return `(document.querySelector('.htmx-request') ? null : document.querySelector(` + strconv.Quote(q) + `))`
}

// PlanRadio is the radio button of the plan named name in the form with id formID.
func PlanRadio(formID, name string) chromedp.Search {
	return chromedp.Search(`//form[@id="` + formID + `"]//div[contains(@class,"plan-option")][.//span[@class="plan-name" and normalize-space()="` +
		name + `"]]/input[@name="plan"]`)
}

// ChoosePlan picks a plan in an HTMX form that reloads itself when the plan
// changes, and waits for the form the server sends back with that plan.
func ChoosePlan(t testing.TB, ctx context.Context, formID, name string) {
	t.Helper()
	radio := PlanRadio(formID, name)
	find, cancel := context.WithTimeout(ctx, WaitTimeout)
	defer cancel()
	id, err := chromedp.Run(find, chromedp.AttributeValue(radio, "id"))
	if err != nil || !id.Exists {
		ShotOnFailure(t, ctx, "find the plan "+name)
		t.Fatalf("find the radio button of the plan %s in #%s: %v", name, formID, err)
	}
	MarkStale(t, ctx, "#"+formID)
	Do(t, ctx, "choose the plan "+name, chromedp.Click(radio))
	WaitUntil(t, ctx, "the form comes back with "+name+" chosen", FreshJS("#"+formID, "#"+id.Value+":checked"))
	WaitSettled(t, ctx, "#"+formID)
}

// NarrowTo types the country into a form's country box and waits for the
// plans that cover it: Add line lists none before.
func NarrowTo(t testing.TB, ctx context.Context, formID, country string) {
	t.Helper()
	WaitSettled(t, ctx, "#"+formID)
	MarkStale(t, ctx, "#"+formID+"-plans")
	TypeInto(t, ctx, formID+"-country", country)
	WaitUntil(t, ctx, "the plans narrow to "+country, FreshJS("#"+formID+"-plans", "[data-testid=plan-summary]"))
	WaitSettled(t, ctx, "#"+formID)
}

// WaitSettled waits until htmx has taken over the element sel and nothing is
// in flight or settling: a click before that would go out as a plain form
// post, not through htmx.
func WaitSettled(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	WaitUntil(t, ctx, "htmx settles on "+sel, `(() => {
		const el = document.querySelector(`+"`"+sel+"`"+`);
		return el && el['htmx-internal-data'] && !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping');
	})()`)
}

// WaitVisible waits at most WaitTimeout for sel to show, so a step that
// never happens fails with what was awaited, well before the test times out.
func WaitVisible[S chromedp.Selectable](t testing.TB, ctx context.Context, what string, sel S) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, WaitTimeout)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(sel)); err != nil {
		ShotOnFailure(t, ctx, what)
		t.Fatalf("%s: %v", what, err)
	}
}

// Flash is the XPath of the message a page shows after a change, once it
// contains want.
func Flash(want string) chromedp.Search {
	return chromedp.Search(`//main/div[@data-testid="flash"][contains(., ` + XPathString(want) + `)]`)
}

// XPathString quotes s as an XPath string literal.
func XPathString(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return `'` + s + `'`
}

// The widths every page state is checked at: a desktop window and a phone,
// both 800 px high.
const (
	DesktopWidth int64 = 1280
	PhoneWidth   int64 = 390
)

const ViewHeight = 800

// AxeVersion is the axe-core vendored in testdata/axe-core.
const AxeVersion = "4.14.1"

// AxeSource reads axe-core once, from the repository's testdata whatever
// the test's working directory.
var AxeSource = sync.OnceValues(func() (string, error) {
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "..", "testdata", "axe-core", "axe.min.js"))
	return string(b), err
})

// SetWidth makes the page as wide as a window of width px, as a phone does
// below 600: the layout viewport, the media queries and no scrollbar in the
// way.
func SetWidth(t testing.TB, ctx context.Context, width int64) {
	t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if width < 600 {
		opts = append(opts, chromedp.EmulateMobile)
	}
	Do(t, ctx, fmt.Sprintf("set the width to %d px", width), chromedp.EmulateViewport(width, ViewHeight, opts...))
	// Two frames: the layout of the new width is done.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))`,
		chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("wait for the layout at %d px: %v", width, err)
	}
}

// AxeViolation is what the tests report of an axe-core violation.
type AxeViolation struct {
	ID    string   `json:"id"`
	Help  string   `json:"help"`
	Nodes []string `json:"nodes"`
}

// RunAxe runs axe-core's rules on the page as it is now; it injects
// axe-core first into a page that does not have it yet.
func RunAxe(t testing.TB, ctx context.Context) []AxeViolation {
	t.Helper()
	if !Eval[bool](t, ctx, `typeof window.axe === 'object'`) {
		src, err := AxeSource()
		if err != nil {
			t.Fatalf("read axe-core: %v", err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
			t.Fatalf("inject axe-core: %v", err)
		}
		if v := Eval[string](t, ctx, `axe.version`); v != AxeVersion {
			t.Fatalf("axe-core %s was injected; want %s", v, AxeVersion)
		}
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]AxeViolation](`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
		id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\s+/g, ' ')),
	})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	return v
}

// SidewaysJS lists what sticks out of the page to the right, making it
// scroll sideways, without what a scrolling box of its own holds: empty when
// the page fits its width.
const SidewaysJS = `(() => {
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

// WiderJS lists what is wider than the box it is in, or sticks out of it
// to either side: a box that clips its content (or scrolls it) hides that
// from the sideways-scroll check. Only a table's own scrolling wrapper, a
// preformatted block and what is positioned out of the flow may do so.
const WiderJS = `(() => {
	const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
	const out = [];
	for (const e of document.querySelectorAll('main *, header *, footer *, dialog[open] *')) {
		if (e.closest('.table-wrap, pre, svg')) continue;
		// What a closed <details> holds is laid out but not shown.
		const closed = e.closest('details:not([open])');
		if (closed && !e.closest('summary')) continue;
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

// CheckPage checks the page state the browser shows at each width: no
// axe-core violation, and on the phone no sideways scroll and nothing wider
// than the box it is in. It saves a screenshot at each width, and leaves
// the page at the desktop width.
func CheckPage(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	for _, w := range []int64{DesktopWidth, PhoneWidth} {
		SetWidth(t, ctx, w)
		for _, v := range RunAxe(t, ctx) {
			t.Errorf("%s at %d px: axe-core %s: %s\n\t%s", name, w, v.ID, v.Help, strings.Join(v.Nodes, "\n\t"))
		}
		if w == PhoneWidth {
			if wide := Eval[[]string](t, ctx, SidewaysJS); len(wide) > 0 {
				width := Eval[int](t, ctx, `document.documentElement.scrollWidth`)
				t.Errorf("%s at %d px scrolls sideways, %d px wide: %s", name, w, width, strings.Join(wide, ", "))
			}
			if wider := Eval[[]string](t, ctx, WiderJS); len(wider) > 0 {
				t.Errorf("%s at %d px: wider than its box: %s", name, w, strings.Join(wider, "; "))
			}
		}
		Shot(t, ctx, fmt.Sprintf("%s-%d", name, w))
	}
	SetWidth(t, ctx, DesktopWidth)
}

// AssertBeside fails the test unless the element sel matches shows inside
// the window, right under (or beside) the element of next: where the eye
// already is.
func AssertBeside(t testing.TB, ctx context.Context, what, sel, next string) {
	t.Helper()
	type box struct {
		Top    float64 `json:"top"`
		Bottom float64 `json:"bottom"`
		Gap    float64 `json:"gap"`
		View   float64 `json:"view"`
	}
	b := Eval[box](t, ctx, `(() => {
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

// WaitAnnounced waits until the page's live region of kind ("status" or
// "alert") reads want.
func WaitAnnounced(t testing.TB, ctx context.Context, kind, want string) {
	t.Helper()
	js := `document.getElementById('announce-` + kind + `').textContent`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js+`.includes(`+strconv.Quote(want)+`)`, chromedp.WithPollingTimeout(WaitTimeout))); err != nil {
		got := Eval[string](t, ctx, js)
		t.Errorf("the %s live region reads %q; want it to say %q", kind, got, want)
	}
}

// WaitFocus waits until the focus is on the element sel matches.
func WaitFocus(t testing.TB, ctx context.Context, what, sel string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.activeElement && document.activeElement.matches(`+strconv.Quote(sel)+`)`,
		chromedp.WithPollingTimeout(WaitTimeout))); err != nil {
		got := Eval[string](t, ctx, `(e => e ? e.outerHTML.slice(0, 160) : 'nothing')(document.activeElement)`)
		t.Errorf("%s: the focus is on %s; want %s", what, got, sel)
	}
}

// GrantClipboard lets the pages of origin read and write the clipboard, so
// a test can read what a copy button copied.
func GrantClipboard(t testing.TB, ctx context.Context, origin string) {
	t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{Origin: origin,
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted})
		if err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
}

// Press sends keys to the page, as typed on the keyboard, once the page's shortcuts listen: portal.js is deferred,
// and a key pressed before it runs is lost.
//
// Each key goes as a real keyboard sends it: its keydown and keypress in one
// event, then its keyup. (chromedp's KeyEvent sends the keypress apart, so on
// a busy machine an Enter that opens a form could land its keypress in the
// form's first field and submit it.)
func Press(t testing.TB, ctx context.Context, what, keys string) {
	t.Helper()
	WaitUntil(t, ctx, what+": the page's keys listen", `document.documentElement.hasAttribute('data-keys-ready')`)
	Do(t, ctx, what, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		for _, r := range keys {
			events := kb.Encode(r)
			if len(events) == 3 { // keyDown, char, keyUp
				down := *events[0]
				down.Text, down.UnmodifiedText = events[1].Text, events[1].UnmodifiedText
				events = []*input.DispatchKeyEventParams{&down, events[2]}
			}
			for _, ev := range events {
				if _, err := cdp.Call(ctx, target, input.DispatchKeyEvent, *ev); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// TypeInto replaces what the field with id holds by what is typed, key by key.
func TypeInto(t testing.TB, ctx context.Context, id, typed string) {
	t.Helper()
	Eval[chromedp.Void](t, ctx, `(e => { e.value = ''; e.focus(); })(document.getElementById(`+strconv.Quote(id)+`))`)
	Do(t, ctx, "type "+typed+" into #"+id, chromedp.SendKeys(chromedp.ID(id), typed))
}
