package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/handlers/portaltest"
)

// TestMarkupInNamesIsInert gives a subscriber and a line a name that is a
// script, and checks every page that shows them renders it as text.
func TestMarkupInNamesIsInert(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	app := portaltest.Start(t)
	sub := app.Subscriber(t, "AC-100358")
	if _, err := app.Raw.Exec(`UPDATE subscribers SET name = ? WHERE id = ?`, evil, sub.ID); err != nil {
		t.Fatal(err)
	}
	lead := app.Lead(t)
	profile := fmt.Sprintf("/subscribers/%d", sub.ID)
	form := url.Values{"_csrf": {lead.CSRFToken(t, profile)}, "line_name": {evil}, "plan": {fmt.Sprint(app.Plan(t, "Asia 1").ID)}, "token": {"xss"}}
	if r := lead.Post(t, profile+"/lines", form); r.Status != http.StatusSeeOther {
		t.Fatalf("Add line: status %d", r.Status)
	}
	iccid := app.Lines(t, sub.ID)[1].ICCID
	for _, path := range []string{profile, "/subscribers?q=alert", "/esims/" + iccid, "/audit", profile + "/lines/new"} {
		t.Run(path, func(t *testing.T) {
			doc := lead.Page(t, path)
			doc.Find("script").Each(func(_ int, s *goquery.Selection) {
				if src, _ := s.Attr("src"); !strings.HasPrefix(src, "/static/htmx.") && !strings.HasPrefix(src, "/static/portal.") {
					t.Errorf("a script element that is not the portal's own: %q", text(s))
				}
			})
			if !strings.Contains(doc.Find("main").Text(), evil) {
				t.Errorf("the name is not shown as text")
			}
		})
	}
}
