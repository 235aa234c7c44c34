package handlers_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// postFile sends a file as the import form does, multipart with its CSRF token.
func postFile(t *testing.T, c *portaltest.Client, path, csrf, filename, content string) *portaltest.Response {
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
	req, err := http.NewRequest(http.MethodPost, c.URL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &portaltest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
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
	app := portaltest.Start(t)
	agent := app.Agent(t)
	lead := app.Lead(t)
	before := app.Count(t, `SELECT count(*) FROM esims`)

	t.Run("AgentRefused", func(t *testing.T) {
		if r := agent.Get(t, "/esims/import"); r.Status != http.StatusForbidden {
			t.Errorf("GET: status %d, want 403", r.Status)
		}
		if r := postFile(t, agent, "/esims/import", agent.CSRFToken(t, "/esims"), "x.csv", importFile(3, 0)); r.Status != http.StatusForbidden {
			t.Errorf("POST: status %d, want 403", r.Status)
		}
		if app.Count(t, `SELECT count(*) FROM esims`) != before {
			t.Error("the agent's file was imported")
		}
	})
	t.Run("OK", func(t *testing.T) {
		if lead.Page(t, "/esims").Find("[data-testid=import-link]").Length() != 1 {
			t.Error("the lead is not offered the import")
		}
		r := postFile(t, lead, "/esims/import", lead.CSRFToken(t, "/esims/import"), "delivery.csv", importFile(30, 0))
		if r.Status != http.StatusSeeOther || r.Location() != "/esims?state=free" {
			t.Fatalf("status %d to %q, want 303 to the free stock", r.Status, r.Location())
		}
		doc := lead.Page(t, r.Location())
		if got := text(doc.Find(".alert.ok")); !strings.Contains(got, "Added 30 eSIMs: 10 of profile 2, 10 of profile 7, 10 of profile 10") {
			t.Errorf("flash %q", got)
		}
		if rows := listRows(doc); len(rows) == 0 || !strings.HasPrefix(rows[0]["iccid"], "8901487") {
			t.Errorf("the import is not at the top of the free stock: %v", rows[:min(1, len(rows))])
		}
		if got := app.Count(t, `SELECT count(*) FROM esims WHERE iccid LIKE '8901487%' AND state = 'free'`); got != 30 {
			t.Errorf("%d eSIMs added, want 30", got)
		}
	})
	t.Run("BadRows", func(t *testing.T) {
		file := importFile(5, 100) + importICCID(2, 0) + ",2,smdp.delivery.example.com,NEW\n" + // already imported
			"8901487000000000000,5,https://smdp.example.com,\n"
		r := postFile(t, lead, "/esims/import", lead.CSRFToken(t, "/esims/import"), "bad.csv", file)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", r.Status)
		}
		doc := r.Doc(t)
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
		if got := app.Count(t, `SELECT count(*) FROM esims WHERE iccid LIKE '8901487%'`); got != 30 {
			t.Errorf("%d imported eSIMs, want the 30 of before", got)
		}
	})
	t.Run("ManyBadRows", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("iccid,imsi_profile,smdp_address,matching_id\n")
		for range 250 {
			b.WriteString("123,2,smdp.example.com,X\n")
		}
		doc := postFile(t, lead, "/esims/import", lead.CSRFToken(t, "/esims/import"), "bad.csv", b.String()).Doc(t)
		if got := doc.Find("[data-testid=import-error]").Length(); got != 200 {
			t.Errorf("%d lines listed, want 200", got)
		}
		if got := text(doc.Find("[data-testid=import-errors-more]")); got != "…and 50 lines more." {
			t.Errorf("%q", got)
		}
	})
	t.Run("NoFile", func(t *testing.T) {
		form := url.Values{"_csrf": {lead.CSRFToken(t, "/esims/import")}}
		r := lead.Post(t, "/esims/import", form)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r.Doc(t).Find("[data-testid=import-message]")), "Choose") {
			t.Errorf("status %d", r.Status)
		}
	})
}
