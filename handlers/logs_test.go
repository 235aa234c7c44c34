package handlers_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// TestLogCarriesNoCustomerData does what puts customer data within the
// log's reach: searches by email, name and phone, addresses that carry an
// email, a mail server that refuses a customer's address and quotes it, the
// network API with its token. The log says what happened, by route, with no
// query value and no address; portaltest checks every line of it against
// the database when the test ends, as it does for every test.
func TestLogCarriesNoCustomerData(t *testing.T) {
	mail := smtptest.Start(t)
	app := portaltest.StartWith(t, portaltest.Options{Mail: mail, Configure: func(h *handlers.Handlers) { h.APIToken = testAPIToken }})
	agent := app.Agent(t)
	sub := app.Subscriber(t, "AC-100697")
	for _, q := range []string{sub.Email, sub.Name, sub.Phone, strings.ToUpper(sub.Email)} {
		agent.Get(t, "/subscribers?q="+url.QueryEscape(q))
		agent.Get(t, "/esims?q="+url.QueryEscape(q))
	}
	agent.Get(t, "/subscribers/"+url.PathEscape(sub.Email))
	agent.Get(t, "/login?next="+url.QueryEscape("/subscribers?q="+sub.Email))

	mail.RejectRecipient(sub.Email)
	r := agent.Post(t, fmt.Sprintf("/subscribers/%d/lines", sub.ID), addLineForm(t, agent, sub.ID, "Portugal", app.Plan(t, "Euro 1").ID))
	addedLine(t, app, r, sub.ID, "Portugal")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(app.Log(), "email failed for good") {
		if time.Now().After(deadline) {
			t.Fatalf("the refused emails were not logged:\n%s", app.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var reason string
	app.Raw.QueryRow(`SELECT last_error FROM outbox WHERE to_address = ? AND state = 'failed'`, sub.Email).Scan(&reason)
	if !strings.Contains(reason, sub.Email) {
		t.Errorf("the refusal kept on the email for agents reads %q; want the server's words, address and all", reason)
	}
	apiPost(t, nil, app.URL, "/api/v1/attach", "Bearer "+testAPIToken, `{"iccid": "1"}`)
	apiPost(t, nil, app.URL, "/api/v1/attach", "Bearer wrong-"+testAPIToken, `{"iccid": "1"}`)

	log := app.Log()
	for _, want := range []string{
		"route=/subscribers uri=\"/subscribers?q=_\"", // what was searched for, without what
		"route=/esims uri=\"/esims?q=_\"",
		"uri=/subscribers/[address]",
		"route=/login uri=\"/login?next=_\"",
		"[address]>: Recipient address rejected",
		"route=/api/v1/attach",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log has no %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, demo.AgentPassword) {
		t.Errorf("the log carries a password")
	}
}
