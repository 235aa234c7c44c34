// Package portaltest runs the portal for tests: the real store on a fresh
// SQLite file with the demo data, the real router behind a real listener,
// the outbox worker when a test mail server is given, a clock tests can move,
// and browsers without JavaScript signed in as the demo agent or team lead;
// or the built program as a process of its own (program.go), for the tests
// that stop or kill it.
package portaltest

import (
	"cmp"
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/dbtest"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/demo/demotest"
	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/logtest"
	"github.com/carrier/esim-admin/signin"
	"github.com/carrier/esim-admin/smdp"
	"github.com/carrier/esim-admin/smdp/smdptest"
)

// Options change the portal a test runs.
type Options struct {
	// Mail, when set, has the outbox worker deliver the emails to this
	// server; without it they stay queued, as with no mail server configured.
	Mail *smtptest.Server
	// Configure changes the handlers before their routes are built.
	Configure func(h *handlers.Handlers)
	// DB, when set, is a database file the portal serves a copy of (a scale
	// data set, say) instead of the demo data.
	DB string
	// SMDP, when set, is the portal's SM-DP+: Add line and Replace eSIM
	// order profiles from it over ES2+ through a provisioning worker, and
	// the portal's ES2+ listener (Portal.ES2URL) takes its notifications.
	SMDP *smdptest.Server
	// SMDPTimeout bounds one ES2+ call; 5 seconds when zero.
	SMDPTimeout time.Duration
	// SignIn, when set, makes the single sign-on of the portal served at
	// baseURL, whose callback the provider must know.
	SignIn func(baseURL string) *signin.Provider
}

// Portal is the portal serving a test.
type Portal struct {
	URL   string // base URL, e.g. http://127.0.0.1:54321
	log   *logtest.Buffer
	Store *db.Store
	Clock *Clock
	// Routes is the route table the portal serves.
	Routes []*echo.Route
	// Raw is a connection of its own to the database file, to look at and
	// change the data behind the portal's back.
	Raw *sql.DB
	// ES2URL is the base URL of the portal's ES2+ listener, with an SM-DP+.
	ES2URL string
	// StopProvisioning stops the provisioning worker, as a shutdown does,
	// and StartProvisioning starts a new one, as the next start of the
	// portal does; both nil without an SM-DP+.
	StopProvisioning, StartProvisioning func()
	// WakeProvisioning has the worker look for due orders now, after a
	// test moved the clock past a retry.
	WakeProvisioning func()
}

// brand signs the emails the portal sends in tests.
const brand = "Test Carrier"

// Start serves the portal with emails held; it stops when the test ends.
func Start(t testing.TB) *Portal { return StartWith(t, Options{}) }

// StartWith serves the portal as opts say; it stops when the test ends.
func StartWith(t testing.TB, opts Options) *Portal {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portal.db")
	if opts.DB != "" {
		if err := demotest.CopyFile(opts.DB, path); err != nil {
			t.Fatalf("portaltest: copy %s: %v", opts.DB, err)
		}
	} else if err := copyDemo(path); err != nil {
		t.Fatalf("portaltest: %v", err)
	}
	store := dbtest.OpenFile(t, path)
	p := &Portal{Store: store, Clock: &Clock{}, Raw: dbtest.Raw(t, path)}
	store.Now = p.Clock.Now
	store.Mail = emails.Renderer{Brand: brand}

	key, err := store.SessionKey(ctx)
	if err != nil {
		t.Fatalf("portaltest: session key: %v", err)
	}
	// The portal's log, at the level it logs at in production, is shown if
	// the test fails, and checked for customer data when the test ends.
	logs := &logtest.Buffer{}
	p.log = logs
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	t.Cleanup(func() {
		if t.Failed() && logs.Len() > 0 {
			t.Logf("portal log:\n%s", logs.String())
		}
	})
	h := handlers.Handlers{
		Store:      store,
		Sessions:   handlers.NewSessionStore(store, key, false),
		Log:        log,
		CookieName: "esim_session",
		MailHeld:   true,
		Metrics:    handlers.NewMetrics(store),
	}
	store.Observe = h.Metrics.ObserveCommit
	if opts.Mail != nil {
		sender, err := emails.NewSender(emails.SMTPConfig{Addr: opts.Mail.Addr, From: brand + " <esim@carrier.test>", Timeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("portaltest: mail sender: %v", err)
		}
		worker := &emails.Worker{Store: store, Sender: sender, Logger: log, Now: store.Now}
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			worker.Run(ctx)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
		})
		h.MailHeld = false
		h.MailQueued = worker.Notify
		h.Outbox = worker.Status
	}
	if opts.SMDP != nil {
		p.startSMDP(t, opts, &h, log)
	}
	// The listener comes first: single sign-on needs the portal's address.
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	p.URL = "http://" + srv.Listener.Addr().String()
	if opts.SignIn != nil {
		h.SSO = opts.SignIn(p.URL)
		h.SSOName = "Sign in with Test IdP"
	}
	if opts.Configure != nil {
		opts.Configure(&h)
	}
	// Registered here, it runs once the server and the worker have stopped,
	// while the database is still open.
	// Not after a benchmark: it compares every line with every subscriber's
	// details, which at the scale data set's million takes many minutes.
	if _, bench := t.(*testing.B); !bench {
		t.Cleanup(func() { CheckLog(t, p.Raw, logs.String(), h.APIToken) })
	}
	e := handlers.New(h).Routes()
	p.Routes = e.Routes()
	srv.Config.Handler = e
	srv.Start()
	if opts.SMDP != nil {
		p.serveES2(t, opts.SMDP.PKI, h)
	}
	return p
}

// startSMDP turns provisioning on, as -smdp-url does, with the fake's
// certificates, and runs the provisioning worker until the test ends.
func (p *Portal) startSMDP(t testing.TB, opts Options, h *handlers.Handlers, log *slog.Logger) {
	t.Helper()
	pki := opts.SMDP.PKI
	client, err := smdp.NewClient(smdp.Config{URL: opts.SMDP.URL, RequesterID: "carrier-test", CertFile: pki.PortalClientCert,
		KeyFile: pki.PortalClientKey, CAFile: pki.CAFile, Timeout: cmp.Or(opts.SMDPTimeout, 5*time.Second)})
	if err != nil {
		t.Fatalf("portaltest: SM-DP+ client: %v", err)
	}
	p.Store.SMDP = true
	mailQueued := h.MailQueued
	if mailQueued == nil {
		mailQueued = func() {}
	}
	var (
		mu     sync.Mutex
		worker *smdp.Worker
		stop   func()
	)
	p.StartProvisioning = func() {
		mu.Lock()
		defer mu.Unlock()
		worker = &smdp.Worker{Store: p.Store, Client: client, Logger: log, Now: p.Store.Now, MailQueued: mailQueued,
			Observe: h.Metrics.SMDPCall, BaseBackoff: time.Second, MaxBackoff: time.Minute}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			worker.Run(ctx)
		}()
		stop = func() {
			cancel()
			<-done
		}
	}
	p.StopProvisioning = func() {
		mu.Lock()
		defer mu.Unlock()
		if stop != nil {
			stop()
			stop = nil
		}
	}
	p.StartProvisioning()
	t.Cleanup(p.StopProvisioning)
	p.WakeProvisioning = func() {
		mu.Lock()
		defer mu.Unlock()
		if worker != nil {
			worker.Notify()
		}
	}
	h.MailQueued = func() {
		mailQueued()
		p.WakeProvisioning()
	}
	h.Provisioning = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return worker.LastRun()
	}
}

// serveES2 serves the portal's ES2+ listener with mutual TLS: only a client
// certificate of pki's CA gets through the handshake.
func (p *Portal) serveES2(t testing.TB, pki *smdptest.PKI, h handlers.Handlers) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pki.PortalServerCert, pki.PortalServerKey)
	if err != nil {
		t.Fatalf("portaltest: ES2+ certificate: %v", err)
	}
	es2 := httptest.NewUnstartedServer(handlers.New(h).ES2Routes())
	es2.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.Pool}
	es2.StartTLS()
	t.Cleanup(es2.Close)
	p.ES2URL = es2.URL
}

// demoFile is the demo data set, seeded once per test binary and copied for
// each portal: seeding walks months of the portal's operations, a second or
// so, which every test would otherwise pay.
var demoFile struct {
	once sync.Once
	path string
	err  error
}

// copyDemo writes a fresh copy of the demo database to path.
func copyDemo(path string) error {
	demoFile.once.Do(func() {
		dir, err := os.MkdirTemp("", "portaltest-demo-")
		if err != nil {
			demoFile.err = err
			return
		}
		demoFile.path = filepath.Join(dir, "demo.db")
		demoFile.err = seedDemo(demoFile.path)
	})
	if demoFile.err != nil {
		return fmt.Errorf("seed demo data: %w", demoFile.err)
	}
	return demotest.CopyFile(demoFile.path, path)
}

func seedDemo(path string) error {
	ctx := context.Background()
	store, err := db.Open(ctx, path)
	if err != nil {
		return err
	}
	store.PasswordCost = bcrypt.MinCost
	store.Now = (&Clock{}).Now
	store.Mail = emails.Renderer{Brand: brand}
	if _, err := demo.Seed(ctx, store); err != nil {
		store.Close()
		return err
	}
	// Closing the last connection moves the write-ahead log into the file.
	return store.Close()
}

// Log is what the portal has logged so far, at the level it logs at in
// production.
func (p *Portal) Log() string { return p.log.String() }

// WaitForLog waits until the portal has logged a line that match accepts,
// and returns it: for what the portal logs after its answer has gone, such
// as a request whose client hung up. It fails the test if no such line
// comes within a minute.
func (p *Portal) WaitForLog(t testing.TB, match func(line string) bool) string {
	t.Helper()
	line, ok := p.log.WaitFor(match, time.Minute)
	if !ok {
		t.Fatalf("portaltest: no such line logged within a minute")
	}
	return line
}

// Clock is the portal's clock: the real time, moved forward by tests. The
// offset is atomic because the server's goroutines read the clock while a
// test moves it.
type Clock struct{ offset atomic.Int64 }

// Now is the portal's time.
func (c *Clock) Now() time.Time {
	return time.Now().UTC().Add(time.Duration(c.offset.Load()))
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Reset puts the clock back to the real time.
func (c *Clock) Reset() { c.offset.Store(0) }

// Count runs a counting query on the portal's database.
func (p *Portal) Count(t testing.TB, query string, args ...any) int {
	t.Helper()
	return dbtest.Count(t, p.Raw, query, args...)
}

// Subscriber finds a demo subscriber by account number.
func (p *Portal) Subscriber(t testing.TB, account string) db.Subscriber {
	t.Helper()
	found, err := p.Store.SearchSubscribers(context.Background(), account, 5)
	if err != nil {
		t.Fatalf("search %s: %v", account, err)
	}
	for _, s := range found {
		if s.AccountNumber == account {
			return s.Subscriber
		}
	}
	t.Fatalf("no demo subscriber %s", account)
	return db.Subscriber{}
}

// LoginID is the id of the login with email, as the portal's addresses
// carry it (/users/ID).
func (p *Portal) LoginID(t testing.TB, email string) string {
	t.Helper()
	var id int64
	if err := p.Raw.QueryRow(`SELECT id FROM logins WHERE email = ?`, email).Scan(&id); err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return strconv.FormatInt(id, 10)
}

// Plan finds a plan of the catalog, sold or not, by name.
func (p *Portal) Plan(t testing.TB, name string) db.Plan {
	t.Helper()
	plans, err := p.Store.Plans(context.Background(), true)
	if err != nil {
		t.Fatalf("plans: %v", err)
	}
	for _, pl := range plans {
		if pl.Name == name {
			return pl
		}
	}
	t.Fatalf("no plan %q in the catalog", name)
	return db.Plan{}
}

// Lines returns the subscriber's eSIM lines as the store has them.
func (p *Portal) Lines(t testing.TB, subscriberID int64) []db.ESIM {
	t.Helper()
	lines, err := p.Store.Lines(context.Background(), subscriberID)
	if err != nil {
		t.Fatalf("lines of %d: %v", subscriberID, err)
	}
	return lines
}
