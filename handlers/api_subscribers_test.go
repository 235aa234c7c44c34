package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/handlers/portaltest"
)

// newClientKey has the team lead add an API client on Integrations and
// returns the key the page shows once.
func newClientKey(t *testing.T, app *portaltest.Portal, lead *portaltest.Client, name string, scopes ...string) string {
	t.Helper()
	values := url.Values{"name": {name}, "scope": scopes, "_csrf": {lead.CSRFToken(t, "/integrations")}}
	r := lead.Post(t, "/integrations", values)
	if r.Status != http.StatusOK {
		t.Fatalf("add API client: %d %s", r.Status, r.Body)
	}
	key := strings.TrimSpace(r.Doc(t).Find(`[data-testid="new-key-value"]`).Text())
	if !strings.HasPrefix(key, "esim_") {
		t.Fatalf("no key shown after adding the client:\n%s", r.Body)
	}
	return key
}

func subscriberBody(name, email, status, asOf string) string {
	return fmt.Sprintf(`{"name": %q, "email": %q, "phone": "+44 7700 900123", "status": %q, "as_of": %q,
		"home_plans": [{"id": "HP-1", "name": "Unlimited All", "kind": "unlimited_all", "lines": 1, "since": "2024-01-01T00:00:00Z"}]}`,
		name, email, status, asOf)
}

func TestSubscriberAPI(t *testing.T) {
	app := newAPIApp(t, false)
	lead := app.Lead(t)
	key := newClientKey(t, app, lead, "Billing", "subscribers")
	auth := "Bearer " + key
	now := app.Store.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }

	r := apiDo(t, nil, http.MethodPut, app.URL, "/api/v1/subscribers/BX-1001", auth, subscriberBody("Maja Lind", "maja@example.com", "active", at(-time.Hour)))
	if r.Status != http.StatusCreated || r.JSON["result"] != "created" || r.JSON["changed"] != true {
		t.Fatalf("first PUT: %d %v, want 201 created", r.Status, r.JSON)
	}
	r = apiDo(t, nil, http.MethodPut, app.URL, "/api/v1/subscribers/BX-1001", auth, subscriberBody("Maja Lind", "maja@example.com", "active", at(-time.Hour)))
	if r.Status != http.StatusOK || r.JSON["result"] != "unchanged" || r.JSON["changed"] != false {
		t.Errorf("the same PUT again: %d %v, want unchanged", r.Status, r.JSON)
	}
	r = apiDo(t, nil, http.MethodPut, app.URL, "/api/v1/subscribers/BX-1001", auth, subscriberBody("Maja Lind", "maja@example.com", "closed", at(-2*time.Hour)))
	if r.Status != http.StatusOK || r.JSON["result"] != "stale" {
		t.Errorf("an older PUT: %d %v, want stale", r.Status, r.JSON)
	}
	r = apiDo(t, nil, http.MethodPut, app.URL, "/api/v1/subscribers/BX-1001", auth, subscriberBody("Maja Lindqvist", "maja@example.com", "suspended", at(0)))
	if r.Status != http.StatusOK || r.JSON["result"] != "updated" {
		t.Errorf("a newer PUT: %d %v, want updated", r.Status, r.JSON)
	}

	t.Run("GetShowsTheStateAndTheTravelESIMs", func(t *testing.T) {
		r := apiDo(t, nil, http.MethodGet, app.URL, "/api/v1/subscribers/bx-1001", auth, "")
		if r.Status != http.StatusOK || r.JSON["name"] != "Maja Lindqvist" || r.JSON["status"] != "suspended" || r.JSON["phone"] != "+447700900123" {
			t.Fatalf("GET: %d %v", r.Status, r.JSON)
		}
		a, _ := r.JSON["allowance"].(map[string]any)
		if a["used"] != 0.0 || a["total"] != 1.0 {
			t.Errorf("allowance %v, want 0 of 1", a)
		}
		if r := apiDo(t, nil, http.MethodGet, app.URL, "/api/v1/subscribers/NOPE-1", auth, ""); r.Status != http.StatusNotFound {
			t.Errorf("GET of an unknown account: %d", r.Status)
		}
		// A demo subscriber with lines: the lines and their plans come along.
		r = apiDo(t, nil, http.MethodGet, app.URL, "/api/v1/subscribers/"+demoAccountWithLine, auth, "")
		esims, _ := r.JSON["esims"].([]any)
		if r.Status != http.StatusOK || len(esims) == 0 {
			t.Fatalf("GET of a demo subscriber: %d %v", r.Status, r.JSON)
		}
		first := esims[0].(map[string]any)
		if first["iccid"] == "" || len(first["plans"].([]any)) == 0 {
			t.Errorf("first eSIM %v, want its ICCID and plans", first)
		}
	})

	t.Run("EveryBadFieldNamed", func(t *testing.T) {
		r := apiDo(t, nil, http.MethodPut, app.URL, "/api/v1/subscribers/BX-2", auth,
			`{"name": "", "email": "x", "status": "gone", "as_of": "yesterday", "home_plans": [{"id": "1", "name": "P", "kind": "gold"}]}`)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("bad PUT: %d %v", r.Status, r.JSON)
		}
		got := errorFields(r)
		for _, want := range []string{"as_of", "name", "email", "status", "home_plans[0].kind"} {
			if !slices.Contains(got, want) {
				t.Errorf("refused fields %q, want %s among them", got, want)
			}
		}
		if r := apiDo(t, nil, http.MethodPut, app.URL, "/api/v1/subscribers/BX-2", auth, `{"name": "A", "Email": "a@b.c"}`); r.Status != 400 ||
			!strings.Contains(r.JSON["error"].(string), "lowercase") {
			t.Errorf("a miscased field: %d %v", r.Status, r.JSON)
		}
	})

	t.Run("BatchAllOrNothing", func(t *testing.T) {
		rec := func(acct, email string) string {
			return fmt.Sprintf(`{"account_number": %q, "name": "Batch %s", "email": %q, "status": "active", "as_of": %q}`, acct, acct, email, at(0))
		}
		bad := `{"subscribers": [` + rec("BB-1", "b1@example.com") + `, ` + rec("BB-2", "no-at") + `, ` + rec("BB-3", "b3@example.com") + `, 7]}`
		r := apiPost(t, nil, app.URL, "/api/v1/subscribers", auth, bad)
		if got := errorFields(r); r.Status != http.StatusBadRequest || !slices.Equal(got, []string{"subscribers[3]", "subscribers[1].email"}) {
			t.Errorf("a batch with two bad records: %d %v (fields %q)", r.Status, r.JSON, got)
		}
		if n := app.Count(t, `SELECT count(*) FROM subscribers WHERE account_number LIKE 'BB-%'`); n != 0 {
			t.Errorf("a refused batch wrote %d subscribers", n)
		}
		r = apiPost(t, nil, app.URL, "/api/v1/subscribers", auth, `{"subscribers": [`+rec("BB-1", "b1@example.com")+`, `+rec("BX-1001", "maja@example.com")+`]}`)
		results, _ := r.JSON["subscribers"].([]any)
		if r.Status != http.StatusOK || len(results) != 2 || results[0].(map[string]any)["result"] != "created" ||
			results[1].(map[string]any)["result"] != "updated" {
			t.Errorf("a good batch: %d %v", r.Status, r.JSON)
		}
	})

	t.Run("Scopes", func(t *testing.T) {
		network := newClientKey(t, app, lead, "Network operations", "network")
		r := apiDo(t, nil, http.MethodGet, app.URL, "/api/v1/subscribers/BX-1001", "Bearer "+network, "")
		if r.Status != http.StatusForbidden || !strings.Contains(r.JSON["error"].(string), `"subscribers"`) {
			t.Errorf("a network key on the subscriber API: %d %v, want 403 naming the scope", r.Status, r.JSON)
		}
		r = apiDo(t, nil, http.MethodGet, app.URL, "/api/v1/subscribers/BX-1001", "Bearer "+testAPIToken, "")
		if r.Status != http.StatusForbidden {
			t.Errorf("ESIM_API_TOKEN on the subscriber API: %d %v, want 403: it has the network scope only", r.Status, r.JSON)
		}
		r = apiPost(t, nil, app.URL, "/api/v1/usage", auth, `{"records": []}`)
		if r.Status != http.StatusForbidden || !strings.Contains(r.JSON["error"].(string), `"network"`) {
			t.Errorf("a billing key on the usage API: %d %v, want 403 naming network", r.Status, r.JSON)
		}
		r = apiPost(t, nil, app.URL, "/api/v1/usage", "Bearer "+network, `{"records": []}`)
		if r.Status != http.StatusBadRequest || !slices.Equal(errorFields(r), []string{"records"}) {
			t.Errorf("a network key on the usage API: %d %v, want it let through to the records' check", r.Status, r.JSON)
		}
		r = apiDo(t, nil, http.MethodDelete, app.URL, "/api/v1/subscribers/BX-1001", auth, "")
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, PUT" {
			t.Errorf("DELETE: %d, Allow %q", r.Status, r.Header.Get("Allow"))
		}
	})

	t.Run("AuditedAsTheClient", func(t *testing.T) {
		doc := lead.Page(t, "/audit?subscriber=BX-1001")
		text := doc.Find(`[data-testid="audit-entries"]`).Text()
		if !strings.Contains(text, "Billing") || !strings.Contains(text, "status active → suspended") || strings.Count(text, "Billing changed subscriber") != 2 {
			t.Errorf("audit entries of BX-1001:\n%s", text)
		}
	})

	t.Run("RevokeStopsTheKeyAtOnce", func(t *testing.T) {
		doc := lead.Page(t, "/integrations")
		if strings.Contains(doc.Text(), key) {
			t.Fatal("the Integrations page shows a key again")
		}
		if !strings.Contains(doc.Find(`[data-testid="api-clients"]`).Text(), "…"+key[len(key)-4:]) {
			t.Error("the client's row does not show its key's last 4 characters")
		}
		var id string
		app.Raw.QueryRow(`SELECT max(id) FROM api_clients WHERE name = 'Billing'`).Scan(&id)
		r := lead.Post(t, "/integrations/"+id+"/revoke", url.Values{"_csrf": {lead.CSRFToken(t, "/integrations")}})
		if r.Status != http.StatusSeeOther && r.Status != http.StatusOK {
			t.Fatalf("revoke: %d", r.Status)
		}
		r2 := apiDo(t, nil, http.MethodGet, app.URL, "/api/v1/subscribers/BX-1001", auth, "")
		if r2.Status != http.StatusUnauthorized || !strings.Contains(r2.JSON["error"].(string), "revoked") {
			t.Errorf("a revoked key: %d %v, want 401", r2.Status, r2.JSON)
		}
		if strings.Contains(app.Log(), key) {
			t.Error("the key reached the log")
		}
	})

	t.Run("AgentsCannotManageClients", func(t *testing.T) {
		agent := app.Agent(t)
		if r := agent.Get(t, "/integrations"); r.Status != http.StatusForbidden {
			t.Errorf("an agent on Integrations: %d", r.Status)
		}
	})
}

// demoAccountWithLine is a demo subscriber who holds a line.
const demoAccountWithLine = "AC-100644"

// The demo's billing states as agents and leads see them: a suspended
// account, a closed one, and one over its allowance after a downgrade.
func TestBillingStatesOnProfiles(t *testing.T) {
	app := portaltest.Start(t)
	agent, lead := app.Agent(t), app.Lead(t)
	profile := func(account string) string {
		return strings.Join(strings.Fields(agent.Page(t, fmt.Sprintf("/subscribers/%d", app.Subscriber(t, account).ID)).Find("main").Text()), " ")
	}
	for account, want := range map[string][]string{
		"AC-101077": {"Suspended", "Account suspended in billing: no new line or plan"},
		"AC-101045": {"Closed", "Account closed in billing", "read-only history"},
		"AC-100866": {"1 line, 0 qualifying plans: no new line until a qualifying plan is added"},
	} {
		got := profile(account)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("the profile of %s lacks %q:\n%s", account, w, got)
			}
		}
		if strings.Contains(got, "Add line") && account != "AC-100866" {
			t.Errorf("the profile of %s offers Add line", account)
		}
	}
	noah := app.Lines(t, app.Subscriber(t, "AC-101045").ID)[0]
	form := agent.Page(t, "/esims/"+noah.ICCID+"/plans/new")
	if got := form.Find(`[data-testid=form-error]`).Text(); !strings.Contains(got, "closed in billing") {
		t.Errorf("Add plan on a closed account opens with %q", got)
	}
	if href, _ := lead.Page(t, "/subscribers").Find(`[data-testid=over-allowance-link]`).Attr("href"); href != "/subscribers/over-allowance" {
		t.Errorf("the leads' search page links to %q, want their list of subscribers over their allowance", href)
	}
	over := lead.Page(t, "/subscribers/over-allowance").Find(`[data-testid=over-allowance]`).Text()
	if !strings.Contains(over, "Lukas Schneider") || strings.Contains(over, "Grace Thompson") {
		t.Errorf("over their allowance lists:\n%s", over)
	}
	if r := agent.Get(t, "/subscribers/over-allowance"); r.Status != http.StatusForbidden {
		t.Errorf("an agent on the leads' list: %d", r.Status)
	}
	search := agent.Page(t, "/subscribers?q=Noah").Find(`[data-testid=search-results]`).Text()
	if !strings.Contains(search, "Closed") {
		t.Errorf("search shows a closed account unmarked:\n%s", search)
	}
}
