package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// addLineForm is the Add line form of a subscriber as the page offers it,
// CSRF and one-time tokens included, filled in with a line name and plan.
func addLineForm(t *testing.T, c *portaltest.Client, subscriberID int64, lineName string, planID int64) url.Values {
	t.Helper()
	form := c.FormValues(t, fmt.Sprintf("/subscribers/%d/lines/new", subscriberID), "#add-line-form")
	if form.Get("_csrf") == "" || form.Get("token") == "" {
		t.Fatalf("Add line form without its CSRF or one-time token: %v", form)
	}
	form.Set("line_name", lineName)
	form.Set("plan", strconv.FormatInt(planID, 10))
	return form
}

// emailRow is one row of a profile's email log as an agent reads it.
type emailRow struct{ Kind, Status string }

func emailLog(doc *goquery.Document) []emailRow {
	var rows []emailRow
	doc.Find("[data-testid=email-log] tbody tr").Each(func(_ int, tr *goquery.Selection) {
		rows = append(rows, emailRow{
			Kind:   text(tr.Find("td").First().Find("a")),
			Status: text(tr.Find("td").Last().Find(".badge")),
		})
	})
	return rows
}

// addedLine checks that an Add line redirected to the subscriber's profile
// and returns the ICCID of the line named lineName the subscriber now holds.
func addedLine(t *testing.T, app *portaltest.Portal, r *portaltest.Response, subscriberID int64, lineName string) string {
	t.Helper()
	if got, want := r.Status, http.StatusSeeOther; got != want {
		t.Fatalf("status = %d, want %d; page says %q", got, want, text(r.Doc(t).Find("main")))
	}
	u, err := url.Parse(r.Location())
	if err != nil {
		t.Fatalf("Location %q: %v", r.Location(), err)
	}
	if got, want := u.Path, fmt.Sprintf("/subscribers/%d", subscriberID); got != want {
		t.Errorf("redirected to %q, want the profile %q", got, want)
	}
	var iccid string
	for _, l := range app.Lines(t, subscriberID) {
		if l.LineName == lineName {
			iccid = l.ICCID
		}
	}
	if iccid == "" {
		t.Fatalf("subscriber %d has no line %q", subscriberID, lineName)
	}
	if u.Fragment != "" && u.Fragment != "line-"+iccid {
		t.Errorf("redirect %q points at another line than %s", r.Location(), iccid)
	}
	if err := db.CheckICCID(iccid); err != nil {
		t.Errorf("new line's ICCID %q: %v", iccid, err)
	}
	return iccid
}

func TestAddLine(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)
	daniel := app.Subscriber(t, "AC-100697")
	japan := app.Plan(t, "Japan")
	profile := fmt.Sprintf("/subscribers/%d", daniel.ID)
	form := addLineForm(t, c, daniel.ID, "Japan", japan.ID)

	var iccid string
	t.Run("OK", func(t *testing.T) {
		iccid = addedLine(t, app, c.Post(t, profile+"/lines", form), daniel.ID, "Japan")
		doc := c.Page(t, profile)

		flash := text(doc.Find("main [data-testid=flash]"))
		if !strings.Contains(flash, "Line “Japan” added") || !strings.Contains(flash, iccid) {
			t.Errorf("flash = %q, want it to name the line Japan and the eSIM %s", flash, iccid)
		}
		line := doc.Find("#line-" + iccid)
		if got, want := text(line.Find("h3")), "Japan"; got != want {
			t.Errorf("new line name = %q, want %q", got, want)
		}
		if got, want := text(line.Find("a.mono")), iccid; got != want {
			t.Errorf("new line ICCID = %q, want %q", got, want)
		}
		if got, want := text(line.Find(".badge.profile")), fmt.Sprintf("Profile %d", japan.IMSIProfile); got != want {
			t.Errorf("new line profile = %q, want %q", got, want)
		}
		if got, want := texts(line.Find("[data-testid=line-plan] td:first-child")), []string{"Japan"}; !slices.Equal(got, want) {
			t.Errorf("plans on the new line = %q, want %q", got, want)
		}
		if got := text(doc.Find("[data-testid=allowance]")); !strings.Contains(got, "1 of 2 used") {
			t.Errorf("allowance reads %q, want 1 of 2 used", got)
		}
		want := []emailRow{{"Order confirmation", "Held"}, {"QR code", "Held"}}
		if got := emailLog(doc); !slices.Equal(got, want) {
			t.Errorf("email log = %+v, want %+v", got, want)
		}

		// The flash is shown once.
		if got := c.Page(t, profile).Find("main [data-testid=flash]").Length(); got != 0 {
			t.Errorf("flash shown again on the next page")
		}
	})
	t.Run("SameTokenAgain", func(t *testing.T) {
		if iccid == "" {
			t.Skip("needs OK")
		}
		allocated := app.Count(t, `SELECT count(*) FROM esims WHERE state = 'allocated'`)
		outbox := app.Count(t, `SELECT count(*) FROM outbox`)
		again := addedLine(t, app, c.Post(t, profile+"/lines", form), daniel.ID, "Japan")
		if again != iccid {
			t.Errorf("second submit got eSIM %s, want the first one's %s", again, iccid)
		}
		if got := len(app.Lines(t, daniel.ID)); got != 1 {
			t.Errorf("Daniel Cohen has %d lines, want 1", got)
		}
		if got := app.Count(t, `SELECT count(*) FROM esims WHERE state = 'allocated'`); got != allocated {
			t.Errorf("allocated eSIMs: %d, want %d", got, allocated)
		}
		if got := app.Count(t, `SELECT count(*) FROM outbox`); got != outbox {
			t.Errorf("outbox rows: %d, want %d", got, outbox)
		}
		if got := len(emailLog(c.Page(t, profile))); got != 2 {
			t.Errorf("email log has %d emails, want 2", got)
		}
	})
}

func TestAddLineRefused(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)
	priya := app.Subscriber(t, "AC-100358")
	ahmed := app.Subscriber(t, "AC-100719")
	japan := app.Plan(t, "Japan")

	// field is where the message must show: the id of its element.
	const (
		lineNameError = "#line_name-error"
		planError     = "[data-testid=plan-error]"
		formError     = "[data-testid=form-error]"
	)
	cases := []struct {
		name       string
		subscriber db.Subscriber
		lineName   string
		planID     int64
		setup      func(t *testing.T)
		field      string
		want       string
		exact      bool
	}{
		{name: "EmptyLineName", subscriber: priya, lineName: "   ", planID: japan.ID, field: lineNameError, exact: true,
			want: "Enter a line name: the destination country, or the plan's region for a multi-country trip."},
		{name: "LineNameTooLong", subscriber: priya, lineName: strings.Repeat("a", 41), planID: japan.ID, field: lineNameError, exact: true,
			want: "Line name is too long: at most 40 characters."},
		// Her line "Europe" is profile 7: it cannot take Japan, so it is not offered.
		{name: "DuplicateLineName", subscriber: priya, lineName: "europe", planID: japan.ID, field: lineNameError, exact: true,
			want: `Priya Raman already has a line named "europe". Choose another name: that line is profile 7 and cannot take Japan (profile 10).`},
		{name: "DuplicateLineNameSameProfile", subscriber: priya, lineName: "europe", planID: app.Plan(t, "Euro 3").ID, field: lineNameError, exact: true,
			want: `Priya Raman already has a line named "europe". Choose another name, or add Euro 3 to that line.`},
		{name: "NoPlan", subscriber: priya, lineName: "Japan", planID: 0, field: planError, exact: true,
			want: "Choose a plan."},
		{name: "UnknownPlan", subscriber: priya, lineName: "Japan", planID: 999999, field: planError, exact: true,
			want: "That plan is not in the catalog."},
		{name: "InactivePlan", subscriber: priya, lineName: "Spain", planID: app.Plan(t, "Euro 5").ID, field: planError, exact: true,
			want: "Euro 5 is no longer sold. Choose another plan."},
		// Last: it empties the profile 10 stock.
		{name: "NoFreeESIM", subscriber: priya, lineName: "Japan", planID: japan.ID, field: planError, exact: true,
			setup: func(t *testing.T) {
				if _, err := app.Raw.Exec(`UPDATE esims SET state = 'retired' WHERE state = 'free' AND imsi_profile = 10`); err != nil {
					t.Fatal(err)
				}
			},
			want: "No free profile 10 eSIMs left — ask a team lead to restock."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := addLineForm(t, c, tc.subscriber.ID, tc.lineName, tc.planID)
			if tc.planID == 0 {
				form.Del("plan")
			}
			if tc.setup != nil {
				tc.setup(t)
			}
			allocated := app.Count(t, `SELECT count(*) FROM esims WHERE state = 'allocated'`)
			outbox := app.Count(t, `SELECT count(*) FROM outbox`)

			r := c.Post(t, fmt.Sprintf("/subscribers/%d/lines", tc.subscriber.ID), form, "HX-Request", "true")
			if got, want := r.Status, http.StatusUnprocessableEntity; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			doc := r.Doc(t)
			f := doc.Find("form#add-line-form")
			if f.Length() != 1 {
				t.Fatalf("response is not the Add line form; it reads %q", text(doc.Find("body")))
			}
			if doc.Find("nav").Length() != 0 || doc.Find("title").Length() != 0 {
				t.Errorf("response is a whole page, want the form fragment")
			}
			got := text(f.Find(tc.field))
			if tc.exact && got != tc.want || !tc.exact && !strings.Contains(got, tc.want) {
				t.Errorf("%s reads %q, want %q", tc.field, got, tc.want)
			}
			if tc.field == lineNameError {
				if got := f.Find("#line_name").AttrOr("aria-invalid", ""); got != "true" {
					t.Errorf("line name input aria-invalid = %q, want true", got)
				}
			}
			if got, want := f.Find("#line_name").AttrOr("value", ""), tc.lineName; got != want {
				t.Errorf("line name in the form = %q, want what was typed, %q", got, want)
			}
			if got, want := f.Find(`input[name=token]`).AttrOr("value", ""), form.Get("token"); got != want {
				t.Errorf("one-time token = %q, want the submitted %q", got, want)
			}

			if got := app.Count(t, `SELECT count(*) FROM esims WHERE state = 'allocated'`); got != allocated {
				t.Errorf("allocated eSIMs: %d, want %d", got, allocated)
			}
			if got := app.Count(t, `SELECT count(*) FROM outbox`); got != outbox {
				t.Errorf("outbox rows: %d, want %d", got, outbox)
			}
		})
	}
	t.Run("AllowanceUsedUp", func(t *testing.T) {
		// The form says so before anything is typed, and offers no submit.
		doc := c.Page(t, fmt.Sprintf("/subscribers/%d/lines/new", ahmed.ID), "HX-Request", "true")
		if got, want := text(doc.Find("#add-line-form [data-testid=no-new-line] strong")), "Ahmed Hassan has used all 2 complimentary eSIMs: no new line is possible."; got != want {
			t.Errorf("the form for a used-up allowance says %q; want %q", got, want)
		}
		if n := doc.Find("#add-line-form button[type=submit], #add-line-form [name=plan]").Length(); n != 0 {
			t.Errorf("the form for a used-up allowance has %d plans or submit buttons; want none", n)
		}
		// A submit anyway is refused with every other refusal.
		form := addLineForm(t, c, priya.ID, "", japan.ID)
		r := c.Post(t, fmt.Sprintf("/subscribers/%d/lines", ahmed.ID), form, "HX-Request", "true")
		if got, want := r.Status, http.StatusUnprocessableEntity; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got := text(r.Doc(t).Find("#add-line-form [data-testid=no-new-line]")); !strings.Contains(got, "no new line is possible") {
			t.Errorf("the refused submit says %q; want that no new line is possible", got)
		}
	})
	t.Run("FocusOnFirstError", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			lineName string
			planID   int64
			focus    string
		}{
			{"LineName", "", japan.ID, "line_name"},
			{"Both", "", 0, "line_name"},
			{"Plan", "Japan", 0, fmt.Sprintf("add-line-form-plan-%d", app.Plan(t, "Americas").ID)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				form := addLineForm(t, c, priya.ID, tc.lineName, tc.planID)
				if tc.planID == 0 {
					form.Del("plan")
				}
				r := c.Post(t, fmt.Sprintf("/subscribers/%d/lines", priya.ID), form, "HX-Request", "true")
				focus := r.Doc(t).Find("#add-line-form [autofocus]")
				if focus.Length() != 1 || focus.AttrOr("id", "") != tc.focus {
					t.Errorf("autofocus on %d elements, the first #%s; want just #%s", focus.Length(), focus.AttrOr("id", ""), tc.focus)
				}
			})
		}
	})
	t.Run("EveryFieldAtOnce", func(t *testing.T) {
		form := addLineForm(t, c, priya.ID, "", 0)
		form.Del("plan")
		r := c.Post(t, fmt.Sprintf("/subscribers/%d/lines", priya.ID), form, "HX-Request", "true")
		if got, want := r.Status, http.StatusUnprocessableEntity; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		f := r.Doc(t).Find("form#add-line-form")
		if got := text(f.Find(lineNameError)); !strings.HasPrefix(got, "Enter a line name") {
			t.Errorf("%s reads %q, want Enter a line name…", lineNameError, got)
		}
		if got := text(f.Find(planError)); got != "Choose a plan." {
			t.Errorf("%s reads %q, want Choose a plan.", planError, got)
		}
	})
	t.Run("WithoutHTMX", func(t *testing.T) {
		form := addLineForm(t, c, priya.ID, "", japan.ID)
		r := c.Post(t, fmt.Sprintf("/subscribers/%d/lines", priya.ID), form)
		if got, want := r.Status, http.StatusUnprocessableEntity; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		doc := r.Doc(t)
		if got, want := text(doc.Find("h1")), "Add line"; got != want {
			t.Errorf("h1 = %q, want %q", got, want)
		}
		if got := text(doc.Find("#add-line-form #line_name-error")); !strings.HasPrefix(got, "Enter a line name") {
			t.Errorf("line name error = %q, want Enter a line name…", got)
		}
	})
}

func TestAddLineTopUpHint(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)
	priya := app.Subscriber(t, "AC-100358")
	newLine := fmt.Sprintf("/subscribers/%d/lines/new", priya.ID)

	t.Run("SameProfile", func(t *testing.T) {
		euro3 := app.Plan(t, "Euro 3")
		doc := c.Page(t, fmt.Sprintf("%s?plan=%d", newLine, euro3.ID), "HX-Request", "true")
		hint := doc.Find("#add-line-form [data-testid=top-up-hint]")
		if hint.Length() == 0 {
			t.Fatal("no top-up hint")
		}
		if got := text(hint); !strings.Contains(got, "Line “Europe” (profile 7) can take Euro 3") {
			t.Errorf("hint = %q, want it to offer line Europe for Euro 3", got)
		}
		if got := doc.Find("#add-line-form-plan-"+strconv.FormatInt(euro3.ID, 10)).AttrOr("checked", "\x00"); got == "\x00" {
			t.Errorf("Euro 3 is not checked in the re-rendered form")
		}
	})
	t.Run("OtherProfile", func(t *testing.T) {
		doc := c.Page(t, fmt.Sprintf("%s?plan=%d", newLine, app.Plan(t, "Asia 1").ID), "HX-Request", "true")
		if doc.Find("#add-line-form").Length() != 1 {
			t.Fatal("no Add line form")
		}
		if n := doc.Find("[data-testid=top-up-hint]").Length(); n != 0 {
			t.Errorf("top-up hint shown for a plan no line of hers can take: %q", text(doc.Find("[data-testid=top-up-hint]")))
		}
	})
}

// TestFormTokenIsOneLogins has a team lead send an Add line with the one-time
// token of an agent's form: the lead's form is refused in the form, not with
// a 500, nothing is added, and the form comes back with a token of its own;
// the agent's repeated submit still gets the agent's first result.
func TestFormTokenIsOneLogins(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent, lead := app.Agent(t), app.Lead(t)
	japan := app.Plan(t, "Japan")
	priya, daniel := app.Subscriber(t, "AC-100358"), app.Subscriber(t, "AC-100697")
	sent := addLineForm(t, agent, priya.ID, "Japan", japan.ID)
	if r := agent.Post(t, fmt.Sprintf("/subscribers/%d/lines", priya.ID), sent); r.Status != http.StatusSeeOther {
		t.Fatalf("the agent's Add line: status %d", r.Status)
	}
	danielLines := len(app.Lines(t, daniel.ID))
	form := addLineForm(t, lead, daniel.ID, "Japan", japan.ID)
	form.Set("token", sent.Get("token"))
	r := lead.Post(t, fmt.Sprintf("/subscribers/%d/lines", daniel.ID), form)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a team lead's Add line with the agent's token: status %d, want 422", r.Status)
	}
	doc := r.Doc(t)
	if msg := text(doc.Find("[data-testid=form-error]")); !strings.Contains(msg, "already sent by someone else") {
		t.Errorf("form error %q, want one saying the form was someone else's", msg)
	}
	renewed := doc.Find("#add-line-form [name=token]").AttrOr("value", "")
	if renewed == "" || renewed == sent.Get("token") {
		t.Errorf("the form came back with token %q, want a new one", renewed)
	}
	if n := len(app.Lines(t, daniel.ID)); n != danielLines {
		t.Errorf("Daniel has %d lines, want %d", n, danielLines)
	}
	form.Set("token", renewed)
	if r := lead.Post(t, fmt.Sprintf("/subscribers/%d/lines", daniel.ID), form); r.Status != http.StatusSeeOther {
		t.Errorf("the team lead's renewed form: status %d, want 303", r.Status)
	}
	priyaLines := len(app.Lines(t, priya.ID))
	if r := agent.Post(t, fmt.Sprintf("/subscribers/%d/lines", priya.ID), sent); r.Status != http.StatusSeeOther || len(app.Lines(t, priya.ID)) != priyaLines {
		t.Errorf("the agent's repeated submit: status %d, %d lines; want the first result, no new line", r.Status, len(app.Lines(t, priya.ID)))
	}
}

// TestFormTokenNotInAddress checks that the one-time token of Add line and
// Add plan never travels in an address: the forms' refreshes leave it out,
// and a token in the address is not taken.
func TestFormTokenNotInAddress(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent := app.Agent(t)
	priya := app.Subscriber(t, "AC-100358")
	line := app.Lines(t, priya.ID)[0]
	const shared = "c2hhcmVkLWluLWEtbGluay0x"
	for _, tc := range []struct{ path, form string }{
		{fmt.Sprintf("/subscribers/%d/lines/new", priya.ID), "#add-line-form"},
		{"/esims/" + line.ICCID + "/plans/new", "form[id^=add-plan]"},
	} {
		doc := agent.Page(t, tc.path+"?token="+shared)
		form := doc.Find(tc.form)
		if form.Length() != 1 {
			t.Fatalf("%s: no form %s", tc.path, tc.form)
		}
		if got := form.Find("[name=token]").AttrOr("value", ""); got == "" || got == shared {
			t.Errorf("%s?token=…: the form's token is %q, want a new one", tc.path, got)
		}
		form.Find("[hx-include]").Each(func(_ int, s *goquery.Selection) {
			if include := s.AttrOr("hx-include", ""); strings.Contains(include, "token") {
				t.Errorf("%s: a refresh sends the token in its address: hx-include=%q", tc.path, include)
			}
		})
	}
}
