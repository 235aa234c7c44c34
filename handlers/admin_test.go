package handlers_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

func TestLeadOnlyPages(t *testing.T) {
	app := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) { h.Demo = true }})
	agent := app.Agent(t)
	lead := app.Lead(t)
	for _, path := range []string{"/users", "/audit", "/audit.csv", "/esims/import", "/esims.csv", "/insights"} {
		t.Run("GET"+path, func(t *testing.T) {
			r := agent.Get(t, path)
			if r.Status != http.StatusForbidden {
				t.Fatalf("agent: status %d, want 403", r.Status)
			}
			if got := text(r.Doc(t).Find("[data-testid=error-page] h1")); got != "Not allowed" {
				t.Errorf("agent sees %q, want the Not allowed page", got)
			}
			if r := lead.Get(t, path); r.Status != http.StatusOK {
				t.Errorf("lead: status %d, want 200", r.Status)
			}
		})
	}
	t.Run("EveryLeadChangeRefusedToAgents", func(t *testing.T) {
		var free, allocated string
		app.Raw.QueryRow(`SELECT iccid FROM esims WHERE state = 'free' LIMIT 1`).Scan(&free)
		app.Raw.QueryRow(`SELECT iccid FROM esims WHERE state = 'allocated' LIMIT 1`).Scan(&allocated)
		csrf := agent.CSRFToken(t, "/subscribers")
		before := app.Count(t, `SELECT count(*) FROM audit_log`)
		for _, path := range []string{"/users", "/users/1/disabled", "/users/1/password", "/esims/import",
			"/esims/" + free + "/retire", "/esims/" + allocated + "/simulate-attach"} {
			form := url.Values{"_csrf": {csrf}, "email": {"x@example.com"}, "name": {"X"}, "role": {"lead"},
				"password": {"long enough"}, "disabled": {"true"}, "country": {"FR"}}
			if r := agent.Post(t, path, form); r.Status != http.StatusForbidden {
				t.Errorf("agent POST %s: status %d, want 403", path, r.Status)
			}
		}
		if after := app.Count(t, `SELECT count(*) FROM audit_log`); after != before {
			t.Errorf("an agent's POST to a lead-only route changed something")
		}
	})
	t.Run("NavHidesLeadPagesFromAgents", func(t *testing.T) {
		for _, href := range []string{"/users", "/insights"} {
			if n := agent.Page(t, "/subscribers").Find(`nav a[href="` + href + `"]`).Length(); n != 0 {
				t.Errorf("agent's navigation links to %s", href)
			}
			if n := lead.Page(t, "/subscribers").Find(`nav a[href="` + href + `"]`).Length(); n != 1 {
				t.Errorf("lead's navigation has no link to %s", href)
			}
		}
	})
	t.Run("UnknownPageIs404ForAgents", func(t *testing.T) {
		if r := agent.Get(t, "/no-such-page"); r.Status != http.StatusNotFound {
			t.Errorf("status %d, want 404", r.Status)
		}
	})
}

func TestUsers(t *testing.T) {
	app := portaltest.Start(t)
	lead := app.Lead(t)
	token := lead.CSRFToken(t, "/users")
	t.Run("AddLogin", func(t *testing.T) {
		r := lead.Post(t, "/users", url.Values{"_csrf": {token}, "email": {"nina@example.com"}, "name": {"Nina Park"}, "role": {"agent"}, "password": {"a good password"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", r.Status)
		}
		app.SignedIn(t, "nina@example.com", "a good password")
	})
	t.Run("DuplicateEmailRefusedInline", func(t *testing.T) {
		r := lead.Post(t, "/users", url.Values{"_csrf": {token}, "email": {"AGENT@example.com"}, "name": {"Dup"}, "role": {"agent"}, "password": {"a good password"}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", r.Status)
		}
		if got := text(r.Doc(t).Find("#email-error")); !strings.Contains(got, "already exists") {
			t.Errorf("email error = %q", got)
		}
	})
	t.Run("EveryFieldAtOnce", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			form  url.Values
			want  map[string]string
			focus string
		}{
			{"Invalid", url.Values{"email": {"nobody"}, "name": {" "}, "role": {"agent"}, "password": {"short"}},
				map[string]string{"email": "Enter an email address.", "name": "Enter a name.", "password": "at least 8 characters"}, "email"},
			// The email already in use is said with the others, not after them.
			{"TakenEmail", url.Values{"email": {"agent@example.com"}, "name": {"Dup"}, "role": {"boss"}, "password": {"short"}},
				map[string]string{"email": "already exists", "role": "Role must be agent or lead.", "password": "at least 8 characters"}, "email"},
			{"RoleAndPassword", url.Values{"email": {"new@example.com"}, "name": {"New"}, "role": {"boss"}, "password": {"short"}},
				map[string]string{"role": "Role must be agent or lead.", "password": "at least 8 characters"}, "role"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.form.Set("_csrf", token)
				r := lead.Post(t, "/users", tc.form)
				if r.Status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", r.Status)
				}
				doc := r.Doc(t)
				for field, want := range tc.want {
					if got := text(doc.Find("#" + field + "-error")); !strings.Contains(got, want) {
						t.Errorf("%s error = %q, want %q", field, got, want)
					}
					if got := doc.Find("#"+field).AttrOr("aria-invalid", ""); got != "true" {
						t.Errorf("%s aria-invalid = %q, want true", field, got)
					}
				}
				// The keyboard starts at the first field in error.
				if got := doc.Find("main [autofocus]"); got.Length() != 1 || got.AttrOr("id", "") != tc.focus {
					t.Errorf("autofocus on %d elements, the first #%s; want just #%s", got.Length(), got.AttrOr("id", ""), tc.focus)
				}
			})
		}
	})
	t.Run("DisableAsksFirst", func(t *testing.T) {
		// Disabling is on the login's own page, and asks for the lead's password.
		doc := lead.Page(t, "/users/"+app.LoginID(t, demo.AgentEmail))
		form := doc.Find(`form[action="/users/` + app.LoginID(t, demo.AgentEmail) + `/disabled"]`)
		if form.Find(`input[name=your_password]`).Length() != 1 || !strings.Contains(text(form), "Dana Whitfield is signed out everywhere") {
			t.Errorf("disabling a login says %q; want it to name the login and ask for the lead's password", text(form))
		}
	})
	t.Run("DisableEndsSessions", func(t *testing.T) {
		agent := app.Agent(t)
		r := lead.Post(t, "/users/"+app.LoginID(t, demo.AgentEmail)+"/disabled", url.Values{"_csrf": {token}, "disabled": {"true"}, "your_password": {demo.LeadPassword}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", r.Status)
		}
		if r := agent.Get(t, "/subscribers"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
			t.Errorf("disabled agent's session: status %d to %q, want a redirect to sign in", r.Status, r.Location())
		}
		if r := app.NewClient().SignIn(t, demo.AgentEmail, demo.AgentPassword); r.Status != http.StatusUnauthorized {
			t.Errorf("disabled agent signs in: status %d, want 401", r.Status)
		}
		lead.Post(t, "/users/"+app.LoginID(t, demo.AgentEmail)+"/disabled", url.Values{"_csrf": {token}, "disabled": {"false"}, "your_password": {demo.LeadPassword}})
		app.Agent(t)
	})
	t.Run("LastLeadCannotBeDisabled", func(t *testing.T) {
		r := lead.Post(t, "/users/"+app.LoginID(t, demo.LeadEmail)+"/disabled", url.Values{"_csrf": {token}, "disabled": {"true"}, "your_password": {demo.LeadPassword}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", r.Status)
		}
		if got := text(r.Doc(t).Find("[data-testid=form-error]")); !strings.Contains(got, "last active team lead") {
			t.Errorf("message = %q", got)
		}
	})
	t.Run("ResetPassword", func(t *testing.T) {
		r := lead.Post(t, "/users/"+app.LoginID(t, demo.AgentEmail)+"/password", url.Values{"_csrf": {token}, "password": {"short"}, "your_password": {demo.LeadPassword}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("short password: status %d, want 422", r.Status)
		}
		r = lead.Post(t, "/users/"+app.LoginID(t, demo.AgentEmail)+"/password", url.Values{"_csrf": {token}, "password": {"brand new secret"}, "your_password": {demo.LeadPassword}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", r.Status)
		}
		if r := app.NewClient().SignIn(t, demo.AgentEmail, demo.AgentPassword); r.Status != http.StatusUnauthorized {
			t.Errorf("old password still works: status %d", r.Status)
		}
		app.SignedIn(t, demo.AgentEmail, "brand new secret")
	})
	t.Run("Audited", func(t *testing.T) {
		doc := lead.Page(t, "/audit")
		got := strings.Join(texts(doc.Find("[data-testid=audit-entries] tbody td:nth-child(3)")), ",")
		for _, want := range []string{"Added login", "Disabled login", "Enabled login", "Reset password"} {
			if !strings.Contains(got, want) {
				t.Errorf("audit log lacks %q: %s", want, got)
			}
		}
	})
}

func TestAuditLogFilterAndExport(t *testing.T) {
	app := portaltest.Start(t)
	lead := app.Lead(t)
	var iccid string
	if err := app.Raw.QueryRow(`SELECT iccid FROM audit_log WHERE action = 'add_line' ORDER BY id LIMIT 1`).Scan(&iccid); err != nil {
		t.Fatal(err)
	}
	doc := lead.Page(t, "/audit?iccid="+iccid)
	rows := doc.Find("[data-testid=audit-entries] tbody tr")
	if want := app.Count(t, `SELECT count(*) FROM audit_log WHERE iccid = ?`, iccid); rows.Length() != want || want == 0 {
		t.Fatalf("filtered rows = %d, want %d", rows.Length(), want)
	}
	csv := lead.Get(t, "/audit.csv?iccid="+iccid)
	if csv.Status != http.StatusOK || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: status %d, type %s", csv.Status, csv.Header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(string(csv.Body)), "\n")
	if len(lines) != rows.Length()+1 || !strings.HasPrefix(lines[0], "id,at,") {
		t.Errorf("CSV has %d lines, want a header and %d rows", len(lines), rows.Length())
	}
	t.Run("BadDates", func(t *testing.T) {
		r := lead.Get(t, "/audit?from=yesterday&to=tomorrow")
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("status %d, want 422", r.Status)
		}
		doc := r.Doc(t)
		if got := text(doc.Find("#from-error")); got != "From must be a date like 2026-12-01." {
			t.Errorf("from error = %q", got)
		}
		if got := text(doc.Find("#to-error")); got != "To must be a date like 2026-12-31." {
			t.Errorf("to error = %q", got)
		}
		if doc.Find("[data-testid=audit-entries]").Length() != 0 {
			t.Error("entries shown for a refused filter")
		}
		if r := lead.Get(t, "/audit.csv?from=yesterday"); r.Status != http.StatusBadRequest {
			t.Errorf("CSV of a refused filter: status %d", r.Status)
		}
	})
}

// TestNoGETChangesState requests every GET route of the route table, checks
// the security headers on each answer, and that the data did not change.
func TestNoGETChangesState(t *testing.T) {
	app := portaltest.Start(t)
	lead := app.Lead(t)
	snapshot := func() string {
		h := sha256.New()
		for _, table := range []string{"logins", "subscribers", "domestic_plans", "plans", "esims", "esim_plans", "outbox",
			"form_submissions", "attachments", "profile_events", "audit_log", "settings"} {
			rows, err := app.Raw.Query(`SELECT * FROM ` + table)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				rows.Scan(ptrs...)
				fmt.Fprintln(h, table, vals)
			}
			rows.Close()
		}
		return fmt.Sprintf("%x", h.Sum(nil))
	}
	var iccid string
	app.Raw.QueryRow(`SELECT iccid FROM esims WHERE state = 'allocated' LIMIT 1`).Scan(&iccid)
	params := strings.NewReplacer(":id", "1", ":iccid", iccid, ":name", "app.css")
	before := snapshot()
	n := 0
	for _, r := range app.Routes {
		if r.Method != http.MethodGet || strings.Contains(r.Path, "*") {
			continue
		}
		path := params.Replace(r.Path)
		for _, resp := range []*portaltest.Response{lead.Get(t, path), lead.Get(t, path, "HX-Request", "true")} {
			assertSecurityHeaders(t, path, resp)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("walked %d GET routes; the route table looks wrong", n)
	}
	if after := snapshot(); after != before {
		t.Errorf("a GET request changed the data")
	}
}

// TestAuditCSVNeutralisesFormulas gives a login a name that is a formula and
// exports the audit log: no cell of the file starts as a formula.
func TestAuditCSVNeutralisesFormulas(t *testing.T) {
	app := portaltest.Start(t)
	lead := app.Lead(t)
	for i, name := range []string{"=1+1", "＝HYPERLINK(\"https://evil.example\")", "\u200b@SUM(A1)"} {
		email := fmt.Sprintf("formula%d@example.com", i)
		r := lead.Post(t, "/users", url.Values{"_csrf": {lead.CSRFToken(t, "/users")}, "email": {email}, "name": {name},
			"role": {"agent"}, "password": {"a good password"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("add login %q: status %d", name, r.Status)
		}
		app.SignedIn(t, email, "a good password") // a sign_in entry with the name as its login_name
	}
	r := lead.Get(t, "/audit.csv")
	if r.Status != http.StatusOK {
		t.Fatalf("audit CSV: status %d", r.Status)
	}
	records, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	names := 0
	for _, rec := range records {
		for _, cell := range rec {
			if cell != db.SpreadsheetSafe(cell) {
				t.Errorf("cell %q of the audit CSV starts as a formula", cell)
			}
		}
		if strings.HasPrefix(rec[3], "'") {
			names++
		}
	}
	if names < 3 {
		t.Errorf("%d audit rows name a login with a quoted formula name, want the 3 sign-ins at least", names)
	}
}
