package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// addLead has lead (whose password is leadPassword) add a team lead, who
// signs in and sets a password of their own, and returns their browser and
// login id.
func addLead(t *testing.T, app *portaltest.Portal, lead *portaltest.Client, leadPassword, email, password string) (*portaltest.Client, string) {
	t.Helper()
	r := lead.Post(t, "/users", url.Values{"_csrf": {lead.CSRF}, "email": {email}, "name": {"Another Lead"}, "role": {"lead"},
		"password": {"temporary pass"}, "your_password": {leadPassword}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("add a team lead: status %d", r.Status)
	}
	c := app.SignedIn(t, email, "temporary pass")
	changePassword(t, c, "temporary pass", password)
	return c, app.LoginID(t, email)
}

func changePassword(t *testing.T, c *portaltest.Client, current, password string) {
	t.Helper()
	r := c.Post(t, "/account/password", url.Values{"_csrf": {c.CSRF}, "current_password": {current}, "password": {password}, "password_again": {password}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("change password: status %d: %s", r.Status, text(r.Doc(t).Find(".field-error")))
	}
}

// TestReauthentication has a second team lead try to take over the first:
// reset their password, disable them, add a team lead of their own. Each
// asks for the acting lead's own password; without it nothing changes.
func TestReauthentication(t *testing.T) {
	app := portaltest.Start(t)
	first := app.Lead(t)
	firstID := app.LoginID(t, demo.LeadEmail)
	second, _ := addLead(t, app, first, demo.LeadPassword, "second.lead@example.com", "second lead's own")
	snapshot := func() string {
		var hash string
		app.Raw.QueryRow(`SELECT password_hash FROM logins WHERE id = ?`, firstID).Scan(&hash)
		return fmt.Sprintf("logins=%d disabled=%d sessions=%d audit=%d hash=%s", app.Count(t, `SELECT count(*) FROM logins`),
			app.Count(t, `SELECT count(*) FROM logins WHERE disabled_at IS NOT NULL`), app.Count(t, `SELECT count(*) FROM sessions WHERE login_id = ?`, firstID),
			app.Count(t, `SELECT count(*) FROM audit_log WHERE action <> 'sign_in'`), hash)
	}
	takeovers := []struct {
		name, path  string
		form        url.Values
		errSelector string
	}{
		{"ResetPassword", "/users/" + firstID + "/password", url.Values{"password": {"taken over!"}}, "#reset-confirm-error"},
		{"Disable", "/users/" + firstID + "/disabled", url.Values{"disabled": {"true"}}, "#status-confirm-error"},
		{"AddLead", "/users", url.Values{"email": {"accomplice@example.com"}, "name": {"Accomplice"}, "role": {"lead"}, "password": {"known to me"}}, "#your_password-error"},
	}
	// Each wrong confirmation counts against the sign-in throttle; a quiet
	// quarter of an hour between the cases keeps them apart.
	defer app.Clock.Reset()
	for _, tc := range takeovers {
		for _, confirm := range []string{"", "not my password"} {
			app.Clock.Advance(16 * time.Minute)
			t.Run(tc.name+"/Confirm="+confirm, func(t *testing.T) {
				before := snapshot()
				form := url.Values{"_csrf": {second.CSRF}, "your_password": {confirm}}
				for k, v := range tc.form {
					form[k] = v
				}
				r := second.Post(t, tc.path, form)
				if r.Status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", r.Status)
				}
				if got := text(r.Doc(t).Find(tc.errSelector)); !strings.Contains(got, "not your password") {
					t.Errorf("%s reads %q, want it to say that is not your password", tc.errSelector, got)
				}
				if after := snapshot(); after != before {
					t.Errorf("an unconfirmed change changed %s to %s", before, after)
				}
			})
		}
	}
	app.Clock.Advance(16 * time.Minute)
	t.Run("EveryFieldAtOnce", func(t *testing.T) {
		doc := second.Post(t, "/users/"+firstID+"/password", url.Values{"_csrf": {second.CSRF}, "password": {"short"}}).Doc(t)
		if got := text(doc.Find("#password-error")); !strings.Contains(got, "at least 8 characters") {
			t.Errorf("password error = %q", got)
		}
		if got := text(doc.Find("#reset-confirm-error")); !strings.Contains(got, "not your password") {
			t.Errorf("confirmation error = %q", got)
		}
	})
	t.Run("AgentNeedsNoConfirmation", func(t *testing.T) {
		r := second.Post(t, "/users", url.Values{"_csrf": {second.CSRF}, "email": {"new.agent@example.com"}, "name": {"New Agent"}, "role": {"agent"},
			"password": {"temporary pass"}})
		if r.Status != http.StatusSeeOther {
			t.Errorf("add an agent: status %d, want 303", r.Status)
		}
	})
	app.Clock.Advance(16 * time.Minute)
	t.Run("Confirmed", func(t *testing.T) {
		r := second.Post(t, "/users/"+firstID+"/password", url.Values{"_csrf": {second.CSRF}, "password": {"a temporary one"}, "your_password": {"second lead's own"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("confirmed reset: status %d", r.Status)
		}
		if r := first.Get(t, "/subscribers"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
			t.Errorf("the reset lead's session: %d to %q, want it ended", r.Status, r.Location())
		}
		var who, detail string
		app.Raw.QueryRow(`SELECT l.email, a.detail FROM audit_log a JOIN logins l ON l.id = a.login_id WHERE a.action = 'reset_password' ORDER BY a.id DESC`).Scan(&who, &detail)
		if who != "second.lead@example.com" || !strings.HasPrefix(detail, demo.LeadEmail) || !strings.Contains(detail, "temporary") {
			t.Errorf("the reset's audit entry: by %s, %q; want by the second lead, naming the first lead's email and a temporary password", who, detail)
		}
	})
	t.Run("WrongConfirmationsAreThrottled", func(t *testing.T) {
		third, thirdID := addLead(t, app, second, "second lead's own", "third.lead@example.com", "third lead's own")
		for i := range 5 {
			r := second.Post(t, "/users/"+thirdID+"/disabled", url.Values{"_csrf": {second.CSRF}, "disabled": {"true"}, "your_password": {fmt.Sprint("guess ", i)}})
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("wrong confirmation %d: status %d", i+1, r.Status)
			}
		}
		r := second.Post(t, "/users/"+thirdID+"/disabled", url.Values{"_csrf": {second.CSRF}, "disabled": {"true"}, "your_password": {"second lead's own"}})
		if got := text(r.Doc(t).Find("#status-confirm-error")); r.Status != http.StatusUnprocessableEntity || !strings.Contains(got, "Too many wrong passwords") {
			t.Errorf("right confirmation after 5 wrong ones: %d %q, want 422 saying too many", r.Status, got)
		}
		if r := third.Get(t, "/subscribers"); r.Status != http.StatusOK {
			t.Errorf("the third lead was signed out: status %d", r.Status)
		}
	})
}

// TestTemporaryPassword resets an agent's password: the agent signs in with
// it, can open nothing but the page that sets a new one, sets it, and is
// back where they were going, signed in with a new session.
func TestTemporaryPassword(t *testing.T) {
	app := portaltest.Start(t)
	lead := app.Lead(t)
	agentID := app.LoginID(t, demo.AgentEmail)
	changedBefore := app.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'change_password' AND login_id = ?`, agentID)
	elsewhere := app.Agent(t)
	r := lead.Post(t, "/users/"+agentID+"/password", url.Values{"_csrf": {lead.CSRF}, "password": {"temporary one"}, "your_password": {demo.LeadPassword}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("reset: status %d", r.Status)
	}
	if got := text(lead.Page(t, "/users").Find("[data-testid=logins] tr:contains('Dana Whitfield')")); !strings.Contains(got, "Temporary password") {
		t.Errorf("the Users page reads %q for the agent, want Temporary password", got)
	}

	agent := app.NewClient()
	next, _ := url.Parse(agent.Get(t, "/esims?state=free").Location())
	form := url.Values{"_csrf": {agent.CSRFToken(t, "/login")}, "email": {demo.AgentEmail}, "password": {"temporary one"}, "next": {next.Query().Get("next")}}
	r = agent.Post(t, "/login", form)
	if want := "/account/password?next=" + url.QueryEscape("/esims?state=free"); r.Status != http.StatusSeeOther || r.Location() != want {
		t.Fatalf("sign-in with the temporary password: %d to %q, want 303 to %q", r.Status, r.Location(), want)
	}
	agent.CSRF = form.Get("_csrf")
	for _, path := range []string{"/subscribers", "/esims/" + demoLine(t, app, pendingEurope).ICCID} {
		if r := agent.Get(t, path); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/account/password") {
			t.Errorf("GET %s with a temporary password: %d to %q, want the password page", path, r.Status, r.Location())
		}
	}
	if r := agent.Get(t, "/subscribers", "HX-Request", "true"); !strings.HasPrefix(r.Header.Get("HX-Redirect"), "/account/password") {
		t.Errorf("HTMX request with a temporary password: HX-Redirect %q, want the password page", r.Header.Get("HX-Redirect"))
	}
	if r := agent.Post(t, "/subscribers/1/lines", url.Values{"_csrf": {agent.CSRF}, "line_name": {"France"}, "plan": {"1"}}); r.Status != http.StatusSeeOther ||
		r.Location() != "/account/password" {
		t.Errorf("Add line with a temporary password: %d to %q, want the password page", r.Status, r.Location())
	}
	doc := agent.Page(t, "/account/password?next=%2Fesims%3Fstate%3Dfree")
	if doc.Find("[data-testid=temporary-password]").Length() != 1 {
		t.Errorf("the password page does not say the password is temporary")
	}

	for _, tc := range []struct {
		name            string
		current, p1, p2 string
		field, says     string
	}{
		{"WrongCurrent", "not it", "my own secret", "my own secret", "#current_password-error", "not your password"},
		{"Differ", "temporary one", "my own secret", "my own secreT", "#password_again-error", "differ"},
		{"Same", "temporary one", "temporary one", "temporary one", "#password-error", "other than the one you have"},
		{"Short", "temporary one", "short", "short", "#password-error", "at least 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := agent.Post(t, "/account/password", url.Values{"_csrf": {agent.CSRF}, "current_password": {tc.current}, "password": {tc.p1}, "password_again": {tc.p2}})
			if got := text(r.Doc(t).Find(tc.field)); r.Status != http.StatusUnprocessableEntity || !strings.Contains(got, tc.says) {
				t.Errorf("%d, %s reads %q; want 422 saying %q", r.Status, tc.field, got, tc.says)
			}
		})
	}
	before := agent.Cookie(sessionCookie)
	r = agent.Post(t, "/account/password", url.Values{"_csrf": {agent.CSRF}, "current_password": {"temporary one"}, "password": {"my own secret"},
		"password_again": {"my own secret"}, "next": {"/esims?state=free"}})
	if r.Status != http.StatusSeeOther || r.Location() != "/esims?state=free" {
		t.Fatalf("change password: %d to %q, want 303 to where the agent was going", r.Status, r.Location())
	}
	if got := agent.Cookie(sessionCookie); got == "" || got == before {
		t.Errorf("the session id did not change with the password")
	}
	if r := agent.Get(t, "/esims?state=free"); r.Status != http.StatusOK {
		t.Errorf("after the change, GET /esims: status %d, want 200", r.Status)
	}
	if r := elsewhere.Get(t, "/subscribers"); r.Status != http.StatusSeeOther {
		t.Errorf("the agent's other browser: status %d, want it signed out", r.Status)
	}
	if r := app.NewClient().SignIn(t, demo.AgentEmail, "temporary one"); r.Status != http.StatusUnauthorized {
		t.Errorf("the temporary password after the change: status %d, want 401", r.Status)
	}
	if r := app.NewClient().SignIn(t, demo.AgentEmail, "my own secret"); r.Status != http.StatusSeeOther || r.Location() != "/subscribers" {
		t.Errorf("the agent's own password: %d to %q, want 303 to /subscribers", r.Status, r.Location())
	}
	if n := app.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'change_password' AND login_id = ?`, agentID) - changedBefore; n != 1 {
		t.Errorf("%d change_password audit entries by the agent, want 1", n)
	}
	t.Run("NewLoginsToo", func(t *testing.T) {
		lead.Post(t, "/users", url.Values{"_csrf": {lead.CSRF}, "email": {"nina@example.com"}, "name": {"Nina Park"}, "role": {"agent"}, "password": {"given by lead"}})
		if r := app.NewClient().SignIn(t, "nina@example.com", "given by lead"); r.Location() != "/account/password" {
			t.Errorf("a new login's first sign-in goes to %q, want the password page", r.Location())
		}
	})
	t.Run("OwnLoginIsChangedNotReset", func(t *testing.T) {
		leadID := app.LoginID(t, demo.LeadEmail)
		r := lead.Post(t, "/users/"+leadID+"/password", url.Values{"_csrf": {lead.CSRF}, "password": {"a temporary one"}, "your_password": {demo.LeadPassword}})
		if got := text(r.Doc(t).Find("[data-testid=form-error]")); r.Status != http.StatusUnprocessableEntity || !strings.Contains(got, "your own login") {
			t.Errorf("a lead resetting their own password: %d %q, want 422 pointing to Change password", r.Status, got)
		}
	})
}
