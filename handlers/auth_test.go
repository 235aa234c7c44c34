package handlers_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

const sessionCookie = "esim_session"

func TestRequireLogin(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.NewClient()

	t.Run("RedirectsToLogin", func(t *testing.T) {
		r := c.Get(t, "/subscribers")
		if got, want := r.Status, http.StatusSeeOther; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got, want := r.Location(), "/login?next=%2Fsubscribers"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
	})
	t.Run("HTMX", func(t *testing.T) {
		r := c.Get(t, "/subscribers", "HX-Request", "true")
		if got, want := r.Status, http.StatusUnauthorized; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got, want := r.Header.Get("HX-Redirect"), "/login?next=%2Fsubscribers"; got != want {
			t.Errorf("HX-Redirect = %q, want %q", got, want)
		}
	})
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)

	t.Run("OK", func(t *testing.T) {
		c := app.NewClient()
		r := c.SignIn(t, demo.AgentEmail, demo.AgentPassword)
		if got, want := r.Status, http.StatusSeeOther; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got, want := r.Location(), "/subscribers"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		doc := c.Page(t, "/subscribers")
		if got := text(doc.Find("header .whoami")); !strings.Contains(got, "Dana Whitfield") {
			t.Errorf("header reads %q, want the agent's name Dana Whitfield", got)
		}
		if got, want := text(doc.Find("h1")), "Subscribers"; got != want {
			t.Errorf("h1 = %q, want %q", got, want)
		}
	})
	t.Run("NextPage", func(t *testing.T) {
		c := app.NewClient()
		r := c.Get(t, "/subscribers?q=Priya")
		next, _ := url.Parse(r.Location())
		form := url.Values{
			"_csrf":    {c.CSRFToken(t, r.Location())},
			"email":    {demo.AgentEmail},
			"password": {demo.AgentPassword},
			"next":     {next.Query().Get("next")},
		}
		r = c.Post(t, "/login", form)
		if got, want := r.Location(), "/subscribers?q=Priya"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
	})
	for _, tc := range []struct{ name, email, password string }{
		{"WrongPassword", demo.AgentEmail, "not-the-password"},
		{"UnknownEmail", "nobody@example.com", demo.AgentPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := app.NewClient()
			r := c.SignIn(t, tc.email, tc.password)
			if got, want := r.Status, http.StatusUnauthorized; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			if got, want := text(r.Doc(t).Find("[data-testid=login-error]")), "Wrong email or password."; got != want {
				t.Errorf("login error = %q, want %q", got, want)
			}
			if got := c.Get(t, "/subscribers").Status; got != http.StatusSeeOther {
				t.Errorf("after a failed sign-in, GET /subscribers: status %d, want 303 to the sign-in page", got)
			}
		})
	}
	// Last: it leaves the lead's email slowed down.
	t.Run("TooManyFailures", func(t *testing.T) {
		c := app.NewClient()
		for i := range 5 {
			if got := c.SignIn(t, demo.LeadEmail, "guess-"+string(rune('a'+i))).Status; got != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: status %d, want 401", i+1, got)
			}
		}
		r := c.SignIn(t, demo.LeadEmail, demo.LeadPassword)
		if got, want := r.Status, http.StatusTooManyRequests; got != want {
			t.Fatalf("6th attempt, right password: status = %d, want %d", got, want)
		}
		if got := text(r.Doc(t).Find("[data-testid=login-error]")); !strings.Contains(got, "Too many failed sign-ins") {
			t.Errorf("login error = %q, want it to say Too many failed sign-ins", got)
		}
		if got := c.Cookie(sessionCookie); got != "" {
			t.Errorf("a refused sign-in set a session cookie")
		}
	})
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	const expired = "The form had expired or came from another site. Reload the page and try again."

	t.Run("NoToken", func(t *testing.T) {
		c := app.NewClient()
		c.CSRFToken(t, "/login") // the csrf cookie, without its token in the form
		r := c.Post(t, "/login", url.Values{"email": {demo.AgentEmail}, "password": {demo.AgentPassword}})
		if got, want := r.Status, http.StatusForbidden; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		page := r.Doc(t).Find("[data-testid=error-page]")
		if page.Length() == 0 {
			t.Fatal("no designed error page")
		}
		if got := text(page.Find("p").Not(".muted").First()); got != expired {
			t.Errorf("error page says %q, want %q", got, expired)
		}
		if got := c.Cookie(sessionCookie); got != "" {
			t.Errorf("a refused sign-in set a session cookie")
		}
	})
	t.Run("WrongToken", func(t *testing.T) {
		c := app.NewClient()
		token := c.CSRFToken(t, "/login")
		r := c.Post(t, "/login", url.Values{"_csrf": {token + "x"}, "email": {demo.AgentEmail}, "password": {demo.AgentPassword}})
		if got, want := r.Status, http.StatusForbidden; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
	})
	t.Run("CrossSite", func(t *testing.T) {
		c := app.NewClient()
		token := c.CSRFToken(t, "/login")
		r := c.Post(t, "/login", url.Values{"_csrf": {token}, "email": {demo.AgentEmail}, "password": {demo.AgentPassword}},
			"Sec-Fetch-Site", "cross-site")
		if got, want := r.Status, http.StatusForbidden; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		page := r.Doc(t).Find("[data-testid=error-page]")
		if page.Length() == 0 {
			t.Fatal("no designed error page")
		}
		if got := text(page); !strings.Contains(got, "another site") {
			t.Errorf("error page says %q, want it to say the form came from another site", got)
		}
	})
	t.Run("SameOriginWithoutToken", func(t *testing.T) {
		c := app.NewClient()
		r := c.Post(t, "/login", url.Values{"email": {demo.AgentEmail}, "password": {demo.AgentPassword}},
			"Sec-Fetch-Site", "same-origin")
		if got, want := r.Status, http.StatusSeeOther; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
	})
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)

	t.Run("OK", func(t *testing.T) {
		c := app.Agent(t)
		old := c.Cookie(sessionCookie)
		if old == "" {
			t.Fatal("no session cookie after sign-in")
		}
		r := c.Post(t, "/logout", url.Values{"_csrf": {c.CSRFToken(t, "/subscribers")}})
		if got, want := r.Status, http.StatusSeeOther; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got, want := r.Location(), "/login"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		if got := c.Get(t, "/subscribers").Status; got != http.StatusSeeOther {
			t.Errorf("after sign-out, GET /subscribers: status %d, want 303", got)
		}

		// The old cookie, replayed by hand, is worth nothing: the session is gone from the server.
		replay := app.NewClient()
		r = replay.Get(t, "/subscribers", "Cookie", sessionCookie+"="+old)
		if got, want := r.Status, http.StatusSeeOther; got != want {
			t.Fatalf("old cookie replayed: status = %d, want %d", got, want)
		}
		if got := r.Location(); !strings.HasPrefix(got, "/login") {
			t.Errorf("old cookie replayed: Location = %q, want the sign-in page", got)
		}
	})
	t.Run("NewSessionOnSignIn", func(t *testing.T) {
		c := app.Agent(t)
		first := c.Cookie(sessionCookie)
		r := c.Post(t, "/login", url.Values{
			"_csrf":    {c.CSRFToken(t, "/subscribers")},
			"email":    {demo.AgentEmail},
			"password": {demo.AgentPassword},
		})
		if got, want := r.Status, http.StatusSeeOther; got != want {
			t.Fatalf("second sign-in: status = %d, want %d", got, want)
		}
		second := c.Cookie(sessionCookie)
		if second == "" || second == first {
			t.Fatalf("session cookie after the second sign-in is %q, want a new one", second)
		}
		if got := c.Get(t, "/subscribers").Status; got != http.StatusOK {
			t.Errorf("new session: GET /subscribers: status %d, want 200", got)
		}
		replay := app.NewClient()
		if got := replay.Get(t, "/subscribers", "Cookie", sessionCookie+"="+first).Status; got != http.StatusSeeOther {
			t.Errorf("the session id from before the sign-in: status %d, want 303 to the sign-in page", got)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)

	t.Run("IdleTimeout", func(t *testing.T) {
		c := app.Agent(t)
		app.Clock.Advance(db.SessionIdle + time.Minute)
		defer app.Clock.Reset()
		r := c.Get(t, "/subscribers")
		if got, want := r.Status, http.StatusSeeOther; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got, want := r.Location(), "/login?next=%2Fsubscribers"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
	})
	t.Run("ActivityKeepsItAlive", func(t *testing.T) {
		c := app.Agent(t)
		defer app.Clock.Reset()
		for i := range 3 {
			app.Clock.Advance(20 * time.Minute)
			if got := c.Get(t, "/subscribers").Status; got != http.StatusOK {
				t.Fatalf("request %d, 20 minutes after the last: status %d, want 200", i+1, got)
			}
		}
	})
}

// TestSignInNextStaysOnSite signs in with every kind of next= an attacker
// might send: only a path on the portal itself is followed.
func TestSignInNextStaysOnSite(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	for _, tc := range []struct{ next, want string }{
		{"/subscribers?q=Priya", "/subscribers?q=Priya"},
		{"/esims?state=free&profile=7", "/esims?state=free&profile=7"},
		{"/audit#top", "/audit#top"},
		{"/%09/evil.example/x", "/%09/evil.example/x"}, // percent-encoded, it stays a path here
		{"/\t/evil.example/x", "/subscribers"},
		{"/\n/evil.example/x", "/subscribers"},
		{"/\r\n/evil.example/x", "/subscribers"},
		{"/\x00/evil.example/x", "/subscribers"},
		{"/\x7f/evil.example/x", "/subscribers"},
		{"/\u200b/evil.example/x", "/subscribers"},
		{"//evil.example/x", "/subscribers"},
		{"/\\evil.example/x", "/subscribers"},
		{"/\\/evil.example/x", "/subscribers"},
		{"/x\\y", "/subscribers"},
		{"https://evil.example/x", "/subscribers"},
		{"javascript:alert(1)", "/subscribers"},
		{"evil.example", "/subscribers"},
		{"", "/subscribers"},
	} {
		t.Run(url.QueryEscape(tc.next), func(t *testing.T) {
			c := app.NewClient()
			// The sign-in page keeps only a safe next= in its form.
			page := c.Page(t, "/login?next="+url.QueryEscape(tc.next))
			if got := page.Find(`input[name="next"]`).AttrOr("value", ""); got != tc.want {
				t.Errorf("the sign-in form carries next=%q, want %q", got, tc.want)
			}
			form := url.Values{"_csrf": {c.CSRFToken(t, "/login")}, "email": {demo.AgentEmail}, "password": {demo.AgentPassword}, "next": {tc.next}}
			r := c.Post(t, "/login", form)
			if r.Status != http.StatusSeeOther || r.Location() != tc.want {
				t.Errorf("signed in with next=%q: %d to %q, want 303 to %q", tc.next, r.Status, r.Location(), tc.want)
			}
		})
	}
}

// TestCSRFOrigin checks the Origin header on every form sent, next to
// Sec-Fetch-Site and the token: a form from another origin is refused even
// when the browser's Sec-Fetch-Site says same-origin (a proxy that rewrote
// it, a buggy browser) and the token is right.
func TestCSRFOrigin(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	behind := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) { h.BaseURL = "https://ap.carrier.example" }})
	for _, tc := range []struct {
		name    string
		app     *portaltest.Portal
		headers []string
		status  int
	}{
		{"OwnOrigin", app, []string{"Origin", app.URL}, http.StatusSeeOther},
		{"NoOrigin", app, nil, http.StatusSeeOther},
		{"OtherOrigin", app, []string{"Origin", "http://evil.example"}, http.StatusForbidden},
		{"OtherOriginClaimingSameOrigin", app, []string{"Origin", "http://evil.example", "Sec-Fetch-Site", "same-origin"}, http.StatusForbidden},
		{"OtherPort", app, []string{"Origin", "http://127.0.0.1:1"}, http.StatusForbidden},
		{"NullOrigin", app, []string{"Origin", "null"}, http.StatusForbidden},
		{"BaseURLOrigin", behind, []string{"Origin", "https://ap.carrier.example"}, http.StatusSeeOther},
		{"BaseURLDefaultPort", behind, []string{"Origin", "https://AP.carrier.example:443"}, http.StatusSeeOther},
		{"NotTheBaseURL", behind, []string{"Origin", behind.URL}, http.StatusForbidden},
		{"BaseURLOverHTTP", behind, []string{"Origin", "http://ap.carrier.example"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.app.NewClient()
			form := url.Values{"_csrf": {c.CSRFToken(t, "/login")}, "email": {demo.AgentEmail}, "password": {demo.AgentPassword}}
			r := c.Post(t, "/login", form, tc.headers...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d", r.Status, tc.status)
			}
			if tc.status == http.StatusForbidden {
				if got := text(r.Doc(t).Find("[data-testid=error-page]")); !strings.Contains(got, "another site") {
					t.Errorf("error page says %q, want it to say the form came from another site", got)
				}
				if c.Cookie(sessionCookie) != "" {
					t.Errorf("a refused sign-in set a session cookie")
				}
			}
		})
	}
}

// signInFrom sends the sign-in form as if from a client behind the proxy:
// forwardedFor is the X-Forwarded-For the proxy passes on.
func signInFrom(t testing.TB, c *portaltest.Client, forwardedFor, email, password string) int {
	t.Helper()
	form := url.Values{"_csrf": {c.CSRFToken(t, "/login")}, "email": {email}, "password": {password}}
	var headers []string
	if forwardedFor != "" {
		headers = []string{"X-Forwarded-For", forwardedFor}
	}
	return c.Post(t, "/login", form, headers...).Status
}

// TestSignInThrottleAddress checks which address the throttle counts: the
// connection's, whatever X-Forwarded-For a client makes up, unless the
// proxy in front of the portal is trusted; then the address that proxy saw.
func TestSignInThrottleAddress(t *testing.T) {
	t.Parallel()
	guess := func(t *testing.T, app *portaltest.Portal, forwardedFor func(i int) string) {
		t.Helper()
		c := app.NewClient()
		for i := range 20 {
			if got := signInFrom(t, c, forwardedFor(i), fmt.Sprintf("guess%d@example.com", i), "wrong password"); got != http.StatusUnauthorized {
				t.Fatalf("guess %d: status %d, want 401", i+1, got)
			}
		}
	}
	t.Run("ForwardedForIgnored", func(t *testing.T) {
		t.Parallel()
		app := portaltest.Start(t)
		guess(t, app, func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) })
		// A 21st address made up: the portal still sees the one that sent them all.
		if got := signInFrom(t, app.NewClient(), "203.0.113.99", demo.AgentEmail, demo.AgentPassword); got != http.StatusTooManyRequests {
			t.Errorf("after 20 failures from one connection's address: status %d, want 429", got)
		}
	})
	trusted := func(t *testing.T) *portaltest.Portal {
		_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
		return portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) { h.Proxies = []*net.IPNet{loopback} }})
	}
	t.Run("TrustedProxy", func(t *testing.T) {
		t.Parallel()
		app := trusted(t)
		guess(t, app, func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) })
		if got := signInFrom(t, app.NewClient(), "198.51.100.7", demo.AgentEmail, demo.AgentPassword); got != http.StatusSeeOther {
			t.Errorf("from another client behind the trusted proxy: status %d, want 303", got)
		}
	})
	t.Run("MadeUpHopsBehindTrustedProxy", func(t *testing.T) {
		t.Parallel()
		app := trusted(t)
		// The client makes up the first hops; the proxy adds the address it saw.
		guess(t, app, func(i int) string { return fmt.Sprintf("10.9.8.%d, 203.0.113.5", i+1) })
		if got := signInFrom(t, app.NewClient(), "10.9.8.99, 203.0.113.5", demo.AgentEmail, demo.AgentPassword); got != http.StatusTooManyRequests {
			t.Errorf("after 20 failures from 203.0.113.5 with made-up hops before it: status %d, want 429", got)
		}
		if got := signInFrom(t, app.NewClient(), "203.0.113.6", demo.AgentEmail, demo.AgentPassword); got != http.StatusSeeOther {
			t.Errorf("from another address: status %d, want 303", got)
		}
	})
}

// TestSignInThrottleConcurrent sends 30 wrong passwords at once: the
// throttle counts each as it lets it through, so 5 are checked and the rest
// are refused, however the checks overlap.
func TestSignInThrottleConcurrent(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	// A hash that takes a while to check, as in production, so that the
	// guesses overlap.
	app.Store.PasswordCost = 10
	if _, err := app.Store.CreateLogin(context.Background(), "slow@example.com", "Slow Hash", db.RoleAgent, "the right password"); err != nil {
		t.Fatal(err)
	}
	clients := make([]*portaltest.Client, 30)
	tokens := make([]string, len(clients))
	for i := range clients {
		clients[i] = app.NewClient()
		tokens[i] = clients[i].CSRFToken(t, "/login")
	}
	statuses := make([]int, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			r, err := c.Send(http.MethodPost, "/login", url.Values{"_csrf": {tokens[i]}, "email": {"slow@example.com"}, "password": {"guess"}})
			if err == nil {
				statuses[i] = r.Status
			}
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	if counts[http.StatusUnauthorized] != 5 || counts[http.StatusTooManyRequests] != 25 {
		t.Errorf("30 concurrent wrong passwords were answered %v, want 5 × 401 and 25 × 429", counts)
	}
}

// TestSignInThrottleKeepsColleaguesIn has an attacker guess a team lead's
// password from ten addresses: each address is stopped after 5 guesses,
// the guesses slow down, and the team lead still signs in from their own.
func TestSignInThrottleKeepsColleaguesIn(t *testing.T) {
	t.Parallel()
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	var mu sync.Mutex
	var delays []time.Duration
	app := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) {
		h.Proxies = []*net.IPNet{loopback}
		h.Pause = func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			delays = append(delays, d)
			return nil
		}
	}})
	paused := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(delays)
	}
	lastDelay := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		if len(delays) == 0 {
			return 0
		}
		return delays[len(delays)-1]
	}
	attacker := app.NewClient()
	for addr := range 10 {
		from := fmt.Sprintf("203.0.113.%d", addr+1)
		for i := range 5 {
			if got := signInFrom(t, attacker, from, demo.LeadEmail, fmt.Sprintf("guess-%d-%d", addr, i)); got != http.StatusUnauthorized {
				t.Fatalf("guess %d from %s: status %d, want 401", i+1, from, got)
			}
		}
		if got := signInFrom(t, attacker, from, demo.LeadEmail, "one more guess"); got != http.StatusTooManyRequests {
			t.Fatalf("6th guess from %s: status %d, want 429", from, got)
		}
	}
	if got := lastDelay(); got != 8*time.Second {
		t.Errorf("the 50th guess was slowed by %s, want the longest delay, 8s", got)
	}
	// Even the right password from an attacker's address must wait.
	if got := signInFrom(t, attacker, "203.0.113.1", demo.LeadEmail, demo.LeadPassword); got != http.StatusTooManyRequests {
		t.Errorf("right password from a guessing address: status %d, want 429", got)
	}
	// The team lead, from their own address: slowed, never refused.
	lead := app.NewClient()
	before := paused()
	if got := signInFrom(t, lead, "198.51.100.20", demo.LeadEmail, demo.LeadPassword); got != http.StatusSeeOther {
		t.Fatalf("the team lead from their own address: status %d, want 303", got)
	}
	if n, got := paused()-before, lastDelay(); n != 1 || got <= 0 || got > 8*time.Second {
		t.Errorf("the team lead's sign-in paused %d times, last for %s; want once, between 0 and 8s", n, got)
	}
	// Fifteen quiet minutes later, an address that guessed is forgotten.
	app.Clock.Advance(16 * time.Minute)
	defer app.Clock.Reset()
	if got := signInFrom(t, app.NewClient(), "203.0.113.1", demo.LeadEmail, demo.LeadPassword); got != http.StatusSeeOther {
		t.Errorf("16 quiet minutes later, from an address that guessed: status %d, want 303", got)
	}
}

// TestSignInColleagueBehindGuesser has a guesser share an office's address
// with the agents: 5 wrong passwords for the agent, then 20 made-up emails.
// The guesser is stopped, and the agent and a team lead at that office
// still sign in at once, unslowed: from the browsers they signed in on
// before, and the team lead, known on that network, from a new browser too.
func TestSignInColleagueBehindGuesser(t *testing.T) {
	t.Parallel()
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	var mu sync.Mutex
	paused := 0
	app := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) {
		h.Proxies = []*net.IPNet{loopback}
		h.Pause = func(_ context.Context, d time.Duration) error {
			if d > 0 {
				mu.Lock()
				paused++
				mu.Unlock()
			}
			return nil
		}
	}})
	pauses := func() int {
		mu.Lock()
		defer mu.Unlock()
		return paused
	}
	const office = "203.0.113.10"
	signOut := func(c *portaltest.Client) {
		if r := c.Post(t, "/logout", url.Values{"_csrf": {c.CSRFToken(t, "/subscribers")}}); r.Status != http.StatusSeeOther {
			t.Fatalf("sign-out: status %d", r.Status)
		}
	}
	// Yesterday, at the office.
	agent, lead := app.NewClient(), app.NewClient()
	for _, who := range []struct {
		c               *portaltest.Client
		email, password string
	}{{agent, demo.AgentEmail, demo.AgentPassword}, {lead, demo.LeadEmail, demo.LeadPassword}} {
		if got := signInFrom(t, who.c, office, who.email, who.password); got != http.StatusSeeOther {
			t.Fatalf("%s at the office: status %d", who.email, got)
		}
		signOut(who.c)
	}
	guesser := app.NewClient()
	for i := range 5 {
		if got := signInFrom(t, guesser, office, demo.AgentEmail, fmt.Sprintf("guess %d", i)); got != http.StatusUnauthorized {
			t.Fatalf("guess %d for the agent: status %d, want 401", i+1, got)
		}
	}
	for i := range 15 {
		if got := signInFrom(t, guesser, office, fmt.Sprintf("made-up-%d@example.com", i), "guess"); got != http.StatusUnauthorized {
			t.Fatalf("made-up email %d: status %d, want 401", i+1, got)
		}
	}
	for _, email := range []string{demo.AgentEmail, "made-up-99@example.com", "new-colleague@example.com"} {
		if got := signInFrom(t, guesser, office, email, "one more guess"); got != http.StatusTooManyRequests {
			t.Errorf("the guesser's next guess for %s: status %d, want 429", email, got)
		}
	}
	// An email known on the office's network keeps there the 5 guesses it
	// has from any network: a guess at it is checked, and counted.
	if got := signInFrom(t, guesser, office, demo.LeadEmail, "a guess"); got != http.StatusUnauthorized {
		t.Errorf("a guess for the team lead, known at the office: status %d, want 401", got)
	}
	// The guesser holds no one out.
	before := pauses()
	if got := signInFrom(t, agent, office, demo.AgentEmail, demo.AgentPassword); got != http.StatusSeeOther {
		t.Errorf("the agent whose password was guessed, from their browser at the office: status %d, want 303", got)
	}
	if got := signInFrom(t, lead, office, demo.LeadEmail, demo.LeadPassword); got != http.StatusSeeOther {
		t.Errorf("a team lead from their browser at the office: status %d, want 303", got)
	}
	if got := signInFrom(t, app.NewClient(), office, demo.LeadEmail, demo.LeadPassword); got != http.StatusSeeOther {
		t.Errorf("a team lead known at the office, from a new browser there: status %d, want 303", got)
	}
	if n := pauses() - before; n != 0 {
		t.Errorf("the colleagues' sign-ins were slowed %d times, want none", n)
	}
	// A known browser's cookie, copied, buys the guesser 5 guesses, no more.
	copied := app.NewClient()
	u := mustParseURL(t, app.URL)
	copied.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "known_browser", Value: agent.Cookie("known_browser"), Path: "/"}})
	for i := range 5 {
		if got := signInFrom(t, copied, office, demo.AgentEmail, fmt.Sprintf("copied guess %d", i)); got != http.StatusUnauthorized {
			t.Fatalf("guess %d with a copied cookie: status %d, want 401", i+1, got)
		}
	}
	if got := signInFrom(t, copied, office, demo.AgentEmail, "copied guess 6"); got != http.StatusTooManyRequests {
		t.Errorf("6th guess with a copied cookie: status %d, want 429", got)
	}
}

// TestSignInThrottleIPv6Network has a guesser rotate through the addresses
// of its IPv6 /64: the network is one key, stopped after 20 failures,
// while the next /64 is not.
func TestSignInThrottleIPv6Network(t *testing.T) {
	t.Parallel()
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	app := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) { h.Proxies = []*net.IPNet{loopback} }})
	guesser := app.NewClient()
	for i := range 20 {
		if got := signInFrom(t, guesser, fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("guess%d@example.com", i), "guess"); got != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i+1, got)
		}
	}
	if got := signInFrom(t, guesser, "2001:db8:1:2:ffff:ffff:ffff:ffff", demo.AgentEmail, "guess"); got != http.StatusTooManyRequests {
		t.Errorf("a 21st guess from another address of the /64: status %d, want 429", got)
	}
	if got := signInFrom(t, app.NewClient(), "2001:db8:1:3::1", demo.AgentEmail, demo.AgentPassword); got != http.StatusSeeOther {
		t.Errorf("from the next /64: status %d, want 303", got)
	}
}

// TestPasswordChecksBounded takes the one turn to check a password, as a
// flood of sign-ins would: a sign-in then waits its while and is asked to
// come back later (503, Retry-After), without counting as a failure; once
// the turn is free it signs in.
func TestPasswordChecksBounded(t *testing.T) {
	t.Parallel()
	checks := make(chan struct{}, 1)
	app := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) {
		h.PasswordChecks = checks
		h.PasswordWait = time.Millisecond
	}})
	checks <- struct{}{}
	c := app.NewClient()
	for i := range 6 {
		r := c.Post(t, "/login", url.Values{"_csrf": {c.CSRFToken(t, "/login")}, "email": {demo.AgentEmail}, "password": {"a wrong password"}})
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("sign-in %d while every check is taken: status %d, Retry-After %q; want 503 with Retry-After", i+1, r.Status, r.Header.Get("Retry-After"))
		}
		if msg := text(r.Doc(t).Find("[role=alert], .alert")); !strings.Contains(msg, "busy") {
			t.Errorf("the sign-in page says %q, want that the portal is busy", msg)
		}
	}
	<-checks
	if got := signInFrom(t, c, "", demo.AgentEmail, demo.AgentPassword); got != http.StatusSeeOther {
		t.Errorf("once a check is free: status %d, want 303 (the busy answers counted as nothing)", got)
	}
}
