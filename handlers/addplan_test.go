package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/handlers/portaltest"
)

func TestAddPlan(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)
	priya := app.Subscriber(t, "AC-100358") // her "Europe" line is on profile 7
	tom := app.Subscriber(t, "AC-100333")
	europe := app.Lines(t, priya.ID)[0]
	euro3, asia1, euro5 := app.Plan(t, "Euro 3"), app.Plan(t, "Asia 1"), app.Plan(t, "Euro 5")
	csrf := c.CSRFToken(t, "/subscribers")
	post := func(iccid string, subscriber int64, plan int64, headers ...string) *portaltest.Response {
		return c.Post(t, "/esims/"+iccid+"/plans", url.Values{"_csrf": {csrf}, "subscriber": {fmt.Sprint(subscriber)},
			"plan": {fmt.Sprint(plan)}, "token": {fmt.Sprint("t-", plan, iccid, subscriber)}}, headers...)
	}
	state := func() string {
		return fmt.Sprintf("plans=%d outbox=%d", app.Count(t, `SELECT count(*) FROM esim_plans`), app.Count(t, `SELECT count(*) FROM outbox`))
	}

	t.Run("MismatchShownOnChoice", func(t *testing.T) {
		doc := c.Page(t, "/esims/"+europe.ICCID+"/plans/new?plan="+fmt.Sprint(asia1.ID), "HX-Request", "true")
		if doc.Find("nav").Length() != 0 {
			t.Error("the HTMX answer is a whole page, not the form")
		}
		msg := text(doc.Find("[data-testid=plan-error]"))
		if !strings.Contains(msg, "Asia 1 runs on IMSI profile 10; this eSIM is profile 7.") {
			t.Errorf("mismatch message = %q", msg)
		}
		link := doc.Find("[data-testid=new-line-instead]")
		if got := text(link); got != "Add a new line with Asia 1 instead" {
			t.Errorf("way out = %q", got)
		}
		if href := link.AttrOr("href", ""); href != fmt.Sprintf("/subscribers/%d/lines/new?plan=%d&ready=1", priya.ID, asia1.ID) {
			t.Errorf("way out goes to %q", href)
		}
		if link.AttrOr("hx-get", "") != "" {
			t.Error("the way out opens Add line in place on a page that has no place for it")
		}
	})

	// On the profile the way out opens Add line in place, with the country
	// typed, the line named after it and the plan chosen, ready to submit.
	t.Run("WayOutInPlace", func(t *testing.T) {
		doc := c.Page(t, "/esims/"+europe.ICCID+"/plans/new?country=japan&narrowed=1&plan="+fmt.Sprint(asia1.ID), "HX-Request", "true",
			"HX-Current-URL", fmt.Sprintf("%s/subscribers/%d", app.URL, priya.ID))
		link := doc.Find("[data-testid=new-line-instead]")
		want := fmt.Sprintf("/subscribers/%d/lines/new?country=Japan&plan=%d&ready=1", priya.ID, asia1.ID)
		if got := link.AttrOr("hx-get", ""); got != want || link.AttrOr("hx-target", "") != "#line-form-slot" {
			t.Fatalf("way out: hx-get %q to %q, want %q to #line-form-slot", got, link.AttrOr("hx-target", ""), want)
		}
		form := c.Page(t, want, "HX-Request", "true")
		if got := form.Find("#line_name").AttrOr("value", ""); got != "Japan" {
			t.Errorf("line name %q, want Japan", got)
		}
		if got := form.Find("input[name=plan][checked]").AttrOr("value", ""); got != fmt.Sprint(asia1.ID) {
			t.Errorf("plan chosen %q, want Asia 1's %d", got, asia1.ID)
		}
		if form.Find("button[type=submit][autofocus]").Length() != 1 || form.Find("[autofocus]").Length() != 1 {
			t.Error("the keyboard does not start on Add line's submit button")
		}
		// With no country typed, the plan's region names the line.
		form = c.Page(t, fmt.Sprintf("/subscribers/%d/lines/new?plan=%d&ready=1", priya.ID, asia1.ID), "HX-Request", "true")
		if got := form.Find("#line_name").AttrOr("value", ""); got != asia1.Region {
			t.Errorf("line name %q, want the region %q", got, asia1.Region)
		}
	})

	type refusal struct {
		name       string
		iccid      string
		subscriber int64
		plan       int64
		status     int
		want       string
	}
	var free, retired string
	app.Raw.QueryRow(`SELECT iccid FROM esims WHERE state = 'free' AND imsi_profile = 7 LIMIT 1`).Scan(&free)
	app.Raw.QueryRow(`SELECT iccid FROM esims WHERE state = 'retired' LIMIT 1`).Scan(&retired)
	refusals := []refusal{
		{"Mismatch", europe.ICCID, priya.ID, asia1.ID, http.StatusUnprocessableEntity, "runs on IMSI profile 10; this eSIM is profile 7"},
		{"AnotherSubscribersESIM", europe.ICCID, tom.ID, euro3.ID, http.StatusUnprocessableEntity, "is not a line of this subscriber"},
		{"InactivePlan", europe.ICCID, priya.ID, euro5.ID, http.StatusUnprocessableEntity, "no longer sold"},
		{"UnknownESIM", "8900000000000000000", priya.ID, euro3.ID, http.StatusNotFound, "No eSIM with ICCID"},
		{"FreeESIM", free, priya.ID, euro3.ID, http.StatusConflict, "is free, not a subscriber's line"},
		{"RetiredESIM", retired, priya.ID, euro3.ID, http.StatusConflict, "is retired, not a subscriber's line"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			before := state()
			r := post(tc.iccid, tc.subscriber, tc.plan)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d", r.Status, tc.status)
			}
			if got := text(r.Doc(t).Find("main")); !strings.Contains(got, tc.want) {
				t.Errorf("page says %q, want %q", got, tc.want)
			}
			if after := state(); after != before {
				t.Errorf("a refused Add plan changed the data: %s → %s", before, after)
			}
		})
	}

	t.Run("RefusedSubmitFocusesThePlan", func(t *testing.T) {
		r := post(europe.ICCID, priya.ID, asia1.ID, "HX-Request", "true")
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", r.Status)
		}
		focus := r.Doc(t).Find("[autofocus]")
		if focus.Length() != 1 || focus.AttrOr("value", "") != fmt.Sprint(asia1.ID) || focus.AttrOr("checked", "\x00") == "\x00" {
			t.Errorf("autofocus on %d elements, the first %v; want just the chosen plan, Asia 1", focus.Length(), focus.Nodes)
		}
		if got := focus.AttrOr("aria-describedby", ""); !strings.Contains(got, "add-plan-"+europe.ICCID+"-plan-refusal") {
			t.Errorf("the chosen plan is described by %q; want its refusal among them", got)
		}
	})
	t.Run("EveryRefusalAtOnce", func(t *testing.T) {
		before := state()
		r := post(europe.ICCID, tom.ID, euro5.ID)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", r.Status)
		}
		doc := r.Doc(t)
		if got := text(doc.Find("[data-testid=form-error]")); !strings.Contains(got, "is not a line of this subscriber") {
			t.Errorf("form error = %q, want the eSIM not a line of this subscriber", got)
		}
		if got := text(doc.Find("[data-testid=plan-error]")); !strings.Contains(got, "Euro 5 is no longer sold") {
			t.Errorf("plan error = %q, want Euro 5 no longer sold", got)
		}
		if after := state(); after != before {
			t.Errorf("a refused Add plan changed the data: %s → %s", before, after)
		}
	})

	t.Run("OKUpdatesTheLineInPlace", func(t *testing.T) {
		qr := app.Count(t, `SELECT count(*) FROM outbox WHERE kind = 'qr'`)
		r := post(europe.ICCID, priya.ID, euro3.ID, "HX-Request", "true")
		if r.Status != http.StatusOK || r.Header.Get("HX-Retarget") != "#line-"+europe.ICCID {
			t.Fatalf("status %d, retarget %q", r.Status, r.Header.Get("HX-Retarget"))
		}
		doc := r.Doc(t)
		if got := texts(doc.Find("[data-testid=line-plan] td:first-child")); strings.Join(got, ",") != "Euro 1,Euro 3" {
			t.Errorf("plans on the line = %v, want Euro 1 then Euro 3", got)
		}
		if !strings.Contains(text(doc.Find("[data-testid=line-note]")), "Euro 3 added to line “Europe”") {
			t.Errorf("note = %q", text(doc.Find("[data-testid=line-note]")))
		}
		if n := app.Count(t, `SELECT count(*) FROM outbox WHERE kind = 'qr'`); n != qr {
			t.Error("Add plan queued a QR email")
		}
		if n := app.Count(t, `SELECT count(*) FROM outbox WHERE kind = 'confirmation' AND iccid = ? AND subject LIKE '%Euro 3%'`, europe.ICCID); n != 1 {
			t.Errorf("confirmations for Euro 3 = %d, want 1", n)
		}
	})
}
