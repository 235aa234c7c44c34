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

// resultNames is the names a search lists.
func resultNames(doc *goquery.Document) []string {
	return texts(doc.Find("[data-testid=search-results] tbody tr td:first-child"))
}

func TestSearchSubscribers(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)
	priya := app.Subscriber(t, "AC-100358")

	t.Run("ByName", func(t *testing.T) {
		doc := c.Page(t, "/subscribers?q=Raman")
		if got := resultNames(doc); !slices.Contains(got, "Priya Raman") {
			t.Errorf("results = %q, want Priya Raman among them", got)
		}
		if got, want := doc.Find("#q").AttrOr("value", ""), "Raman"; got != want {
			t.Errorf("search box = %q, want %q", got, want)
		}
	})
	t.Run("ResultLinksToProfile", func(t *testing.T) {
		doc := c.Page(t, "/subscribers?q=Priya")
		link := doc.Find("[data-testid=search-results] a").FilterFunction(func(_ int, a *goquery.Selection) bool {
			return text(a) == "Priya Raman"
		})
		if got, want := link.AttrOr("href", ""), fmt.Sprintf("/subscribers/%d", priya.ID); got != want {
			t.Errorf("link to Priya Raman = %q, want %q", got, want)
		}
	})
	t.Run("Fragment", func(t *testing.T) {
		r := c.Get(t, "/subscribers?q=Priya", "HX-Request", "true", "HX-Target", "results")
		if got, want := r.Status, http.StatusOK; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		doc := r.Doc(t)
		if got := resultNames(doc); !slices.Contains(got, "Priya Raman") {
			t.Errorf("results = %q, want Priya Raman among them", got)
		}
		if n := doc.Find("#results").Length(); n != 1 {
			t.Errorf("got %d #results, want the results fragment", n)
		}
		for _, sel := range []string{"nav", "header", "title", "h1", "form[role=search]"} {
			if doc.Find(sel).Length() != 0 {
				t.Errorf("fragment has a %s: want only the results", sel)
			}
		}
	})
	t.Run("NoMatch", func(t *testing.T) {
		doc := c.Page(t, "/subscribers?q="+url.QueryEscape("Zzyzx Nobody"))
		none := doc.Find("[data-testid=no-results]")
		if none.Length() == 0 {
			t.Fatal("no [data-testid=no-results]")
		}
		if got, want := text(none.Find("h2")), "No subscriber matches “Zzyzx Nobody”"; got != want {
			t.Errorf("no-results heading = %q, want %q", got, want)
		}
		if n := doc.Find("[data-testid=search-results]").Length(); n != 0 {
			t.Errorf("a results table is shown for no match")
		}
	})
	t.Run("ByAccountNumber", func(t *testing.T) {
		doc := c.Page(t, "/subscribers?q=AC-100358")
		if got, want := resultNames(doc), []string{"Priya Raman"}; !slices.Equal(got, want) {
			t.Errorf("results = %q, want %q", got, want)
		}
		if got, want := text(doc.Find("[data-testid=search-results] tbody td.mono").First()), "AC-100358"; got != want {
			t.Errorf("account shown = %q, want %q", got, want)
		}
	})
	t.Run("ByPhoneLastDigits", func(t *testing.T) {
		digits := strings.Map(func(r rune) rune {
			if r < '0' || r > '9' {
				return -1
			}
			return r
		}, priya.Phone)
		last4 := digits[len(digits)-4:]
		doc := c.Page(t, "/subscribers?q="+last4)
		if got := resultNames(doc); !slices.Contains(got, "Priya Raman") {
			t.Errorf("search %q (end of %s): results = %q, want Priya Raman among them", last4, priya.Phone, got)
		}
	})
}

func TestSubscriberProfile(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	c := app.Agent(t)

	t.Run("WithLine", func(t *testing.T) {
		priya := app.Subscriber(t, "AC-100358")
		lines := app.Lines(t, priya.ID)
		if len(lines) != 1 {
			t.Fatalf("demo data: Priya Raman has %d lines, want 1", len(lines))
		}
		doc := c.Page(t, fmt.Sprintf("/subscribers/%d", priya.ID))
		if got, want := text(doc.Find("h1[data-testid=subscriber-name]")), "Priya Raman"; got != want {
			t.Errorf("h1 = %q, want %q", got, want)
		}
		if got := text(doc.Find("[data-testid=allowance]")); !strings.Contains(got, "1 of 2 used") {
			t.Errorf("allowance reads %q, want 1 of 2 used", got)
		}
		if n := doc.Find("[data-testid=add-line]").Length(); n != 1 {
			t.Errorf("got %d Add line buttons, want 1", n)
		}
		line := doc.Find("[data-testid=line]")
		if line.Length() != 1 {
			t.Fatalf("got %d lines on the page, want 1", line.Length())
		}
		if got, want := text(line.Find("h3")), "Europe"; got != want {
			t.Errorf("line name = %q, want %q", got, want)
		}
		if got, want := line.AttrOr("aria-label", ""), "Line Europe"; got != want {
			t.Errorf("line aria-label = %q, want %q", got, want)
		}
		if got, want := text(line.Find("a.mono")), lines[0].ICCID; got != want {
			t.Errorf("ICCID = %q, want %q", got, want)
		}
		if got, want := text(line.Find(".badge.profile")), "Profile 7"; got != want {
			t.Errorf("profile = %q, want %q", got, want)
		}
		rows := line.Find("[data-testid=line-plan]")
		if rows.Length() != 1 {
			t.Fatalf("got %d plan rows, want 1", rows.Length())
		}
		// A queued plan says what Queued means, in a popover beside it.
		if n := rows.Find("button[data-testid=term-queued][popovertarget=term-queued]").Length(); n != 1 {
			t.Errorf("the queued plan has %d explanations of Queued; want 1", n)
		}
		rows.Find(".term-hint").Remove()
		cells := texts(rows.Find("td"))
		if len(cells) != 6 {
			t.Fatalf("plan row cells = %q, want 6", cells)
		}
		if got, want := cells[0], "Euro 1"; got != want {
			t.Errorf("plan = %q, want %q", got, want)
		}
		if got, want := cells[1], "1 GB"; got != want {
			t.Errorf("data = %q, want %q", got, want)
		}
		if got, want := cells[2], "Queued Starts on first use in Europe"; got != want {
			t.Errorf("status = %q, want %q", got, want)
		}
		if got, want := text(rows.Find("td[data-label=Order] .order-number")), lines[0].Plans[0].OrderNumber; got != want {
			t.Errorf("order = %q, want %q", got, want)
		}
	})
	t.Run("NoQualifyingPlan", func(t *testing.T) {
		tom := app.Subscriber(t, "AC-100333")
		doc := c.Page(t, fmt.Sprintf("/subscribers/%d", tom.ID))
		if got, want := text(doc.Find("[data-testid=subscriber-name]")), "Tom Becker"; got != want {
			t.Errorf("h1 = %q, want %q", got, want)
		}
		if n := doc.Find("[data-testid=add-line]").Length(); n != 0 {
			t.Errorf("Add line button shown to a subscriber with no qualifying plan")
		}
		want := "No qualifying plan: travel eSIMs need an Unlimited All plan or an Unlimited bundle."
		if got := text(doc.Find("[data-testid=allowance-used-up]")); got != want {
			t.Errorf("explanation = %q, want %q", got, want)
		}
		if got, want := text(doc.Find("[data-testid=allowance]")), "No complimentary eSIMs: no Unlimited All plan or bundle"; got != want {
			t.Errorf("allowance reads %q, want %q", got, want)
		}
	})
	t.Run("AllowanceUsedUp", func(t *testing.T) {
		ahmed := app.Subscriber(t, "AC-100719")
		doc := c.Page(t, fmt.Sprintf("/subscribers/%d", ahmed.ID))
		if n := doc.Find("[data-testid=add-line]").Length(); n != 0 {
			t.Errorf("Add line button shown to a subscriber whose allowance is used up")
		}
		if got, want := text(doc.Find("[data-testid=allowance-used-up]")), "Allowance used up: every qualifying plan has its eSIM."; got != want {
			t.Errorf("explanation = %q, want %q", got, want)
		}
		if got, want := texts(doc.Find("[data-testid=line] h3")), []string{"Türkiye", "Canada"}; !slices.Equal(got, want) {
			t.Errorf("lines = %q, want %q", got, want)
		}
	})
	for _, tc := range []struct{ name, path string }{
		{"NotFound", "/subscribers/999999"},
		{"NotANumber", "/subscribers/abc"},
		{"Zero", "/subscribers/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Get(t, tc.path)
			if got, want := r.Status, http.StatusNotFound; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			page := r.Doc(t).Find("[data-testid=error-page]")
			if page.Length() == 0 {
				t.Fatal("no designed error page")
			}
			if got, want := text(page.Find("h1")), "Not found"; got != want {
				t.Errorf("error page h1 = %q, want %q", got, want)
			}
		})
	}
}
