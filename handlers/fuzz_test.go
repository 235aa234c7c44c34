package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// FuzzAddLineForm posts any line name, plan and token to Add line: the portal
// answers with the form and a message, or adds the line; never with a fault,
// and never with the line name as markup. A field longer than the form can
// send (a token past the 26 characters the portal issues, a name past 40
// characters of 4 bytes) is refused as too large, and only such a field.
func FuzzAddLineForm(f *testing.F) {
	f.Add("France", "1", "tok")
	f.Add("", "", "")
	f.Add("<script>alert(1)</script>", "7", "")
	f.Add(strings.Repeat("x", 41), "-1", "a")
	f.Add("Japan", "99999999999999999999", "")
	f.Add("\x00\xff", "1e3", "")
	f.Add("France", "1", strings.Repeat("t", 27))
	f.Add(strings.Repeat("é", 81), "1", "")
	app := portaltest.Start(f)
	c := app.Agent(f)
	sub := app.Subscriber(f, "AC-100358")
	path := fmt.Sprintf("/subscribers/%d/lines", sub.ID)
	csrf := c.CSRFToken(f, "/subscribers")
	f.Fuzz(func(t *testing.T, lineName, plan, token string) {
		form := url.Values{"_csrf": {csrf}, "line_name": {lineName}, "plan": {plan}, "token": {token}}
		r := c.Post(t, path, form, "HX-Request", "true")
		oversized := len(token) > 26 || len(lineName) > 4*db.MaxLineNameLen
		switch {
		case r.Status == http.StatusRequestEntityTooLarge && oversized:
		case oversized:
			t.Fatalf("line %q token %q: status %d, want 413 for a field longer than the form sends", lineName, token, r.Status)
		case r.Status == http.StatusOK, r.Status == http.StatusUnprocessableEntity, r.Status == http.StatusNotFound:
		default:
			t.Fatalf("line %q plan %q: status %d", lineName, plan, r.Status)
		}
		if r.Status == http.StatusUnprocessableEntity && r.Doc(t).Find("#add-line-form script").Length() != 0 {
			t.Fatalf("line name %q rendered as a script", lineName)
		}
	})
}

// FuzzSearch types anything into every search box of the portal: the
// subscriber search (as typed, and as HTMX asks for its results), the eSIM
// List and its CSV, and the audit log's filter. Each answers with a page, a
// refusal or a file; never with a fault. A box longer than any field may be
// (2 KiB) is refused as too large, and only such a box.
func FuzzSearch(f *testing.F) {
	for _, seed := range []string{"Priya", "ahmed.hassan@example.com", "+44 20", "ab\x00c", "\x00", `"`, `a"b`, "*", "NEAR(a b)",
		"{name}: x", "^ab", "a OR b", "\xff\xfe", "\u200b\u202e", "ab\u2028cd", "   ", "8901480070042170046", "0046", "%_\\",
		strings.Repeat("ab", 80), strings.Repeat("a", 2049)} {
		f.Add(seed)
	}
	app := portaltest.Start(f)
	lead := app.Lead(f)
	f.Fuzz(func(t *testing.T, q string) {
		v := url.QueryEscape(q)
		for _, req := range []struct {
			path    string
			headers []string
		}{
			{"/subscribers?q=" + v, nil},
			{"/subscribers?q=" + v, []string{"HX-Request", "true", "HX-Target", "results"}},
			{"/esims?q=" + v, nil},
			{"/esims.csv?q=" + v, nil},
			{"/audit?subscriber=" + v + "&iccid=" + v, nil},
			{"/audit.csv?subscriber=" + v + "&iccid=" + v, nil},
		} {
			r := lead.Get(t, req.path, req.headers...)
			switch oversized := len(q) > 2<<10; {
			case r.Status == http.StatusRequestEntityTooLarge && oversized:
			case oversized:
				t.Fatalf("GET %s: status %d, want 413 for a box longer than 2 KiB", req.path, r.Status)
			case r.Status == http.StatusOK, r.Status == http.StatusBadRequest, r.Status == http.StatusUnprocessableEntity:
			default:
				t.Fatalf("GET %s: status %d", req.path, r.Status)
			}
		}
	})
}
