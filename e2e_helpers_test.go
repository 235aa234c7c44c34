package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browserTestTimeout bounds a whole browser test, so a page that never
// shows what a test waits for fails the test instead of hanging the run.
const browserTestTimeout = 90 * time.Second

// portal is the real program running in-process for a test.
type portal struct {
	URL string // base URL, e.g. http://127.0.0.1:54321
	DB  string // the database file, fresh for each test
}

// startPortal runs the program as `esim-admin -addr ... -db ...` with the
// environment env (every other variable reads as empty, so the developer's
// own ESIM_* settings never leak in). The demo data is loaded, as it is by
// default. The program stops when the test ends. Pass ESIM_SMTP_ADDR in env
// to send the emails to a test mail server.
func startPortal(t *testing.T, env map[string]string) *portal {
	t.Helper()
	addr := freeAddr(t)
	p := &portal{URL: "http://" + addr, DB: filepath.Join(t.TempDir(), "e2e.db")}

	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	getenv := func(key string) string { return env[key] }
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", addr, "-db", p.DB}, getenv, strings.NewReader(""), &out, &out)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("portal stopped with an error: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("portal did not stop within 15s of its context ending")
		}
		if t.Failed() {
			t.Logf("portal output:\n%s", out.String())
		}
	})

	if err := waitUntilServing(p.URL+"/login", done, 20*time.Second); err != nil {
		t.Fatalf("start the portal: %v\noutput:\n%s", err, out.String())
	}
	return p
}

// freeAddr finds a port nobody listens on. Another process could take it
// before the portal does, which is rare enough on a test machine.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("free the port: %v", err)
	}
	return addr
}

// waitUntilServing polls the sign-in page until it answers 200, or until
// run returns early with the reason it could not start.
func waitUntilServing(loginURL string, done <-chan error, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("run returned before serving: %v", err)
		case <-tick.C:
		}
		res, err := client.Get(loginURL)
		if err != nil {
			last = err
			continue
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("GET %s: %s", loginURL, res.Status)
	}
	return fmt.Errorf("not serving after %s: %v", timeout, last)
}

// lockedBuffer collects the program's output, written from its goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
// stops (cleanups run last-in first-out): a socket Chromium opened ahead of
// need would otherwise hold up the server's graceful shutdown for seconds.
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
	if err := chromedp.Do(ctx); err != nil {
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
			problems = append(problems, "console.error: "+strings.Join(args, " "))
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
