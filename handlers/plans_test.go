package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// planForm is the Add a plan form as the page offers it, CSRF token
// included, filled in with fields.
func planForm(t *testing.T, c *portaltest.Client, fields map[string]string, dest ...string) url.Values {
	t.Helper()
	form := c.FormValues(t, "/plans/new", "#plan-form")
	for k, v := range fields {
		form.Set(k, v)
	}
	for _, d := range dest {
		form.Add("dest", d)
	}
	return form
}

// fieldErrors are the messages under the fields of a form, by the id of
// their input, and the inputs marked invalid.
func fieldErrors(doc *goquery.Document, form string) (map[string]string, []string) {
	msgs := map[string]string{}
	doc.Find(form + " .field-error").Each(func(_ int, e *goquery.Selection) {
		if m := text(e); m != "" {
			msgs[strings.TrimSuffix(e.AttrOr("id", ""), "-error")] = m
		}
	})
	var invalid []string
	doc.Find(form + " [aria-invalid=true]").Each(func(_ int, e *goquery.Selection) {
		invalid = append(invalid, e.AttrOr("name", ""))
	})
	return msgs, invalid
}

func TestPlansPage(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent, lead := app.Agent(t), app.Lead(t)

	t.Run("AgentReads", func(t *testing.T) {
		doc := agent.Page(t, "/plans")
		if doc.Find("[data-testid=catalog-plan]").Length() < 10 {
			t.Errorf("the catalog shows %d plans", doc.Find("[data-testid=catalog-plan]").Length())
		}
		if doc.Find("[data-testid=add-plan-to-catalog]").Length() != 0 || doc.Find("table.catalog a[href^='/plans/']").Length() != 0 {
			t.Error("an agent is offered to change the catalog")
		}
		if got := agent.Get(t, "/plans/new").Status; got != http.StatusForbidden {
			t.Errorf("an agent opening Add a plan: %d, want 403", got)
		}
		if got := agent.Post(t, "/plans/EURO1/withdraw", url.Values{"_csrf": {agent.CSRFToken(t, "/plans")}}).Status; got != http.StatusForbidden {
			t.Errorf("an agent withdrawing a plan: %d, want 403", got)
		}
	})
	t.Run("WhichPlansCoverJapan", func(t *testing.T) {
		doc := agent.Page(t, "/plans?country=japan")
		var codes []string
		doc.Find("[data-testid=catalog-plan]").Each(func(_ int, tr *goquery.Selection) { codes = append(codes, tr.AttrOr("data-code", "")) })
		slices.Sort(codes)
		if want := []string{"ASIA1", "ASIAPLUS", "GLOBAL1", "JAPAN3"}; !slices.Equal(codes, want) {
			t.Errorf("plans covering Japan: %v, want %v", codes, want)
		}
		if got, want := text(doc.Find("[data-testid=country-summary]")), "Japan: 1 plan on profile 2, 3 plans on profile 10."; got != want {
			t.Errorf("summary %q, want %q", got, want)
		}
	})
	t.Run("StockBesideEachProfile", func(t *testing.T) {
		doc := lead.Page(t, "/plans?profile=10")
		lines := texts(doc.Find("[data-testid=profile-stock]"))
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "4 plans on sale on profile 10: ") || !strings.Contains(lines[0], "free eSIMs") {
			t.Errorf("stock lines %q, want profile 10's", lines)
		}
	})
}

func TestAddPlanForm(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	lead := app.Lead(t)
	plans := app.Count(t, `SELECT count(*) FROM plans`)

	t.Run("EveryFieldRefusedAtOnce", func(t *testing.T) {
		form := planForm(t, lead, map[string]string{"code": "euro 1!", "name": "", "region": " ", "data": "5", "price": "19.999", "currency": "XYZ"})
		r := lead.Post(t, "/plans", form, "HX-Request", "true")
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", r.Status)
		}
		msgs, invalid := fieldErrors(r.Doc(t), "#plan-form")
		for _, field := range []string{"code", "name", "region", "data", "price", "imsi_profile", "destinations"} {
			if msgs[field] == "" {
				t.Errorf("no message at %s; messages %q", field, msgs)
			}
		}
		if !strings.Contains(msgs["price"], "Choose the currency") {
			t.Errorf("price message %q does not name the currency", msgs["price"])
		}
		for _, name := range []string{"code", "name", "region", "data", "price", "currency"} {
			if !slices.Contains(invalid, name) {
				t.Errorf("%s is not marked invalid (%v)", name, invalid)
			}
		}
		if got := app.Count(t, `SELECT count(*) FROM plans`); got != plans {
			t.Errorf("%d plans after a refused form, want %d", got, plans)
		}
	})
	t.Run("CodeTaken", func(t *testing.T) {
		form := planForm(t, lead, map[string]string{"code": "EURO1", "name": "Euro again", "region": "Europe", "data": "1 GB", "price": "9",
			"imsi_profile": "7"}, "FR")
		r := lead.Post(t, "/plans", form, "HX-Request", "true")
		msgs, _ := fieldErrors(r.Doc(t), "#plan-form")
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(msgs["code"], "already in the catalog") {
			t.Errorf("status %d, messages %q; want the code refused", r.Status, msgs)
		}
	})
	t.Run("Added", func(t *testing.T) {
		form := planForm(t, lead, map[string]string{"code": "ice5", "name": "Iceland 5 GB", "region": "Europe", "data": "5 GB", "price": "19",
			"imsi_profile": "7"}, "IS")
		r := lead.Post(t, "/plans", form)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("status %d, want 303; %s", r.Status, text(r.Doc(t).Find("main")))
		}
		p := app.Plan(t, "Iceland 5 GB")
		if p.Code != "ICE5" || p.DataMB != 5000 || p.Price() != "$19.00" || p.IMSIProfile != 7 || !p.Active || !slices.Equal(p.Destinations, []string{"IS"}) {
			t.Errorf("plan = %+v", p)
		}
		if n := app.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'catalog_add' AND detail LIKE 'plan ICE5 %'`); n != 1 {
			t.Errorf("%d audit entries of the new plan, want 1", n)
		}
	})
	t.Run("DestinationSearchAndPreset", func(t *testing.T) {
		doc := lead.Get(t, "/plans/new?dest_q=ger&dest=IS", "HX-Request", "true").Doc(t)
		matches := texts(doc.Find("[data-testid=dest-matches] label"))
		if len(matches) == 0 || matches[0] != "Germany" {
			t.Errorf("typing ger finds %q, want Germany first", matches)
		}
		doc = lead.Get(t, "/plans/new?preset="+url.QueryEscape("EU 27")+"&dest=IS", "HX-Request", "true").Doc(t)
		if got := doc.Find("[data-testid=dest-chosen] input:checked").Length(); got != 28 {
			t.Errorf("Iceland and EU 27 chose %d destinations, want 28", got)
		}
	})
	t.Run("CopyIntoANewPlan", func(t *testing.T) {
		form := lead.FormValues(t, "/plans/new?copy=EURO10", "#plan-form")
		if form.Get("code") != "" || form.Get("name") != "Euro 10" || form.Get("data") != "10 GB" || form.Get("imsi_profile") != "7" || len(form["dest"]) != 26 {
			t.Errorf("copy of Euro 10 = %v", form)
		}
	})
}

func TestEditSoldPlan(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	lead := app.Lead(t)
	doc := lead.Page(t, "/plans/EURO1")
	if doc.Find("[data-testid=sold-note]").Length() != 1 || doc.Find("#plan-form [name=data], #plan-form [name=dest]").Length() != 0 {
		t.Error("a sold plan's form offers to change its data or destinations")
	}
	if doc.Find("[data-testid=delete-plan]").Length() != 0 {
		t.Error("a sold plan offers Delete")
	}
	form := lead.FormValues(t, "/plans/EURO1", "#plan-form")
	form.Set("name", "Euro 1 GB")
	form.Set("price", "10.50")
	form.Set("currency", "USD")
	r := lead.Post(t, "/plans/EURO1", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; %s", r.Status, text(r.Doc(t).Find("main")))
	}
	if p := app.Plan(t, "Euro 1 GB"); p.PriceCents != 1050 || p.DataMB != 1000 {
		t.Errorf("plan = %+v", p)
	}
	var detail string
	if err := app.Raw.QueryRow(`SELECT detail FROM audit_log WHERE action = 'catalog_edit' ORDER BY id DESC LIMIT 1`).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if want := `plan EURO1: name: "Euro 1" → "Euro 1 GB"; price: $9.00 → $10.50`; detail != want {
		t.Errorf("audit %q, want %q", detail, want)
	}
}

func TestWithdrawLastCover(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	lead := app.Lead(t)
	form := planForm(t, lead, map[string]string{"code": "GL1", "name": "Greenland", "region": "Arctic", "data": "1 GB", "price": "25",
		"imsi_profile": "7"}, "GL")
	if r := lead.Post(t, "/plans", form); r.Status != http.StatusSeeOther {
		t.Fatalf("add: status %d", r.Status)
	}
	csrf := url.Values{"_csrf": {lead.CSRFToken(t, "/plans/GL1")}}
	r := lead.Post(t, "/plans/GL1/withdraw", csrf)
	if got, want := text(r.Doc(t).Find("[data-testid=confirm-warning]")), "After this, no plan covers Greenland"; r.Status != http.StatusOK || !strings.HasPrefix(got, want) {
		t.Fatalf("status %d, warning %q; want %q", r.Status, got, want)
	}
	if !app.Plan(t, "Greenland").Active {
		t.Fatal("withdrawn before the lead confirmed")
	}
	csrf.Set("confirm", "1")
	if r := lead.Post(t, "/plans/GL1/withdraw", csrf); r.Status != http.StatusSeeOther {
		t.Fatalf("confirmed withdraw: status %d", r.Status)
	}
	if app.Plan(t, "Greenland").Active {
		t.Error("still on sale")
	}
	// Never sold: it can go.
	if r := lead.Post(t, "/plans/GL1/delete", csrf); r.Status != http.StatusSeeOther {
		t.Fatalf("delete: status %d", r.Status)
	}
	if n := app.Count(t, `SELECT count(*) FROM plans WHERE code = 'GL1'`); n != 0 {
		t.Error("not deleted")
	}
	if r := lead.Post(t, "/plans/EURO1/delete", csrf); r.Status != http.StatusConflict {
		t.Errorf("deleting a sold plan: status %d, want 409", r.Status)
	}
}

// catalogKeys holds the key of the product system's API client of each portal.
var catalogKeys sync.Map

// catalogKey is the key of an API client with the catalog scope, made once per portal.
func catalogKey(t *testing.T, app *portaltest.Portal) string {
	t.Helper()
	if k, ok := catalogKeys.Load(app); ok {
		return k.(string)
	}
	_, key, err := app.Store.AddAPIClient(context.Background(), "Product system", []string{db.ScopeCatalog}, db.Login{})
	if err != nil {
		t.Fatal(err)
	}
	catalogKeys.Store(app, key)
	return key
}

// apiSend sends a JSON body (or none) to the catalog API with a key of the catalog scope.
func apiSend(t *testing.T, app *portaltest.Portal, method, path, body string) apiCall {
	t.Helper()
	return apiDo(t, nil, method, app.URL, path, "Bearer "+catalogKey(t, app), body)
}

// errorFields lists the fields an API refusal names, in its order.
func errorFields(c apiCall) []string {
	var out []string
	list, _ := c.JSON["errors"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		f, _ := m["field"].(string)
		out = append(out, f)
	}
	return out
}

func TestCatalogAPI(t *testing.T) {
	t.Parallel()
	app := newAPIApp(t, false)
	const iceland = `{"name": "Iceland 5 GB", "region": "Europe", "data_mb": 5000, "price_cents": 1900, "currency": "USD",
		"imsi_profile": 7, "destinations": ["IS"], "on_sale": true}`
	t.Run("NetworkKeyRefused", func(t *testing.T) {
		if r := apiDo(t, nil, http.MethodGet, app.URL, "/api/v1/plans", "Bearer "+testAPIToken, ""); r.Status != http.StatusForbidden ||
			!strings.Contains(r.JSON["error"].(string), `"catalog"`) {
			t.Errorf("ESIM_API_TOKEN on the catalog API: %d %v, want 403 naming the catalog scope", r.Status, r.JSON)
		}
	})
	t.Run("Created", func(t *testing.T) {
		lead := app.Lead(t) // signed in first: the PUT is the newest change
		r := apiSend(t, app, http.MethodPut, "/api/v1/plans/ICE5", iceland)
		if r.Status != http.StatusCreated || r.JSON["created"] != true {
			t.Fatalf("PUT: %d %v", r.Status, r.JSON)
		}
		if again := apiSend(t, app, http.MethodPut, "/api/v1/plans/ICE5", iceland); again.Status != http.StatusOK || len(again.JSON["changes"].([]any)) != 0 {
			t.Errorf("PUT again: %d %v, want 200 with no change", again.Status, again.JSON)
		}
		// The audit log names who added it.
		row := lead.Page(t, "/audit").Find("[data-testid=audit-entries] tbody tr").First()
		if got := texts(row.Find("td")); len(got) < 3 || got[1] != "Catalog API" || got[2] != "Plan added to the catalog" {
			t.Errorf("the audit log's newest entry reads %q; want the catalog API adding a plan", got)
		}
	})
	t.Run("SoldPlanKeepsItsDataProfileAndDestinations", func(t *testing.T) {
		r := apiSend(t, app, http.MethodPut, "/api/v1/plans/EURO1", `{"name": "Euro 1", "region": "Europe", "data_mb": 2000, "price_cents": 900,
			"currency": "USD", "imsi_profile": 10, "destinations": ["FR"], "on_sale": true}`)
		if r.Status != http.StatusConflict {
			t.Fatalf("PUT: %d %v, want 409", r.Status, r.JSON)
		}
		if got, want := errorFields(r), []string{"data_mb", "imsi_profile", "destinations"}; !slices.Equal(got, want) {
			t.Errorf("refused %v, want %v", got, want)
		}
		if p := app.Plan(t, "Euro 1"); p.DataMB != 1000 || p.IMSIProfile != 7 {
			t.Errorf("a refused PUT changed the plan: %+v", p)
		}
	})
	t.Run("EveryBadFieldNamed", func(t *testing.T) {
		r := apiSend(t, app, http.MethodPut, "/api/v1/plans/X1", `{"name": "", "region": "Europe", "data_mb": 0, "price_cents": -5,
			"currency": "usd", "imsi_profile": 3, "destinations": ["XX"], "on_sale": true}`)
		if got, want := errorFields(r), []string{"name", "data_mb", "price_cents", "currency", "imsi_profile", "destinations"}; r.Status != http.StatusBadRequest || !slices.Equal(got, want) {
			t.Errorf("PUT: %d, refused %v; want 400 and %v", r.Status, got, want)
		}
		r = apiSend(t, app, http.MethodPut, "/api/v1/plans/X1", `{"name": "X"}`)
		if got := errorFields(r); r.Status != http.StatusBadRequest || len(got) != 7 {
			t.Errorf("PUT with one field: %d, refused %v; want the 7 missing", r.Status, got)
		}
		if r := apiSend(t, app, http.MethodPut, "/api/v1/plans/X1", `{"Name": "X"}`); r.Status != http.StatusBadRequest {
			t.Errorf("a field in capitals: %d, want 400", r.Status)
		}
	})
	t.Run("List", func(t *testing.T) {
		r := apiSend(t, app, http.MethodGet, "/api/v1/plans", "")
		list, _ := r.JSON["plans"].([]any)
		var found map[string]any
		for _, p := range list {
			if m := p.(map[string]any); m["code"] == "ICE5" {
				found = m
			}
		}
		if r.Status != http.StatusOK || found == nil || found["data_mb"] != 5000.0 || found["sold"] != 0.0 {
			t.Errorf("GET: %d, ICE5 = %v", r.Status, found)
		}
		if r := apiSend(t, app, http.MethodGet, "/api/v1/plans/ICE5", ""); r.Status != http.StatusOK || r.JSON["name"] != "Iceland 5 GB" {
			t.Errorf("GET one: %d %v", r.Status, r.JSON)
		}
		if r := apiSend(t, app, http.MethodGet, "/api/v1/plans/NOSUCH", ""); r.Status != http.StatusNotFound {
			t.Errorf("GET an unknown plan: %d %v, want 404", r.Status, r.JSON)
		}
		if r := apiSend(t, app, http.MethodDelete, "/api/v1/plans/ICE5", ""); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, PUT" {
			t.Errorf("DELETE: %d, Allow %q, want 405 naming GET and PUT", r.Status, r.Header.Get("Allow"))
		}
	})
}
