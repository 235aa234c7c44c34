package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/handlers/portaltest"
)

// FuzzAddLineForm posts any line name, plan and token to Add line: the portal
// answers with the form and a message, or adds the line; never with a fault,
// and never with the line name as markup.
func FuzzAddLineForm(f *testing.F) {
	f.Add("France", "1", "tok")
	f.Add("", "", "")
	f.Add("<script>alert(1)</script>", "7", "")
	f.Add(strings.Repeat("x", 41), "-1", "a")
	f.Add("Japan", "99999999999999999999", "")
	f.Add("\x00\xff", "1e3", "")
	app := portaltest.Start(f)
	c := app.Agent(f)
	sub := app.Subscriber(f, "AC-100358")
	path := fmt.Sprintf("/subscribers/%d/lines", sub.ID)
	csrf := c.CSRFToken(f, "/subscribers")
	f.Fuzz(func(t *testing.T, lineName, plan, token string) {
		form := url.Values{"_csrf": {csrf}, "line_name": {lineName}, "plan": {plan}, "token": {token}}
		r := c.Post(t, path, form, "HX-Request", "true")
		switch r.Status {
		case http.StatusOK, http.StatusUnprocessableEntity, http.StatusNotFound:
		default:
			t.Fatalf("line %q plan %q: status %d", lineName, plan, r.Status)
		}
		if r.Status == http.StatusUnprocessableEntity && r.Doc(t).Find("#add-line-form script").Length() != 0 {
			t.Fatalf("line name %q rendered as a script", lineName)
		}
	})
}
