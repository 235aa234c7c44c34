package handlers_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// htmxResults are the headers of the List's filter form and page links.
var htmxResults = []string{"HX-Request", "true", "HX-Target", "esim-results"}

// listRows reads the List's table as an agent sees it.
func listRows(doc *goquery.Document) []map[string]string {
	var rows []map[string]string
	doc.Find("[data-testid=esim-row]").Each(func(_ int, tr *goquery.Selection) {
		td := tr.Find("td")
		rows = append(rows, map[string]string{
			"iccid": text(td.Eq(0)), "href": td.Eq(0).Find("a").AttrOr("href", ""), "profile": text(td.Eq(1)),
			"state": text(td.Eq(2)), "subscriber": text(td.Eq(3)), "subscriberHref": td.Eq(3).Find("a").AttrOr("href", ""),
			"line": text(td.Eq(4)), "allocated": text(td.Eq(5)), "plans": text(td.Eq(6)),
		})
	})
	return rows
}

func TestESIMListPage(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent := app.Agent(t)
	total := app.Count(t, `SELECT count(*) FROM esims`)

	doc := agent.Page(t, "/esims")
	if got := text(doc.Find(`nav a[aria-current="page"]`)); got != "eSIM List" {
		t.Errorf("current navigation entry %q, want eSIM List", got)
	}
	rows := listRows(doc)
	if len(rows) != db.ListPageSize {
		t.Fatalf("%d rows on the first page, want %d", len(rows), db.ListPageSize)
	}
	first := rows[0]
	if first["state"] != "Allocated" || first["href"] != "/esims/"+first["iccid"] || !strings.HasPrefix(first["subscriberHref"], "/subscribers/") ||
		first["line"] == "" || !strings.Contains(first["allocated"], "by ") || !strings.Contains(first["plans"], "plan") {
		t.Errorf("first row %v: want the newest allocation, with its links, line, allocation and plans", first)
	}
	if got, want := text(doc.Find("[data-testid=list-count]")), fmt.Sprintf("%d eSIMs", total); got != want {
		t.Errorf("count %q, want %q", got, want)
	}
	if doc.Find(`[data-testid=stock] [data-testid=stock-profile]`).Length() != len(db.IMSIProfiles) {
		t.Error("the stock summary is not on the page")
	}
	if doc.Find("[data-testid=import-link]").Length() != 0 {
		t.Error("an agent is offered the import")
	}

	t.Run("PagesThroughEverything", func(t *testing.T) {
		seen := map[string]bool{}
		var pages []string
		path := "/esims"
		for path != "" {
			r := agent.Get(t, path, htmxResults...)
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, r.Status)
			}
			if bytes.Contains(r.Body, []byte("<html")) {
				t.Fatalf("GET %s from HTMX: a whole page, want the results only", path)
			}
			if push := r.Header.Get("HX-Push-Url"); push != path {
				t.Errorf("HX-Push-Url %q, want %q", push, path)
			}
			d := r.Doc(t)
			for _, row := range listRows(d) {
				if seen[row["iccid"]] {
					t.Fatalf("%s on two pages", row["iccid"])
				}
				seen[row["iccid"]] = true
			}
			pages = append(pages, path)
			path = d.Find("[data-testid=next-page]").AttrOr("href", "")
			if next := d.Find("[data-testid=next-page]").AttrOr("hx-get", ""); next != path {
				t.Errorf("next page link goes to %q for HTMX and %q without", next, path)
			}
		}
		if len(seen) != total {
			t.Errorf("%d eSIMs over %d pages, want %d", len(seen), len(pages), total)
		}
		// The same address gives the whole page, for a shared link or a reload.
		last := agent.Page(t, pages[len(pages)-1])
		if last.Find("#esim-filters").Length() != 1 || last.Find("[data-testid=prev-page]").Length() != 1 {
			t.Error("a page's own address does not render the whole page with its links")
		}
	})

	t.Run("Filters", func(t *testing.T) {
		doc := agent.Page(t, "/esims?state=free&profile=7")
		rows := listRows(doc)
		want := app.Count(t, `SELECT count(*) FROM esims WHERE state = 'free' AND imsi_profile = 7`)
		if len(rows) != min(want, db.ListPageSize) {
			t.Fatalf("%d rows, want %d", len(rows), min(want, db.ListPageSize))
		}
		for _, r := range rows {
			if r["state"] != "Free" || r["profile"] != "7" || r["subscriber"] != "—" {
				t.Fatalf("row %v does not match the filter", r)
			}
		}
		if got := text(doc.Find("[data-testid=list-count]")); got != fmt.Sprintf("%d eSIMs match", want) {
			t.Errorf("count %q", got)
		}
		// The form shows the filter back, and the CSV link carries it.
		if doc.Find(`#list-state option[value="free"][selected]`).Length() != 1 || doc.Find(`#list-profile option[value="7"][selected]`).Length() != 1 {
			t.Error("the form does not show the filter")
		}
		if doc.Find("[data-testid=csv-link]").Length() != 0 {
			t.Error("an agent is offered the CSV export")
		}
		lead := app.Lead(t)
		if got := lead.Page(t, "/esims?state=free&profile=7").Find("[data-testid=csv-link]").AttrOr("href", ""); got != "/esims.csv?profile=7&state=free" {
			t.Errorf("CSV link %q", got)
		}
	})

	t.Run("Search", func(t *testing.T) {
		maria := app.Subscriber(t, "AC-100231")
		rows := listRows(agent.Page(t, "/esims?q=garc"))
		if len(rows) != 1 || rows[0]["subscriberHref"] != fmt.Sprintf("/subscribers/%d", maria.ID) || rows[0]["line"] != "France" {
			t.Errorf("search by surname: %v", rows)
		}
		iccid := app.Lines(t, maria.ID)[0].ICCID
		rows = listRows(agent.Page(t, "/esims?q="+iccid[len(iccid)-6:]))
		if len(rows) != 1 || rows[0]["iccid"] != iccid {
			t.Errorf("search by the last digits of %s: %v", iccid, rows)
		}
	})

	t.Run("FormFieldsEmpty", func(t *testing.T) {
		// What the filter form sends: every field, most empty.
		r := agent.Get(t, "/esims?q=&state=allocated&profile=&from=&to=&by=&sort=", htmxResults...)
		if r.Status != http.StatusOK {
			t.Fatalf("status %d", r.Status)
		}
		if got := r.Header.Get("HX-Push-Url"); got != "/esims?state=allocated" {
			t.Errorf("HX-Push-Url %q, want the short address", got)
		}
	})

	t.Run("InvalidFilter", func(t *testing.T) {
		r := agent.Get(t, "/esims?q=123&from=yesterday")
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", r.Status)
		}
		doc := r.Doc(t)
		if got := text(doc.Find("#esim-filters #list-q-error")); !strings.Contains(got, "4 digits") {
			t.Errorf("search error %q", got)
		}
		if got := text(doc.Find("#esim-filters #list-from-error")); !strings.Contains(got, "YYYY-MM-DD") {
			t.Errorf("date error %q", got)
		}
		// A bad date shows its message once, by its field.
		if n := doc.Find("#list-from-error").Length(); n != 1 {
			t.Errorf("%d date messages, want 1", n)
		}
		if n := strings.Count(text(doc.Find("main")), "YYYY-MM-DD"); n != 1 {
			t.Errorf("the date message shows %d times, want once", n)
		}
		if doc.Find("[data-testid=filter-refused]").Length() != 1 || doc.Find("[data-testid=esim-row]").Length() != 0 {
			t.Error("the table shows eSIMs for a refused filter")
		}
		// From HTMX, the messages travel out of band to the form's fields.
		r = agent.Get(t, "/esims?q=123", htmxResults...)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("HTMX status %d, want 422", r.Status)
		}
		oob := r.Doc(t).Find(`#list-q-error[hx-swap-oob="true"]`)
		if !strings.Contains(text(oob), "4 digits") {
			t.Errorf("out-of-band error %q", text(oob))
		}
		if r.Doc(t).Find(`#list-from-error[hx-swap-oob="true"]`).Length() != 1 {
			t.Error("a fixed field's old message is not cleared")
		}
		// Every filter's message travels, the last in the form included.
		r = agent.Get(t, "/esims?state=free&retired=replaced", htmxResults...)
		if oob := r.Doc(t).Find(`#list-retired-error[hx-swap-oob="true"]`); r.Status != http.StatusUnprocessableEntity || text(oob) == "" {
			t.Errorf("status %d, retired filter's message %q: want 422 and the reason", r.Status, text(oob))
		}
	})

	t.Run("OutOfDateLink", func(t *testing.T) {
		// A page with a notice, not a refusal: 200, the first page, and the
		// address bar back at the List's own address.
		for _, headers := range [][]string{nil, htmxResults} {
			r := agent.Get(t, "/esims?profile=7&after=bm90LWEtY3Vyc29y", headers...)
			if r.Status != http.StatusOK {
				t.Errorf("status %d, want 200", r.Status)
			}
			doc := r.Doc(t)
			if got := text(doc.Find("[data-testid=list-notice]")); !strings.Contains(got, "out of date") {
				t.Errorf("notice %q", got)
			}
			if len(listRows(doc)) != db.ListPageSize || doc.Find("[data-testid=prev-page]").Length() != 0 {
				t.Error("no first page after an out-of-date link")
			}
			if headers != nil {
				if got := r.Header.Get("HX-Push-Url"); got != "/esims?profile=7" {
					t.Errorf("HX-Push-Url %q, want the first page's address", got)
				}
			}
		}
	})

	t.Run("RetiredByReason", func(t *testing.T) {
		// A line's eSIM replaced, as an agent does it.
		line := app.Lines(t, app.Subscriber(t, "AC-100412").ID)[0]
		r := agent.Post(t, "/esims/"+line.ICCID+"/replace", url.Values{"_csrf": {agent.CSRF}, "reason": {"New or lost phone"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("Replace eSIM: status %d", r.Status)
		}
		for _, c := range []struct{ reason, where string }{
			{db.RetiredReplaced, `replaced_by IS NOT NULL`},
			{db.RetiredOther, `replaced_by IS NULL`},
		} {
			want := app.Count(t, `SELECT count(*) FROM esims WHERE state = 'retired' AND `+c.where)
			if want == 0 {
				t.Fatalf("the demo data has no eSIM retired %s", c.reason)
			}
			rows := listRows(agent.Page(t, "/esims?retired="+c.reason))
			if len(rows) != min(want, db.ListPageSize) {
				t.Errorf("retired=%s: %d rows, want %d", c.reason, len(rows), min(want, db.ListPageSize))
			}
			listed := false
			for _, row := range rows {
				if row["state"] != "Retired" {
					t.Errorf("retired=%s lists %s in state %q", c.reason, row["iccid"], row["state"])
				}
				listed = listed || row["iccid"] == line.ICCID
			}
			if listed != (c.reason == db.RetiredReplaced) {
				t.Errorf("retired=%s: the replaced eSIM listed %v", c.reason, listed)
			}
		}
		r = agent.Get(t, "/esims?state=free&retired=replaced")
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a reason with the state free: status %d, want 422", r.Status)
		}
		if got := text(r.Doc(t).Find("#esim-filters #list-retired-error")); !strings.Contains(got, "Only retired eSIMs") {
			t.Errorf("reason error %q", got)
		}
	})
}

func TestESIMListCSV(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	if r := app.Agent(t).Get(t, "/esims.csv"); r.Status != http.StatusForbidden {
		t.Errorf("agent exports the inventory: status %d, want 403", r.Status)
	}
	lead := app.Lead(t)
	r := lead.Get(t, "/esims.csv?state=allocated")
	if r.Status != http.StatusOK {
		t.Fatalf("status %d", r.Status)
	}
	if got := r.Header.Get("Content-Type"); got != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	wantName := fmt.Sprintf(`attachment; filename="esims-%s.csv"`, time.Now().UTC().Format(time.DateOnly))
	if got := r.Header.Get("Content-Disposition"); got != wantName {
		t.Errorf("Content-Disposition %q, want %q", got, wantName)
	}
	records, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(records[0], ",") != strings.Join(db.ExportHeader, ",") {
		t.Errorf("header %v", records[0])
	}
	if got, want := len(records)-1, app.Count(t, `SELECT count(*) FROM esims WHERE state = 'allocated'`); got != want {
		t.Errorf("%d rows, want %d", got, want)
	}
	for _, rec := range records[1:] {
		if rec[2] != "allocated" || rec[4] == "" || rec[7] == "" {
			t.Fatalf("row %v", rec)
		}
		if _, err := time.Parse(time.RFC3339, rec[7]); err != nil {
			t.Errorf("allocated_at %q: %v", rec[7], err)
		}
	}
	if r := lead.Get(t, "/esims.csv?profile=3"); r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r.Doc(t).Find("#list-profile-error")), "2, 7 or 10") {
		t.Errorf("invalid filter: status %d, want 422", r.Status)
	}
}

func TestStockSummary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		lowStock int
		warnings int
	}{{"Plenty", 20, 0}, {"Low", 1000, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			app := portaltest.StartWith(t, portaltest.Options{Configure: func(h *handlers.Handlers) { h.LowStock = tc.lowStock }})
			doc := app.Agent(t).Page(t, "/esims")
			cards := doc.Find("[data-testid=stock-profile]")
			if cards.Length() != 3 {
				t.Fatalf("%d profiles", cards.Length())
			}
			cards.Each(func(_ int, card *goquery.Selection) {
				p := card.AttrOr("data-profile", "")
				free := app.Count(t, `SELECT count(*) FROM esims WHERE state = 'free' AND imsi_profile = ?`, p)
				allocated := app.Count(t, `SELECT count(*) FROM esims WHERE state = 'allocated' AND imsi_profile = ?`, p)
				if text(card.Find("[data-testid=free]")) != strconv.Itoa(free) || text(card.Find("[data-testid=allocated]")) != strconv.Itoa(allocated) {
					t.Errorf("profile %s: %q, want %d free and %d allocated", p, text(card), free, allocated)
				}
			})
			if got := doc.Find("[data-testid=low-stock]").Length(); got != tc.warnings {
				t.Errorf("%d low-stock warnings, want %d", got, tc.warnings)
			}
		})
	}
}
