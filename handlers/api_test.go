package handlers_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

const testAPIToken = "test-api-token-0123456789abcdef0123456789"

// newAPIApp serves the portal with the network API on, and demo controls as
// demo says.
func newAPIApp(t *testing.T, demo bool) *portaltest.Portal {
	return portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) {
		h.APIToken = testAPIToken
		h.Demo = demo
	}})
}

// apiCall is a JSON answer of the API.
type apiCall struct {
	Status int
	Header http.Header
	JSON   map[string]any
}

// apiPost sends body to the API with the Authorization header auth ("" for none).
func apiPost(t *testing.T, hc *http.Client, base, path, auth, body string) apiCall {
	t.Helper()
	return apiDo(t, hc, http.MethodPost, base, path, auth, body)
}

// apiDo asks the API with method.
func apiDo(t *testing.T, hc *http.Client, method, base, path, auth, body string) apiCall {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := apiCall{Status: resp.StatusCode, Header: resp.Header}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, want JSON; body %s", method, path, ct, b)
	}
	if err := json.Unmarshal(b, &out.JSON); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, b)
	}
	return out
}

func attach(t *testing.T, app *portaltest.Portal, body string) apiCall {
	t.Helper()
	return apiPost(t, nil, app.URL, "/api/v1/attach", "Bearer "+testAPIToken, body)
}

func profileEvent(t *testing.T, app *portaltest.Portal, body string) apiCall {
	t.Helper()
	return apiPost(t, nil, app.URL, "/api/v1/profile-events", "Bearer "+testAPIToken, body)
}

// demoLine returns the first line of a demo subscriber.
func demoLine(t *testing.T, app *portaltest.Portal, account string) db.ESIM {
	t.Helper()
	lines := app.Lines(t, app.Subscriber(t, account).ID)
	if len(lines) == 0 {
		t.Fatalf("demo subscriber %s has no line", account)
	}
	return lines[0]
}

// Demo lines the tests use.
const (
	pendingEurope = "AC-100358" // Priya Raman: Europe, Euro 1 pending
	activeFrance  = "AC-100231" // María García: France, Euro 1 used up, Euro 3 active
	notInstalled  = "AC-100921" // Amara Okafor: Brazil, never installed
)

func TestAPIAttach(t *testing.T) {
	app := newAPIApp(t, false)
	line := demoLine(t, app, pendingEurope)
	// An hour ago, written in Central European Time.
	at := app.Clock.Now().Add(-time.Hour).Truncate(time.Second)
	local := at.In(time.FixedZone("CET", 3600)).Format(time.RFC3339)
	body := fmt.Sprintf(`{"iccid": %q, "mcc": "262", "attached_at": %q}`, line.ICCID, local)

	t.Run("Activates", func(t *testing.T) {
		r := attach(t, app, body)
		if r.Status != http.StatusOK {
			t.Fatalf("status %d: %v", r.Status, r.JSON)
		}
		act, _ := r.JSON["activated"].(map[string]any)
		if act == nil || act["plan"] != "Euro 1" || act["order_number"] != line.Plans[0].OrderNumber {
			t.Fatalf("answer = %v, want Euro 1 activated", r.JSON)
		}
		if got, want := act["activated_at"], at.UTC().Format(time.RFC3339); got != want {
			t.Errorf("activated_at = %v, want %s (the same instant, in UTC)", got, want)
		}
		if got, want := act["expires_at"], at.UTC().Add(30*24*time.Hour).Format(time.RFC3339); got != want {
			t.Errorf("expires_at = %v, want %s", got, want)
		}
		if r.JSON["country"] != "DE" {
			t.Errorf("country = %v, want DE", r.JSON["country"])
		}
	})
	t.Run("Duplicate", func(t *testing.T) {
		r := attach(t, app, body)
		if r.Status != http.StatusOK || r.JSON["activated"] != nil || r.JSON["duplicate"] != true || r.JSON["reason"] != "duplicate event" {
			t.Errorf("answer = %d %v, want a duplicate", r.Status, r.JSON)
		}
		if n := app.Count(t, `SELECT count(*) FROM attachments WHERE iccid = ?`, line.ICCID); n != 1 {
			t.Errorf("attachments = %d, want 1", n)
		}
	})
	t.Run("NoPlanCovers", func(t *testing.T) {
		r := attach(t, app, fmt.Sprintf(`{"iccid": %q, "country": "jp", "attached_at": %q}`, line.ICCID, app.Clock.Now().Format(time.RFC3339)))
		if r.Status != http.StatusOK || r.JSON["activated"] != nil || r.JSON["reason"] != "no plan covers JP" {
			t.Errorf("answer = %d %v, want recorded, nothing activated", r.Status, r.JSON)
		}
	})
	t.Run("CoveredByActivePlan", func(t *testing.T) {
		l := demoLine(t, app, activeFrance)
		r := attach(t, app, fmt.Sprintf(`{"iccid": %q, "mcc": "208", "attached_at": %q}`, l.ICCID, app.Clock.Now().Format(time.RFC3339)))
		if want := "covered by active plan " + l.Plans[1].OrderNumber; r.Status != http.StatusOK || r.JSON["activated"] != nil || r.JSON["reason"] != want {
			t.Errorf("answer = %d %v, want %q", r.Status, r.JSON, want)
		}
	})
	t.Run("AuditedAsTheNetwork", func(t *testing.T) {
		if n := app.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'activate_plan' AND login_id IS NULL AND iccid = ?`, line.ICCID); n != 1 {
			t.Errorf("activation audit entries by the network = %d, want 1", n)
		}
	})
}

func TestAPIErrors(t *testing.T) {
	app := newAPIApp(t, false)
	line := demoLine(t, app, pendingEurope)
	now := app.Clock.Now().Format(time.RFC3339)
	good := fmt.Sprintf(`{"iccid": %q, "mcc": "262", "attached_at": %q}`, line.ICCID, now)
	free := app.Count(t, `SELECT count(*) FROM esims WHERE state = 'free'`)
	var freeICCID string
	if err := app.Raw.QueryRow(`SELECT iccid FROM esims WHERE state = 'free' LIMIT 1`).Scan(&freeICCID); err != nil || free == 0 {
		t.Fatalf("no free eSIM in the demo: %v", err)
	}
	unknown := "8901480990000000001"
	unknown = unknown[:18] + string(db.LuhnDigit(unknown[:18]))

	cases := []struct {
		name, path, auth, body string
		status                 int
		says                   string
	}{
		{"NoToken", "/api/v1/attach", "", good, 401, "API key"},
		{"WrongToken", "/api/v1/attach", "Bearer nope", good, 401, "API key"},
		{"NotBearer", "/api/v1/attach", "Basic " + testAPIToken, good, 401, "API key"},
		{"BadJSON", "/api/v1/attach", "Bearer " + testAPIToken, `{"iccid": `, 400, "JSON"},
		{"UnknownField", "/api/v1/attach", "Bearer " + testAPIToken, `{"iccid": "1", "attachedAt": "x"}`, 400, `unknown field "attachedAt"`},
		{"WrongType", "/api/v1/attach", "Bearer " + testAPIToken, `{"iccid": 89}`, 400, "iccid must be a string"},
		{"UnknownMCC", "/api/v1/attach", "Bearer " + testAPIToken,
			fmt.Sprintf(`{"iccid": %q, "mcc": "999", "attached_at": %q}`, line.ICCID, now), 400, "unknown mobile country code"},
		{"TimeWithoutZone", "/api/v1/attach", "Bearer " + testAPIToken,
			fmt.Sprintf(`{"iccid": %q, "mcc": "262", "attached_at": "2026-12-01T08:30:00"}`, line.ICCID), 400, "RFC 3339"},
		{"NoTime", "/api/v1/attach", "Bearer " + testAPIToken,
			fmt.Sprintf(`{"iccid": %q, "mcc": "262"}`, line.ICCID), 400, "attached_at is required"},
		{"BadICCID", "/api/v1/attach", "Bearer " + testAPIToken,
			fmt.Sprintf(`{"iccid": "12345", "mcc": "262", "attached_at": %q}`, now), 400, "ICCID must have 19 or 20 digits"},
		{"UnknownICCID", "/api/v1/attach", "Bearer " + testAPIToken,
			fmt.Sprintf(`{"iccid": %q, "mcc": "262", "attached_at": %q}`, unknown, now), 404, "No eSIM"},
		{"FreeESIM", "/api/v1/attach", "Bearer " + testAPIToken,
			fmt.Sprintf(`{"iccid": %q, "mcc": "262", "attached_at": %q}`, freeICCID, now), 409, "nobody's line"},
		{"UnknownEvent", "/api/v1/profile-events", "Bearer " + testAPIToken,
			fmt.Sprintf(`{"iccid": %q, "event": "scanned", "at": %q}`, line.ICCID, now), 400, "unknown event"},
		{"ProfileEventUnknownICCID", "/api/v1/profile-events", "Bearer " + testAPIToken,
			fmt.Sprintf(`{"iccid": %q, "event": "installed", "at": %q}`, unknown, now), 404, "No eSIM"},
		{"ProfileEventNoToken", "/api/v1/profile-events", "", "{}", 401, "API key"},
		{"UnknownEndpoint", "/api/v1/nope", "", "{}", 404, "no such API endpoint"},
	}
	before := app.Count(t, `SELECT count(*) FROM attachments`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := apiPost(t, nil, app.URL, tc.path, tc.auth, tc.body)
			msg, _ := r.JSON["error"].(string)
			if r.Status != tc.status || !strings.Contains(msg, tc.says) {
				t.Errorf("answer = %d %v, want %d saying %q", r.Status, r.JSON, tc.status, tc.says)
			}
			if code, _ := r.JSON["code"].(string); statusOfCode[code] != r.Status {
				t.Errorf("code %q with status %d: the code and the status disagree", code, r.Status)
			}
			if tc.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge")
			}
		})
	}
	if after := app.Count(t, `SELECT count(*) FROM attachments`); after != before {
		t.Errorf("refused reports were recorded: %d attachments, then %d", before, after)
	}

	t.Run("MethodNotAllowed", func(t *testing.T) {
		r := app.NewClient().Get(t, "/api/v1/attach")
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "POST" {
			t.Errorf("GET: status %d, Allow %q; want 405, POST", r.Status, r.Header.Get("Allow"))
		}
	})

	t.Run("SessionCookieIsNotAToken", func(t *testing.T) {
		c := app.Agent(t)
		r := apiPost(t, c.HTTP, app.URL, "/api/v1/attach", "", good)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("signed-in browser without the token: %d %v, want 401", r.Status, r.JSON)
		}
		lead := app.Lead(t)
		if r := apiPost(t, lead.HTTP, app.URL, "/api/v1/attach", "", good); r.Status != http.StatusUnauthorized {
			t.Errorf("signed-in lead without the token: %d, want 401", r.Status)
		}
	})

	t.Run("NoTokenConfigured", func(t *testing.T) {
		off := portaltest.Start(t)
		r := apiPost(t, nil, off.URL, "/api/v1/attach", "Bearer "+testAPIToken, good)
		if r.Status != http.StatusUnauthorized || r.JSON["error"] != "this API key is not known" {
			t.Errorf("answer = %d %v, want 401: without ESIM_API_TOKEN and API clients no key opens the API", r.Status, r.JSON)
		}
	})
}

// TestAPIErrorsAreJSON checks that every error under /api/ is JSON, also
// those no API handler answers: the portal's body limit, and a fault.
func TestAPIErrorsAreJSON(t *testing.T) {
	app := newAPIApp(t, false)
	key := make([]byte, 32)
	rand.Read(key)
	e := handlers.New(handlers.Handlers{Store: app.Store, Sessions: handlers.NewSessionStore(app.Store, key, false),
		Log: slog.New(slog.DiscardHandler), CookieName: "s", APIToken: testAPIToken}).Routes()
	e.POST("/api/v1/boom", func(echo.Context) error { panic("the disk is on fire") })
	for _, tc := range []struct {
		name, method, path string
		size               int64 // the Content-Length sent, when not the body's
		status             int
		says               string
	}{
		{"NotFound", http.MethodGet, "/api/v2/nothing", 0, http.StatusNotFound, "no such API endpoint"},
		{"MethodNotAllowed", http.MethodPut, "/api/v1/attach", 0, http.StatusMethodNotAllowed, "use POST"},
		{"OverThePortalsBodyLimit", http.MethodPost, "/api/v1/attach", 13 << 20, http.StatusRequestEntityTooLarge, "the body is too large"},
		{"Fault", http.MethodPost, "/api/v1/boom", 0, http.StatusInternalServerError, "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{}`))
			req.Header.Set("Authorization", "Bearer "+testAPIToken)
			req.Header.Set("Content-Type", "application/json")
			if tc.size != 0 {
				req.ContentLength = tc.size
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q, want JSON; body %s", ct, rec.Body)
			}
			var body struct{ Error, Code string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("%v in %s", err, rec.Body)
			}
			if rec.Code != tc.status || !strings.Contains(body.Error, tc.says) {
				t.Errorf("answer = %d %q, want %d saying %q", rec.Code, body.Error, tc.status, tc.says)
			}
			if statusOfCode[body.Code] != rec.Code {
				t.Errorf("code %q with status %d: the code and the status disagree", body.Code, rec.Code)
			}
			if strings.Contains(rec.Body.String(), "fire") {
				t.Errorf("the answer shows the fault: %s", rec.Body)
			}
		})
	}
}

func TestAPIProfileEvents(t *testing.T) {
	app := newAPIApp(t, false)
	line := demoLine(t, app, notInstalled)
	now := app.Clock.Now().Truncate(time.Second)
	event := func(name string, at time.Time) apiCall {
		t.Helper()
		r := profileEvent(t, app, fmt.Sprintf(`{"iccid": %q, "event": %q, "at": %q}`, line.ICCID, name, at.Format(time.RFC3339)))
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %v", name, r.Status, r.JSON)
		}
		return r
	}
	if r := event("installed", now.Add(-time.Hour)); r.JSON["updated"] != true || r.JSON["profile_state"] != "installed" {
		t.Errorf("first event: %v, want it to set the state", r.JSON)
	}
	if r := event("downloaded", now.Add(-2*time.Hour)); r.JSON["updated"] != false || r.JSON["profile_state"] != "installed" {
		t.Errorf("older event: %v, want recorded, state unchanged", r.JSON)
	}
	if r := event("installed", now.Add(-time.Hour)); r.JSON["duplicate"] != true {
		t.Errorf("repeated event: %v, want a duplicate", r.JSON)
	}
	c := app.Agent(t)
	doc := c.Page(t, fmt.Sprintf("/subscribers/%d", line.SubscriberID))
	want := "Installed on the phone " + now.Add(-time.Hour).UTC().Format("2 Jan, 15:04 UTC")
	if got := text(doc.Find(`[data-testid="install-status"]`)); got != want {
		t.Errorf("install status = %q, want %q", got, want)
	}
	if n := app.Count(t, `SELECT count(*) FROM profile_events WHERE iccid = ?`, line.ICCID); n != 2 {
		t.Errorf("profile events = %d, want 2", n)
	}
}

func TestLineStatuses(t *testing.T) {
	app := newAPIApp(t, false)
	c := app.Agent(t)
	status := func(account string) (install string, plans []string) {
		t.Helper()
		doc := c.Page(t, fmt.Sprintf("/subscribers/%d", app.Subscriber(t, account).ID))
		line := doc.Find(`[data-testid="line"]`).First()
		return text(line.Find(`[data-testid="install-status"]`)), texts(line.Find(`[data-testid="plan-status"]`))
	}

	install, plans := status(activeFrance)
	if !strings.HasPrefix(install, "Enabled on the phone ") {
		t.Errorf("install status = %q, want enabled", install)
	}
	l := demoLine(t, app, activeFrance)
	now := app.Clock.Now()
	left := int(math.Ceil(l.Plans[1].ExpiresAt.Sub(now).Hours() / 24))
	// María used up Euro 1 before its 30 days.
	want := []string{"Data used up " + l.Plans[0].EndedAt.Format("2 Jan 2006, 15:04 UTC"), fmt.Sprintf("%d days left (until %s)", left, l.Plans[1].ExpiresAt.Format("2 Jan 2006, 15:04 UTC"))}
	if strings.Join(plans, "|") != strings.Join(want, "|") {
		t.Errorf("plan statuses = %q, want %q", plans, want)
	}

	install, _ = status(notInstalled)
	qr := demoLine(t, app, notInstalled).QRSentAt
	sent := qr.Format("2 Jan")
	if qr.Year() != now.Year() {
		sent = qr.Format("2 Jan 2006")
	}
	if want := "Not installed yet — QR email sent " + sent; install != want {
		t.Errorf("install status = %q, want %q", install, want)
	}

	// A second Euro 1 on the Europe line waits behind the first.
	europe := demoLine(t, app, pendingEurope)
	form := c.FormValues(t, "/esims/"+europe.ICCID+"/plans/new", "#add-plan-"+europe.ICCID)
	form.Set("plan", strconv.FormatInt(app.Plan(t, "Euro 1").ID, 10))
	if r := c.Post(t, "/esims/"+europe.ICCID+"/plans", form); r.Status != http.StatusSeeOther {
		t.Fatalf("add plan: status %d", r.Status)
	}
	_, plans = status(pendingEurope)
	if want := []string{"Starts on first use in Europe", "Starts when Euro 1 runs out or ends"}; strings.Join(plans, "|") != strings.Join(want, "|") {
		t.Errorf("plan statuses = %q, want %q", plans, want)
	}

	// With its QR email held, the line says so.
	app.Raw.Exec(`UPDATE outbox SET state = 'queued', sent_at = NULL WHERE iccid = ?`, europe.ICCID)
	app.Raw.Exec(`UPDATE esims SET profile_state = NULL, profile_state_at = NULL WHERE iccid = ?`, europe.ICCID)
	if install, _ := status(pendingEurope); install != "Not installed yet — QR email not sent yet" {
		t.Errorf("install status = %q, want the QR email not sent", install)
	}
}

func TestESIMPageLifecycle(t *testing.T) {
	app := newAPIApp(t, false)
	line := demoLine(t, app, pendingEurope)
	at := app.Clock.Now().Add(-time.Minute).Truncate(time.Second)
	if r := attach(t, app, fmt.Sprintf(`{"iccid": %q, "mcc": "208", "attached_at": %q}`, line.ICCID, at.Format(time.RFC3339))); r.Status != 200 {
		t.Fatalf("attach: %d %v", r.Status, r.JSON)
	}
	c := app.Agent(t)
	doc := c.Page(t, "/esims/"+line.ICCID)
	if got, want := text(doc.Find(`[data-testid="last-attachment"]`)), "France, "+at.UTC().Format("2 Jan 2006, 15:04 UTC")+" MCC 208"; got != want {
		t.Errorf("last connection = %q, want %q", got, want)
	}
	var kinds []string
	doc.Find(`[data-testid="timeline"] li`).Each(func(_ int, li *goquery.Selection) {
		kinds = append(kinds, li.AttrOr("data-kind", ""))
	})
	joined := strings.Join(kinds, " ")
	for _, want := range []string{"allocated plan_added", "attached activated"} {
		if !strings.Contains(joined, want) {
			t.Errorf("timeline kinds %q, want %q in order", joined, want)
		}
	}
	entries := texts(doc.Find(`[data-testid="timeline"] li`))
	if n := len(entries); n < 2 || !strings.Contains(entries[n-2], "Euro 1 started, order "+line.Plans[0].OrderNumber) ||
		!strings.Contains(entries[n-1], "“Plan started” email queued") {
		t.Errorf("last timeline entries = %q, want the activation, then its notice", entries[max(0, n-2):])
	}
	if doc.Find(`[data-testid="simulate-attach"]`).Length() != 0 {
		t.Errorf("the demo control shows with demo off")
	}
}

func TestSimulateAttach(t *testing.T) {
	t.Run("DemoOff", func(t *testing.T) {
		app := newAPIApp(t, false)
		line := demoLine(t, app, pendingEurope)
		lead := app.Lead(t)
		token := lead.CSRFToken(t, "/esims/"+line.ICCID)
		if r := lead.Post(t, "/esims/"+line.ICCID+"/simulate-attach", url.Values{"_csrf": {token}, "country": {"FR"}}); r.Status != http.StatusNotFound {
			t.Errorf("status %d, want 404: the route does not exist", r.Status)
		}
	})

	app := newAPIApp(t, true)
	line := demoLine(t, app, pendingEurope)
	path := "/esims/" + line.ICCID

	t.Run("AgentSeesNoControl", func(t *testing.T) {
		agent := app.Agent(t)
		if agent.Page(t, path).Find(`[data-testid="simulate-attach"]`).Length() != 0 {
			t.Errorf("an agent sees the simulate control")
		}
		token := agent.CSRFToken(t, path)
		if r := agent.Post(t, path+"/simulate-attach", url.Values{"_csrf": {token}, "country": {"FR"}}); r.Status != http.StatusForbidden {
			t.Errorf("agent: status %d, want 403", r.Status)
		}
	})

	t.Run("LeadStartsThePlan", func(t *testing.T) {
		lead := app.Lead(t)
		form := lead.FormValues(t, path, `[data-testid="simulate-attach"]`)
		options := texts(lead.Page(t, path).Find(`#simulate-country option`))
		if len(options) != len(line.Plans[0].Plan.Destinations) || options[0] != "Austria" {
			t.Errorf("countries = %q, want Euro 1's destinations by name", options)
		}
		form.Set("country", "DE")
		r := lead.Post(t, path+"/simulate-attach", form)
		if r.Status != http.StatusSeeOther || r.Location() != path {
			t.Fatalf("status %d to %q, want 303 to %s", r.Status, r.Location(), path)
		}
		doc := lead.Page(t, path)
		if got := text(doc.Find(`[role="status"]`).First()); !strings.HasPrefix(got, "Simulated a connection in Germany. Euro 1 (order ") {
			t.Errorf("flash = %q", got)
		}
		if got := text(doc.Find(`[data-testid="plan-status"]`)); !strings.HasPrefix(got, "30 days left") {
			t.Errorf("plan status = %q, want active for 30 days", got)
		}
		if n := app.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'simulate_attach' AND iccid = ?`, line.ICCID); n != 1 {
			t.Errorf("simulate audit entries = %d, want 1", n)
		}
	})
}

// TestAPIReportTimeBounds sends each report with a time in year 0, in year
// 1 (Go's zero time) and before the eSIM was stocked: each is refused with
// 400 saying why, nothing is recorded, and the eSIM's page still opens.
func TestAPIReportTimeBounds(t *testing.T) {
	app := newAPIApp(t, false)
	line := demoLine(t, app, pendingEurope)
	lead := app.Lead(t)
	stocked := line.StockedAt.Add(-time.Second).Format(time.RFC3339)
	tables := []string{"attachments", "profile_events", "usage_records"}
	counts := func() (n []int) {
		for _, table := range tables {
			n = append(n, app.Count(t, `SELECT count(*) FROM `+table+` WHERE iccid = ?`, line.ICCID))
		}
		return n
	}
	before := counts()
	for _, at := range []struct{ name, at, says string }{
		{"Year0", "0000-01-01T00:00:00+01:00", "before 2000"},
		{"Year1", "0001-01-01T00:00:00Z", "before 2000"},
		{"BeforeStocked", stocked, "before eSIM " + line.ICCID + " was stocked"},
	} {
		for _, rep := range []struct{ name, path, body string }{
			{"Attach", "/api/v1/attach", fmt.Sprintf(`{"iccid": %q, "mcc": "262", "attached_at": %q}`, line.ICCID, at.at)},
			{"ProfileEvent", "/api/v1/profile-events", fmt.Sprintf(`{"iccid": %q, "event": "installed", "at": %q}`, line.ICCID, at.at)},
			{"Usage", "/api/v1/usage", fmt.Sprintf(`{"records": [{"id": "y0", "iccid": %q, "country": "FR", "bytes": 1, "start": %q, "end": %q}]}`,
				line.ICCID, at.at, at.at)},
		} {
			t.Run(at.name+"/"+rep.name, func(t *testing.T) {
				r := apiPost(t, nil, app.URL, rep.path, "Bearer "+testAPIToken, rep.body)
				if r.Status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(r.JSON), at.says) {
					t.Errorf("answer = %d %v, want 400 saying %q", r.Status, r.JSON, at.says)
				}
			})
		}
	}
	if after := counts(); !slices.Equal(after, before) {
		t.Errorf("refused reports were recorded: %v %v, then %v", tables, before, after)
	}
	if r := lead.Get(t, "/esims/"+line.ICCID); r.Status != http.StatusOK {
		t.Errorf("the eSIM's page after the refused reports: status %d, want 200", r.Status)
	}
}

// TestAPIStrict checks that the API reads only what it documents: JSON that
// says so, each field once and exactly as named, within the size limit.
func TestAPIStrict(t *testing.T) {
	app := newAPIApp(t, false)
	line := demoLine(t, app, pendingEurope)
	now := app.Clock.Now().Add(-time.Minute).Format(time.RFC3339)
	good := fmt.Sprintf(`{"iccid": %q, "mcc": "262", "attached_at": %q}`, line.ICCID, now)
	send := func(t *testing.T, path, contentType, body string) apiCall {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, app.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Authorization", "Bearer "+testAPIToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := apiCall{Status: resp.StatusCode, Header: resp.Header}
		if err := json.NewDecoder(resp.Body).Decode(&out.JSON); err != nil {
			t.Fatalf("POST %s: the answer is not JSON: %v", path, err)
		}
		return out
	}
	record := func(members string) string {
		return fmt.Sprintf(`{"records": [{"id": "s-1", "iccid": %q, "country": "FR", "bytes": 1, "start": %q, "end": %q%s}]}`,
			line.ICCID, now, now, members)
	}
	padding := strings.Repeat(" ", 64<<10)
	for _, tc := range []struct {
		name, path, contentType, body string
		status                        int
		says                          string
	}{
		{"NoContentType", "/api/v1/attach", "", good, 415, "Content-Type: application/json"},
		{"FormContentType", "/api/v1/attach", "application/x-www-form-urlencoded", good, 415, "Content-Type: application/json"},
		{"TextContentType", "/api/v1/attach", "text/plain", good, 415, "Content-Type: application/json"},
		{"Latin1", "/api/v1/attach", "application/json; charset=iso-8859-1", good, 415, "UTF-8"},
		{"DuplicateField", "/api/v1/attach", "application/json",
			fmt.Sprintf(`{"iccid": %q, "mcc": "262", "mcc": "208", "attached_at": %q}`, line.ICCID, now), 400, `field "mcc" is given twice`},
		{"CasedField", "/api/v1/attach", "application/json",
			fmt.Sprintf(`{"ICCID": %q, "mcc": "262", "attached_at": %q}`, line.ICCID, now), 400, `unknown field "ICCID"`},
		{"CasedEventField", "/api/v1/profile-events", "application/json",
			fmt.Sprintf(`{"iccid": %q, "Event": "installed", "at": %q}`, line.ICCID, now), 400, `unknown field "Event"`},
		{"PaddedAfter", "/api/v1/attach", "application/json", good + padding, 413, "too large"},
		{"PaddedBefore", "/api/v1/attach", "application/json", padding + good, 413, "too large"},
		{"UsageDuplicateMember", "/api/v1/usage", "application/json", record(`, "bytes": 2`), 400, `field "bytes" is given twice`},
		{"UsageCasedMember", "/api/v1/usage", "application/json", record(`, "MCC": "208"`), 400, `unknown field "MCC"`},
		{"UsageDuplicateRecords", "/api/v1/usage", "application/json", `{"records": [], "records": []}`, 400, `field "records" is given twice`},
		{"UsageNoContentType", "/api/v1/usage", "", record(""), 415, "Content-Type: application/json"},
		{"UsageTooLarge", "/api/v1/usage", "application/json", record("") + strings.Repeat(" ", 1<<20), 413, "too large"},
		{"OK", "/api/v1/attach", "application/json; charset=UTF-8", good, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, tc.path, tc.contentType, tc.body)
			if r.Status != tc.status || !strings.Contains(fmt.Sprint(r.JSON), tc.says) {
				t.Errorf("answer = %d %.300v, want %d saying %q", r.Status, r.JSON, tc.status, tc.says)
			}
		})
	}
	t.Run("UsageRecordNamed", func(t *testing.T) {
		r := send(t, "/api/v1/usage", "application/json", record(`, "Bytes": 2`))
		errs, _ := r.JSON["errors"].([]any)
		first, _ := errs[0].(map[string]any)
		if r.Status != 400 || len(errs) != 1 || first["field"] != "records[0]" {
			t.Errorf("answer = %d %v, want 400 naming records[0]", r.Status, r.JSON)
		}
	})
}

// TestSignInBodyLimit checks that the sign-in form takes a few kilobytes,
// not the inventory import's 12 MB.
func TestSignInBodyLimit(t *testing.T) {
	app := portaltest.Start(t)
	c := app.NewClient()
	token := c.CSRFToken(t, "/login")
	r := c.Post(t, "/login", url.Values{"_csrf": {token}, "email": {demo.AgentEmail}, "password": {demo.AgentPassword},
		"padding": {strings.Repeat("x", 100<<10)}})
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 100 KB sign-in form: status %d, want 413", r.Status)
	}
	if r := c.SignIn(t, demo.AgentEmail, demo.AgentPassword); r.Status != http.StatusSeeOther {
		t.Errorf("an ordinary sign-in: status %d, want 303", r.Status)
	}
}

// statusOfCode is the README's table of the API's error codes and their
// statuses, which every error answer must keep to.
var statusOfCode = map[string]int{
	"invalid": 400, "unauthenticated": 401, "forbidden": 403, "not_found": 404, "wrong_method": 405,
	"conflict": 409, "not_eligible": 409, "out_of_stock": 409, "profile_mismatch": 409,
	"too_large": 413, "wrong_format": 415, "internal": 500,
}
