package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/handlers/portaltest"
)

func TestPlanPickerCountry(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)
	priya := app.Subscriber(t, "AC-100358")
	europe := app.Lines(t, priya.ID)[0] // profile 7
	newLine := fmt.Sprintf("/subscribers/%d/lines/new", priya.ID)
	for _, tc := range []struct {
		name, query string
		plans       []string
		lineName    string
		summary     string
	}{
		// Euro 5 covers Portugal too, but is no longer sold.
		{"Name", "country=Portugal", []string{"Euro 1", "Euro 3", "Euro 10"}, "Portugal", "3 plans cover Portugal, cheapest first."},
		{"Code", "country=pt", []string{"Euro 1", "Euro 3", "Euro 10"}, "Portugal", "3 plans cover Portugal, cheapest first."},
		{"Start", "country=portu", []string{"Euro 1", "Euro 3", "Euro 10"}, "Portugal", "3 plans cover Portugal, cheapest first."},
		{"Alias", "country=UK", []string{"UK", "Global 1", "Euro 10"}, "United Kingdom", "3 plans cover United Kingdom, cheapest first."},
		{"OwnLineName", "country=Portugal&line_name=Lisbon", []string{"Euro 1", "Euro 3", "Euro 10"}, "Lisbon", "3 plans cover Portugal, cheapest first."},
		{"FilledBefore", "country=Spain&line_name=Portugal&line_name_auto=Portugal", []string{"Euro 1", "Euro 3", "Global 1", "Euro 10"}, "Spain", "4 plans cover Spain, cheapest first."},
		{"NoPlan", "country=Kenya", nil, "Kenya", "No plan on sale covers Kenya."},
		{"Unknown", "country=Atlantis", nil, "", "No country matches “Atlantis”: type its name or its two-letter code, e.g. Portugal or PT. Every plan is shown."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := c.Page(t, newLine+"?"+tc.query, "HX-Request", "true")
			form := doc.Find("#add-line-form")
			got := texts(form.Find(".plan-option .plan-name"))
			if tc.plans != nil && !slices.Equal(got, tc.plans) {
				t.Errorf("plans %q, want %q", got, tc.plans)
			}
			if tc.plans == nil && tc.name == "NoPlan" && len(got) != 0 {
				t.Errorf("plans %q, want none", got)
			}
			if tc.name == "Unknown" && len(got) < 10 {
				t.Errorf("plans %q, want every plan", got)
			}
			if got := form.Find("#line_name").AttrOr("value", ""); got != tc.lineName {
				t.Errorf("line name %q, want %q", got, tc.lineName)
			}
			if got := text(form.Find("[data-testid=plan-summary]")); got != tc.summary {
				t.Errorf("summary %q, want %q", got, tc.summary)
			}
		})
	}

	t.Run("SubmitKeepsAnEmptyName", func(t *testing.T) {
		form := addLineForm(t, c, priya.ID, "", app.Plan(t, "Euro 3").ID)
		form.Set("country", "Portugal")
		r := c.Post(t, fmt.Sprintf("/subscribers/%d/lines", priya.ID), form, "HX-Request", "true")
		f := r.Doc(t).Find("#add-line-form")
		if got := f.Find("#line_name").AttrOr("value", ""); got != "" {
			t.Errorf("the refused empty line name comes back as %q; want it empty, as sent", got)
		}
		if got := text(f.Find("#line_name-error")); !strings.HasPrefix(got, "Enter a line name") {
			t.Errorf("line name error %q", got)
		}
		if got := texts(f.Find(".plan-option .plan-name")); !slices.Equal(got, []string{"Euro 1", "Euro 3", "Euro 10"}) {
			t.Errorf("the refused form shows the plans %q; want those covering Portugal still", got)
		}
	})
	t.Run("AddPlanFittingFirst", func(t *testing.T) {
		doc := c.Page(t, "/esims/"+europe.ICCID+"/plans/new?country=Japan", "HX-Request", "true")
		got := texts(doc.Find("#add-plan-" + europe.ICCID + " .plan-option .plan-name"))
		// No profile 7 plan covers Japan; of the others, cheapest first.
		if want := []string{"Asia 1", "Japan", "Global 1", "Asia Plus"}; !slices.Equal(got, want) {
			t.Errorf("plans for Japan %q, want %q", got, want)
		}
		if got := text(doc.Find("#add-plan-" + europe.ICCID + " .plan-section + .muted")); !strings.Contains(got, "runs on profile 7") {
			t.Errorf("the fitting section says %q; want that none runs on profile 7", got)
		}
	})

	t.Run("RadioIDsPerForm", func(t *testing.T) {
		doc := c.Page(t, "/esims/"+europe.ICCID+"/plans/new", "HX-Request", "true")
		radio := doc.Find("#add-plan-" + europe.ICCID + " input[name=plan]").First()
		if id := radio.AttrOr("id", ""); !strings.HasPrefix(id, "add-plan-"+europe.ICCID+"-plan-") {
			t.Errorf("radio id %q, want it to start with the form's id", id)
		}
		if got := doc.Find("[autofocus]").AttrOr("id", ""); got != "add-plan-"+europe.ICCID+"-country" {
			t.Errorf("the form opens with the focus on #%s; want the country box", got)
		}
	})
}

func TestAddPlanWaysOut(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)
	priya := app.Subscriber(t, "AC-100358") // 1 of 2 used: line Europe, profile 7
	ahmed := app.Subscriber(t, "AC-100719") // 2 of 2 used: Türkiye (profile 7) and Canada (profile 2)
	europe := app.Lines(t, priya.ID)[0]
	var turkey, canada string
	for _, l := range app.Lines(t, ahmed.ID) {
		switch l.LineName {
		case "Türkiye":
			turkey = l.ICCID
		case "Canada":
			canada = l.ICCID
		}
	}
	asia1, usca := app.Plan(t, "Asia 1"), app.Plan(t, "USA & Canada")
	refusal := func(iccid string, plan int64) *goquery.Selection {
		doc := c.Page(t, fmt.Sprintf("/esims/%s/plans/new?plan=%d", iccid, plan), "HX-Request", "true")
		return doc.Find("#add-plan-" + iccid + " [data-testid=plan-error]")
	}

	t.Run("NewLineWhenAllowed", func(t *testing.T) {
		r := refusal(europe.ICCID, asia1.ID)
		if got := text(r.Find("[data-testid=new-line-instead]")); got != "Add a new line with Asia 1 instead" {
			t.Errorf("way out %q", got)
		}
		if n := r.Find("[data-testid=no-new-line], [data-testid=other-line-instead]").Length(); n != 0 {
			t.Errorf("%d other ways out or reasons shown; want none", n)
		}
	})
	t.Run("OtherLineWhenUsedUp", func(t *testing.T) {
		r := refusal(turkey, usca.ID)
		link := r.Find("[data-testid=other-line-instead]")
		if got := text(link); got != "Add USA & Canada to line “Canada” instead" {
			t.Errorf("way out %q", got)
		}
		if got, want := link.AttrOr("href", ""), fmt.Sprintf("/esims/%s/plans/new?plan=%d", canada, usca.ID); got != want {
			t.Errorf("way out goes to %q, want %q", got, want)
		}
		if r.Find("[data-testid=new-line-instead]").Length() != 0 {
			t.Error("a new line is offered with the allowance used up")
		}
		if got := text(r.Find("[data-testid=no-new-line]")); got != "Ahmed Hassan has used all 2 complimentary eSIMs: no new line is possible." {
			t.Errorf("reason %q", got)
		}
	})
	t.Run("NothingAllowed", func(t *testing.T) {
		r := refusal(turkey, asia1.ID)
		if n := r.Find("a").Length(); n != 0 {
			t.Errorf("%d ways out offered; want none: %q", n, text(r.Find("a")))
		}
		if got := text(r); !strings.Contains(got, "no new line is possible") || !strings.Contains(got, "This line takes plans of profile 7") {
			t.Errorf("the refusal says %q; want why nothing else is possible, and what is", got)
		}
	})
	t.Run("NoStock", func(t *testing.T) {
		if _, err := app.Raw.Exec(`UPDATE esims SET state = 'retired' WHERE state = 'free' AND imsi_profile = 10`); err != nil {
			t.Fatal(err)
		}
		r := refusal(europe.ICCID, asia1.ID)
		if r.Find("[data-testid=new-line-instead]").Length() != 0 {
			t.Error("a new line is offered with no profile 10 eSIM in stock")
		}
		if got := text(r.Find("[data-testid=no-new-line]")); !strings.Contains(got, "No free profile 10 eSIM is left") {
			t.Errorf("reason %q", got)
		}
	})
}

func TestChangesKeepThePageTrue(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)
	priya := app.Subscriber(t, "AC-100358")
	europe := app.Lines(t, priya.ID)[0]
	csrf := c.CSRFToken(t, "/subscribers")
	profile := app.URL + fmt.Sprintf("/subscribers/%d", priya.ID)
	esimPage := app.URL + "/esims/" + europe.ICCID

	emailRows := func(r *portaltest.Response) []string {
		return texts(r.Doc(t).Find("#emails [data-testid=email-log] tbody tr td:first-child a"))
	}
	t.Run("AddPlanOnProfile", func(t *testing.T) {
		r := c.Post(t, "/esims/"+europe.ICCID+"/plans", url.Values{"_csrf": {csrf}, "subscriber": {fmt.Sprint(priya.ID)},
			"plan": {fmt.Sprint(app.Plan(t, "Euro 3").ID)}, "token": {"keep-true-1"}}, "HX-Request", "true", "HX-Current-URL", profile)
		if r.Status != http.StatusOK {
			t.Fatalf("status %d", r.Status)
		}
		doc := r.Doc(t)
		if got := emailRows(r); len(got) != 3 || got[0] != "Order confirmation" {
			t.Errorf("the Emails panel sent along lists %q; want the new confirmation first of 3", got)
		}
		if doc.Find("#timeline").Length() != 0 {
			t.Error("a timeline is sent to the profile, which has none")
		}
		note := doc.Find("[data-testid=line-note]")
		if note.AttrOr("autofocus", "\x00") == "\x00" || note.AttrOr("data-announce", "") != "status" {
			t.Errorf("the note is not focused and read out: %v", note.Nodes)
		}
	})
	t.Run("ResendOnESIMPage", func(t *testing.T) {
		r := c.Post(t, "/esims/"+europe.ICCID+"/resend-qr", url.Values{"_csrf": {csrf}}, "HX-Request", "true", "HX-Current-URL", esimPage)
		if r.Status != http.StatusOK || r.Header.Get("HX-Retarget") != "#line-"+europe.ICCID {
			t.Fatalf("status %d, retarget %q", r.Status, r.Header.Get("HX-Retarget"))
		}
		doc := r.Doc(t)
		if got := emailRows(r); len(got) != 4 || got[0] != "QR code" {
			t.Errorf("the Emails panel sent along lists %q; want the new QR email first of 4", got)
		}
		if doc.Find("#timeline[hx-swap-oob=true]").Length() != 1 || doc.Find("#emails[hx-swap-oob=true]").Length() != 1 {
			t.Error("no timeline and emails swapped out of band on the eSIM page")
		}
		if got := text(doc.Find("[data-testid=line-note]")); !strings.Contains(got, "QR code email for line “Europe” queued again.") {
			t.Errorf("note %q", got)
		}
	})
	t.Run("ResendAsksFirst", func(t *testing.T) {
		doc := c.Page(t, fmt.Sprintf("/subscribers/%d", priya.ID))
		form := doc.Find(`form[action="/esims/` + europe.ICCID + `/resend-qr"]`)
		if got := form.AttrOr("hx-confirm", ""); !strings.Contains(got, "Send the QR code email of line “Europe” to the customer again?") {
			t.Errorf("Resend asks %q", got)
		}
		// The answer marks what it swaps out of band: a form that picked
		// panels itself would swap in whatever the answer lacked.
		if n := doc.Find("[hx-select-oob]").Length(); n != 0 {
			t.Errorf("%d elements pick panels out of band themselves", n)
		}
	})
}

func TestESIMBreadcrumb(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)
	priya := app.Subscriber(t, "AC-100358")
	europe := app.Lines(t, priya.ID)[0]
	for _, tc := range []struct {
		name, referer, label, href string
	}{
		{"FromProfile", fmt.Sprintf("%s/subscribers/%d", app.URL, priya.ID), "Priya Raman", fmt.Sprintf("/subscribers/%d", priya.ID)},
		{"FromList", app.URL + "/esims?state=allocated&profile=7", "eSIM List", "/esims?state=allocated&profile=7"},
		{"FromAudit", app.URL + "/audit?iccid=" + europe.ICCID, "Audit log", "/audit?iccid=" + europe.ICCID},
		{"FromSearch", app.URL + "/subscribers?q=priya", "Subscribers", "/subscribers?q=priya"},
		{"None", "", "eSIM List", "/esims"},
		{"OtherSite", "https://evil.example/esims?x=1", "eSIM List", "/esims"},
		{"UnknownPage", app.URL + "/esims/" + europe.ICCID + "/plans/new", "eSIM List", "/esims"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.referer != "" {
				headers = []string{"Referer", tc.referer}
			}
			a := c.Page(t, "/esims/"+europe.ICCID, headers...).Find("[data-testid=breadcrumb] a")
			if got := text(a); got != tc.label {
				t.Errorf("breadcrumb %q, want %q", got, tc.label)
			}
			if got := a.AttrOr("href", ""); got != tc.href {
				t.Errorf("breadcrumb leads to %q, want %q", got, tc.href)
			}
		})
	}
}

func TestImportFileRefusedBesideItsField(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	lead := app.Lead(t)
	r := lead.Post(t, "/esims/import", url.Values{"_csrf": {lead.CSRFToken(t, "/esims/import")}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", r.Status)
	}
	doc := r.Doc(t)
	field := doc.Find("#import-file")
	if field.AttrOr("aria-invalid", "") != "true" || field.AttrOr("autofocus", "\x00") == "\x00" {
		t.Errorf("the file field is not marked invalid and focused")
	}
	if got := text(field.Closest(".field").Find("#import-file-error")); got != "Choose the CSV file to import." {
		t.Errorf("the message beside the file field reads %q", got)
	}
}
