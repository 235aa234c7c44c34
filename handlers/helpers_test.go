package handlers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/demo"
	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/handlers"
)

// testClock is the store's clock in tests. The offset is atomic because the
// server's goroutines read the clock while a test moves it.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time {
	return time.Now().UTC().Add(time.Duration(c.offset.Load()))
}

// Advance moves the clock forward by d.
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Reset puts the clock back to the real time.
func (c *testClock) Reset() { c.offset.Store(0) }

// testApp is the portal served by httptest on a fresh, seeded database file.
type testApp struct {
	Store *db.Store
	Path  string // the database file
	URL   string
	Clock *testClock
	// Routes is the route table the portal serves.
	Routes []*echo.Route

	raw *sql.DB // a connection of its own, to look at and change the data behind the portal's back
}

// newTestApp serves the portal with emails held, as with no mail server configured.
func newTestApp(t testing.TB) *testApp { return newTestAppWith(t, nil) }

// newTestAppWith serves the portal after configure has changed the handlers;
// configure may start collaborators that need the store.
func newTestAppWith(t testing.TB, configure func(app *testApp, h *handlers.Handlers)) *testApp {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	store, err := db.Open(ctx, path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	app := &testApp{Store: store, Path: path, Clock: &testClock{}}
	store.Now = app.Clock.Now
	store.Mail = emails.Renderer{Brand: "Test Carrier"}
	if _, err := demo.Seed(ctx, store); err != nil {
		t.Fatalf("seed demo data: %v", err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("open raw connection: %v", err)
	}
	t.Cleanup(func() { raw.Close() })
	app.raw = raw

	key := make([]byte, 32)
	rand.Read(key)
	h := handlers.Handlers{
		Store:      store,
		Sessions:   store.NewSessionStore(key, false),
		Log:        slog.New(slog.DiscardHandler),
		CookieName: "esim_session",
		MailHeld:   true,
	}
	if configure != nil {
		configure(app, &h)
	}
	e := handlers.New(h).Routes()
	app.Routes = e.Routes()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	app.URL = srv.URL
	return app
}

// count runs a counting query on the app's database.
func (a *testApp) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := a.raw.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// subscriber finds a demo subscriber by account number.
func (a *testApp) subscriber(t testing.TB, account string) db.Subscriber {
	t.Helper()
	found, err := a.Store.SearchSubscribers(context.Background(), account, 5)
	if err != nil {
		t.Fatalf("search %s: %v", account, err)
	}
	for _, s := range found {
		if s.AccountNumber == account {
			return s
		}
	}
	t.Fatalf("no demo subscriber %s", account)
	return db.Subscriber{}
}

// plan finds a plan of the catalog, sold or not, by name.
func (a *testApp) plan(t testing.TB, name string) db.Plan {
	t.Helper()
	plans, err := a.Store.Plans(context.Background(), true)
	if err != nil {
		t.Fatalf("plans: %v", err)
	}
	for _, p := range plans {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no plan %q in the catalog", name)
	return db.Plan{}
}

// lines returns the subscriber's eSIM lines as the store has them.
func (a *testApp) lines(t testing.TB, subscriberID int64) []db.ESIM {
	t.Helper()
	lines, err := a.Store.Lines(context.Background(), subscriberID)
	if err != nil {
		t.Fatalf("lines of %d: %v", subscriberID, err)
	}
	return lines
}

// client is a browser without JavaScript: it keeps cookies and does not
// follow redirects, so tests see them.
type client struct {
	base string
	hc   *http.Client
}

func (a *testApp) newClient(t testing.TB) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{base: a.URL, hc: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is an HTTP response with its body read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Location is the redirect target.
func (r *response) Location() string { return r.Header.Get("Location") }

// doc parses the body as HTML.
func (r *response) doc(t testing.TB) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return d
}

// do sends a request; headers are name, value pairs.
func (c *client) do(t testing.TB, method, path string, form url.Values, headers ...string) *response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (c *client) get(t testing.TB, path string, headers ...string) *response {
	t.Helper()
	return c.do(t, http.MethodGet, path, nil, headers...)
}

func (c *client) post(t testing.TB, path string, form url.Values, headers ...string) *response {
	t.Helper()
	return c.do(t, http.MethodPost, path, form, headers...)
}

// page GETs a page that must answer 200 and parses it.
func (c *client) page(t testing.TB, path string, headers ...string) *goquery.Document {
	t.Helper()
	r := c.get(t, path, headers...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", path, r.Status)
	}
	return r.doc(t)
}

// cookie returns the value of a cookie the client holds for the portal.
func (c *client) cookie(t testing.TB, name string) string {
	t.Helper()
	u, err := url.Parse(c.base)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// formValues reads the named inputs of the form sel on the page at path, as
// a browser would submit them (radio buttons only when checked).
func (c *client) formValues(t testing.TB, path, sel string) url.Values {
	t.Helper()
	form := c.page(t, path).Find(sel)
	if form.Length() == 0 {
		t.Fatalf("GET %s: no form %s", path, sel)
	}
	v := url.Values{}
	form.Find("input[name]").Each(func(_ int, in *goquery.Selection) {
		typ, _ := in.Attr("type")
		if (typ == "radio" || typ == "checkbox") && in.AttrOr("checked", "\x00") == "\x00" {
			return
		}
		v.Add(in.AttrOr("name", ""), in.AttrOr("value", ""))
	})
	return v
}

// csrfToken reads the CSRF token a page puts in its forms.
func (c *client) csrfToken(t testing.TB, path string) string {
	t.Helper()
	token, ok := c.page(t, path).Find(`input[name="_csrf"]`).First().Attr("value")
	if !ok || token == "" {
		t.Fatalf("GET %s: no _csrf input", path)
	}
	return token
}

// signIn fills in and sends the sign-in form.
func signIn(t testing.TB, c *client, email, password string) *response {
	t.Helper()
	return c.post(t, "/login", url.Values{
		"_csrf":    {c.csrfToken(t, "/login")},
		"email":    {email},
		"password": {password},
	})
}

// signedIn returns a new client signed in as the demo agent.
func signedIn(t testing.TB, app *testApp) *client {
	t.Helper()
	c := app.newClient(t)
	if r := signIn(t, c, demo.AgentEmail, demo.AgentPassword); r.Status != http.StatusSeeOther {
		t.Fatalf("sign in: status %d, want 303", r.Status)
	}
	return c
}

// text is the text of a selection as a person reads it: whitespace collapsed.
func text(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

// texts is the text of each element of a selection.
func texts(s *goquery.Selection) []string {
	var out []string
	s.Each(func(_ int, e *goquery.Selection) { out = append(out, text(e)) })
	return out
}
