package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/views"
)

func TestRetireESIM(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent := app.Agent(t)
	lead := app.Lead(t)
	pick := func(state string) string {
		var iccid string
		if err := app.Raw.QueryRow(`SELECT iccid FROM esims WHERE state = ? ORDER BY iccid LIMIT 1`, state).Scan(&iccid); err != nil {
			t.Fatal(err)
		}
		return iccid
	}
	free, allocated := pick(db.StateFree), pick(db.StateAllocated)
	csrf := func(c *portaltest.Client) url.Values { return url.Values{"_csrf": {c.CSRFToken(t, "/esims")}} }

	if r := agent.Post(t, "/esims/"+free+"/retire", csrf(agent)); r.Status != http.StatusForbidden {
		t.Errorf("agent: status %d, want 403", r.Status)
	}
	r := lead.Post(t, "/esims/"+allocated+"/retire", csrf(lead))
	if r.Status != http.StatusConflict || !strings.Contains(text(r.Doc(t).Find("[data-testid=error-page]")), "is allocated") {
		t.Errorf("allocated: status %d", r.Status)
	}
	r = lead.Post(t, "/esims/"+allocated+"/retire", csrf(lead), "HX-Request", "true")
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r.Doc(t).Find("[data-testid=retire-refused]")), "cannot be retired") {
		t.Errorf("allocated from the button: status %d", r.Status)
	}
	r = lead.Post(t, "/esims/"+free+"/retire", csrf(lead))
	if r.Status != http.StatusSeeOther || r.Location() != "/esims/"+free {
		t.Fatalf("free: status %d to %q", r.Status, r.Location())
	}
	if got := text(lead.Page(t, r.Location()).Find(".alert.ok")); !strings.Contains(got, "retired") {
		t.Errorf("flash %q", got)
	}
	if app.Count(t, `SELECT count(*) FROM esims WHERE iccid = ? AND state = 'retired'`, free) != 1 {
		t.Error("not retired")
	}
}

func TestRetireButton(t *testing.T) {
	lead := db.Login{ID: 2, Name: "Lead", Role: db.RoleLead}
	agent := db.Login{ID: 1, Name: "Agent", Role: db.RoleAgent}
	for _, tc := range []struct {
		name  string
		login db.Login
		state string
		shown bool
	}{
		{"LeadFree", lead, db.StateFree, true},
		{"LeadAllocated", lead, db.StateAllocated, false},
		{"LeadRetired", lead, db.StateRetired, false},
		{"AgentFree", agent, db.StateFree, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := views.WithPage(context.Background(), views.Page{Login: &tc.login, CSRF: "token"})
			var b strings.Builder
			if err := views.RetireButton(db.ESIM{ICCID: "8901480000000000000", State: tc.state}).Render(ctx, &b); err != nil {
				t.Fatal(err)
			}
			doc, _ := goquery.NewDocumentFromReader(strings.NewReader(b.String()))
			form := doc.Find(`form[action="/esims/8901480000000000000/retire"]`)
			if got := form.Length() == 1; got != tc.shown {
				t.Errorf("shown = %v, want %v", got, tc.shown)
			}
			if tc.shown && form.Find(`input[name="_csrf"][value="token"]`).Length() != 1 {
				t.Error("no CSRF token")
			}
		})
	}
}
