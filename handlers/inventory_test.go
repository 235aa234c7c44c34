package handlers_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/demo"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/views"
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
	app := newTestApp(t)
	agent := signedIn(t, app)
	total := app.count(t, `SELECT count(*) FROM esims`)

	doc := agent.page(t, "/esims")
	if got := text(doc.Find(`nav a[aria-current="page"]`)); got != "List" {
		t.Errorf("current navigation entry %q, want List", got)
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
	if doc.Find(`#stock[hx-get="/esims/stock"]`).Length() != 1 {
		t.Error("the stock summary is not loaded after the page")
	}
	if doc.Find("[data-testid=import-link]").Length() != 0 {
		t.Error("an agent is offered the import")
	}

	t.Run("PagesThroughEverything", func(t *testing.T) {
		seen := map[string]bool{}
		var pages []string
		path := "/esims"
		for path != "" {
			r := agent.get(t, path, htmxResults...)
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, r.Status)
			}
			if bytes.Contains(r.Body, []byte("<html")) {
				t.Fatalf("GET %s from HTMX: a whole page, want the results only", path)
			}
			if push := r.Header.Get("HX-Push-Url"); push != path {
				t.Errorf("HX-Push-Url %q, want %q", push, path)
			}
			d := r.doc(t)
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
		last := agent.page(t, pages[len(pages)-1])
		if last.Find("#esim-filters").Length() != 1 || last.Find("[data-testid=prev-page]").Length() != 1 {
			t.Error("a page's own address does not render the whole page with its links")
		}
	})

	t.Run("Filters", func(t *testing.T) {
		doc := agent.page(t, "/esims?state=free&profile=7")
		rows := listRows(doc)
		want := app.count(t, `SELECT count(*) FROM esims WHERE state = 'free' AND imsi_profile = 7`)
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
		lead := signedInAs(t, app, demo.LeadEmail, demo.LeadPassword)
		if got := lead.page(t, "/esims?state=free&profile=7").Find("[data-testid=csv-link]").AttrOr("href", ""); got != "/esims.csv?profile=7&state=free" {
			t.Errorf("CSV link %q", got)
		}
	})

	t.Run("Search", func(t *testing.T) {
		maria := app.subscriber(t, "AC-100231")
		rows := listRows(agent.page(t, "/esims?q=garc"))
		if len(rows) != 1 || rows[0]["subscriberHref"] != fmt.Sprintf("/subscribers/%d", maria.ID) || rows[0]["line"] != "France" {
			t.Errorf("search by surname: %v", rows)
		}
		iccid := app.lines(t, maria.ID)[0].ICCID
		rows = listRows(agent.page(t, "/esims?q="+iccid[len(iccid)-6:]))
		if len(rows) != 1 || rows[0]["iccid"] != iccid {
			t.Errorf("search by the last digits of %s: %v", iccid, rows)
		}
	})

	t.Run("FormFieldsEmpty", func(t *testing.T) {
		// What the filter form sends: every field, most empty.
		r := agent.get(t, "/esims?q=&state=allocated&profile=&from=&to=&by=&sort=", htmxResults...)
		if r.Status != http.StatusOK {
			t.Fatalf("status %d", r.Status)
		}
		if got := r.Header.Get("HX-Push-Url"); got != "/esims?state=allocated" {
			t.Errorf("HX-Push-Url %q, want the short address", got)
		}
	})

	t.Run("InvalidFilter", func(t *testing.T) {
		r := agent.get(t, "/esims?q=123&from=yesterday")
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", r.Status)
		}
		doc := r.doc(t)
		if got := text(doc.Find("#esim-filters #list-q-error")); !strings.Contains(got, "4 digits") {
			t.Errorf("search error %q", got)
		}
		if got := text(doc.Find("#esim-filters #list-from-error")); !strings.Contains(got, "YYYY-MM-DD") {
			t.Errorf("date error %q", got)
		}
		if doc.Find("[data-testid=filter-refused]").Length() != 1 || doc.Find("[data-testid=esim-row]").Length() != 0 {
			t.Error("the table shows eSIMs for a refused filter")
		}
		// From HTMX, the messages travel out of band to the form's fields.
		r = agent.get(t, "/esims?q=123", htmxResults...)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("HTMX status %d, want 422", r.Status)
		}
		oob := r.doc(t).Find(`#list-q-error[hx-swap-oob="true"]`)
		if !strings.Contains(text(oob), "4 digits") {
			t.Errorf("out-of-band error %q", text(oob))
		}
		if r.doc(t).Find(`#list-from-error[hx-swap-oob="true"]`).Length() != 1 {
			t.Error("a fixed field's old message is not cleared")
		}
	})

	t.Run("OutOfDateLink", func(t *testing.T) {
		doc := agent.page(t, "/esims?after=bm90LWEtY3Vyc29y")
		if got := text(doc.Find("[data-testid=list-notice]")); !strings.Contains(got, "out of date") {
			t.Errorf("notice %q", got)
		}
		if len(listRows(doc)) != db.ListPageSize {
			t.Error("no first page after an out-of-date link")
		}
	})
}

func TestESIMListCSV(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	if r := signedIn(t, app).get(t, "/esims.csv"); r.Status != http.StatusForbidden {
		t.Errorf("agent exports the inventory: status %d, want 403", r.Status)
	}
	lead := signedInAs(t, app, demo.LeadEmail, demo.LeadPassword)
	r := lead.get(t, "/esims.csv?state=allocated")
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
	if got, want := len(records)-1, app.count(t, `SELECT count(*) FROM esims WHERE state = 'allocated'`); got != want {
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
	if r := lead.get(t, "/esims.csv?profile=3"); r.Status != http.StatusUnprocessableEntity {
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
			app := newTestAppWith(t, func(_ *testApp, h *handlers.Handlers) { h.LowStock = tc.lowStock })
			doc := signedIn(t, app).page(t, "/esims/stock", "HX-Request", "true")
			cards := doc.Find("[data-testid=stock-profile]")
			if cards.Length() != 3 {
				t.Fatalf("%d profiles", cards.Length())
			}
			cards.Each(func(_ int, card *goquery.Selection) {
				p := card.AttrOr("data-profile", "")
				free := app.count(t, `SELECT count(*) FROM esims WHERE state = 'free' AND imsi_profile = ?`, p)
				allocated := app.count(t, `SELECT count(*) FROM esims WHERE state = 'allocated' AND imsi_profile = ?`, p)
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

// postFile sends a file as the import form does, multipart with its CSRF token.
func postFile(t *testing.T, c *client, path, csrf, filename, content string) *response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("_csrf", csrf)
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(fw, content)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, c.base+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func importICCID(profile, serial int) string {
	body := fmt.Sprintf("8901487%02d%09d", profile, serial)
	return body + string(db.LuhnDigit(body))
}

func importFile(n, first int) string {
	var b strings.Builder
	b.WriteString("iccid,imsi_profile,smdp_address,matching_id\n")
	for i := range n {
		p := db.IMSIProfiles[i%3]
		fmt.Fprintf(&b, "%s,%d,smdp.delivery.example.com,DLV-%d\n", importICCID(p, first+i), p, first+i)
	}
	return b.String()
}

func TestImportInventory(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	agent := signedIn(t, app)
	lead := signedInAs(t, app, demo.LeadEmail, demo.LeadPassword)
	before := app.count(t, `SELECT count(*) FROM esims`)

	t.Run("AgentRefused", func(t *testing.T) {
		if r := agent.get(t, "/esims/import"); r.Status != http.StatusForbidden {
			t.Errorf("GET: status %d, want 403", r.Status)
		}
		if r := postFile(t, agent, "/esims/import", agent.csrfToken(t, "/esims"), "x.csv", importFile(3, 0)); r.Status != http.StatusForbidden {
			t.Errorf("POST: status %d, want 403", r.Status)
		}
		if app.count(t, `SELECT count(*) FROM esims`) != before {
			t.Error("the agent's file was imported")
		}
	})
	t.Run("OK", func(t *testing.T) {
		if lead.page(t, "/esims").Find("[data-testid=import-link]").Length() != 1 {
			t.Error("the lead is not offered the import")
		}
		r := postFile(t, lead, "/esims/import", lead.csrfToken(t, "/esims/import"), "delivery.csv", importFile(30, 0))
		if r.Status != http.StatusSeeOther || r.Location() != "/esims?state=free" {
			t.Fatalf("status %d to %q, want 303 to the free stock", r.Status, r.Location())
		}
		doc := lead.page(t, r.Location())
		if got := text(doc.Find(".alert.ok")); !strings.Contains(got, "Added 30 eSIMs: 10 of profile 2, 10 of profile 7, 10 of profile 10") {
			t.Errorf("flash %q", got)
		}
		if rows := listRows(doc); len(rows) == 0 || !strings.HasPrefix(rows[0]["iccid"], "8901487") {
			t.Errorf("the import is not at the top of the free stock: %v", rows[:min(1, len(rows))])
		}
		if got := app.count(t, `SELECT count(*) FROM esims WHERE iccid LIKE '8901487%' AND state = 'free'`); got != 30 {
			t.Errorf("%d eSIMs added, want 30", got)
		}
	})
	t.Run("BadRows", func(t *testing.T) {
		file := importFile(5, 100) + importICCID(2, 0) + ",2,smdp.delivery.example.com,NEW\n" + // already imported
			"8901487000000000000,5,https://smdp.example.com,\n"
		r := postFile(t, lead, "/esims/import", lead.csrfToken(t, "/esims/import"), "bad.csv", file)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", r.Status)
		}
		doc := r.doc(t)
		var errs [][2]string // line, reason
		doc.Find("[data-testid=import-error]").Each(func(_ int, tr *goquery.Selection) {
			errs = append(errs, [2]string{text(tr.Find("td").Eq(0)), text(tr.Find("td").Eq(1))})
		})
		if len(errs) != 2 || errs[0][0] != "7" || !strings.Contains(errs[0][1], "already in the inventory") ||
			errs[1][0] != "8" || !strings.Contains(errs[1][1], "2, 7 or 10") || !strings.Contains(errs[1][1], "http") {
			t.Errorf("errors %q", errs)
		}
		if !strings.Contains(text(doc.Find("[data-testid=import-errors]")), "Nothing was added") {
			t.Error("the page does not say nothing was added")
		}
		if got := app.count(t, `SELECT count(*) FROM esims WHERE iccid LIKE '8901487%'`); got != 30 {
			t.Errorf("%d imported eSIMs, want the 30 of before", got)
		}
	})
	t.Run("ManyBadRows", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("iccid,imsi_profile,smdp_address,matching_id\n")
		for range 250 {
			b.WriteString("123,2,smdp.example.com,X\n")
		}
		doc := postFile(t, lead, "/esims/import", lead.csrfToken(t, "/esims/import"), "bad.csv", b.String()).doc(t)
		if got := doc.Find("[data-testid=import-error]").Length(); got != 200 {
			t.Errorf("%d lines listed, want 200", got)
		}
		if got := text(doc.Find("[data-testid=import-errors-more]")); got != "…and 50 lines more." {
			t.Errorf("%q", got)
		}
	})
	t.Run("NoFile", func(t *testing.T) {
		form := url.Values{"_csrf": {lead.csrfToken(t, "/esims/import")}}
		r := lead.post(t, "/esims/import", form)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r.doc(t).Find("[data-testid=import-message]")), "Choose") {
			t.Errorf("status %d", r.Status)
		}
	})
}

func TestRetireESIM(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	agent := signedIn(t, app)
	lead := signedInAs(t, app, demo.LeadEmail, demo.LeadPassword)
	pick := func(state string) string {
		var iccid string
		if err := app.raw.QueryRow(`SELECT iccid FROM esims WHERE state = ? ORDER BY iccid LIMIT 1`, state).Scan(&iccid); err != nil {
			t.Fatal(err)
		}
		return iccid
	}
	free, allocated := pick(db.StateFree), pick(db.StateAllocated)
	csrf := func(c *client) url.Values { return url.Values{"_csrf": {c.csrfToken(t, "/esims")}} }

	if r := agent.post(t, "/esims/"+free+"/retire", csrf(agent)); r.Status != http.StatusForbidden {
		t.Errorf("agent: status %d, want 403", r.Status)
	}
	r := lead.post(t, "/esims/"+allocated+"/retire", csrf(lead))
	if r.Status != http.StatusConflict || !strings.Contains(text(r.doc(t).Find("[data-testid=error-page]")), "is allocated") {
		t.Errorf("allocated: status %d", r.Status)
	}
	r = lead.post(t, "/esims/"+allocated+"/retire", csrf(lead), "HX-Request", "true")
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r.doc(t).Find("[data-testid=retire-refused]")), "cannot be retired") {
		t.Errorf("allocated from the button: status %d", r.Status)
	}
	r = lead.post(t, "/esims/"+free+"/retire", csrf(lead))
	if r.Status != http.StatusSeeOther || r.Location() != "/esims/"+free {
		t.Fatalf("free: status %d to %q", r.Status, r.Location())
	}
	if got := text(lead.page(t, r.Location()).Find(".alert.ok")); !strings.Contains(got, "retired") {
		t.Errorf("flash %q", got)
	}
	if app.count(t, `SELECT count(*) FROM esims WHERE iccid = ? AND state = 'retired'`, free) != 1 {
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
