package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/carrier/esim-admin/demo"
)

// TestBrowserBillingClient: a team lead gives billing a key on Integrations,
// billing's call with it brings in a new customer, an agent finds that
// customer and gives them a travel eSIM, and the lead revokes the key, which
// stops billing's next call at once.
func TestBrowserBillingClient(t *testing.T) {
	p, ctx := signedIn(t, nil, demo.LeadEmail, demo.LeadPassword)

	do(t, ctx, "open Integrations", chromedp.Navigate(p.URL+"/integrations"), chromedp.WaitVisible(chromedp.ID("name")))
	checkPage(t, ctx, "integrations")
	do(t, ctx, "add a billing client",
		chromedp.SendKeys(chromedp.ID("name"), "Billing BSS"),
		chromedp.Click(chromedp.CSS(`input[name=scope][value=subscribers]`)),
		chromedp.Click(chromedp.CSS(`form[action="/integrations"] button[type=submit]`)),
	)
	waitVisible(t, ctx, "the new key", chromedp.CSS(`[data-testid=new-key-value]`))
	key := text(t, ctx, `[data-testid=new-key-value]`)
	checkPage(t, ctx, "integrations-new-key")

	// Billing sends a new customer with the key.
	asOf := p.Clock.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	status, body := billingPut(t, p.URL, key, "BX-77001", fmt.Sprintf(`{"name": "Ingrid Solberg", "email": "ingrid@example.com",
		"phone": "+47 912 34 567", "status": "active", "as_of": %q,
		"home_plans": [{"id": "HP-1", "name": "Unlimited All", "kind": "unlimited_all"}]}`, asOf))
	if status != http.StatusCreated {
		t.Fatalf("billing's PUT: %d %s", status, body)
	}
	signOut(t, ctx)

	// An agent finds her by the name billing gave and adds a line.
	signIn(t, ctx, p, demo.AgentEmail, demo.AgentPassword)
	do(t, ctx, "search for the new customer", chromedp.Navigate(p.URL+"/subscribers"), chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "Solberg"))
	waitVisible(t, ctx, "the search finds her", chromedp.Search(`//table[@data-testid="search-results"]//a[normalize-space()="Ingrid Solberg"]`))
	do(t, ctx, "open her profile", chromedp.Click(chromedp.Search(`//table[@data-testid="search-results"]//a[normalize-space()="Ingrid Solberg"]`)))
	waitVisible(t, ctx, "the profile", chromedp.CSS(`[data-testid=billing-source]`))
	if got := text(t, ctx, `[data-testid=billing-source]`); !strings.Contains(got, "Last changed by billing") {
		t.Errorf("the profile's Details say %q; want where the data comes from and when it last changed", got)
	}
	checkPage(t, ctx, "profile-from-billing")
	do(t, ctx, "click Add line", chromedp.Click(chromedp.CSS(`[data-testid=add-line]`)))
	waitVisible(t, ctx, "the Add line form", chromedp.CSS(`#add-line-form #line_name`))
	narrowTo(t, ctx, "add-line-form", "Japan")
	choosePlan(t, ctx, "add-line-form", "Asia 1")
	do(t, ctx, "submit Add line", chromedp.Click(chromedp.CSS(`#add-line-form button[type=submit]`)))
	waitVisible(t, ctx, "the new line", flash(`Line “Japan” added`))
	signOut(t, ctx)

	// Billing's CRM sees the new travel eSIM.
	status, body = billingGet(t, p.URL, key, "BX-77001")
	if status != http.StatusOK || !strings.Contains(body, `"line_name":"Japan"`) {
		t.Errorf("billing's GET after Add line: %d %s", status, body)
	}

	// The lead revokes the key: billing's next call is refused.
	signIn(t, ctx, p, demo.LeadEmail, demo.LeadPassword)
	do(t, ctx, "open Integrations", chromedp.Navigate(p.URL+"/integrations"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=api-clients]`)))
	if strings.Contains(eval[string](t, ctx, `document.body.innerText`), key) {
		t.Error("Integrations shows the key again")
	}
	row := `//tr[td[1][normalize-space()="Billing BSS"]]`
	do(t, ctx, "open Revoke", chromedp.Click(chromedp.Search(row+`//details/summary`)))
	checkPage(t, ctx, "integrations-revoke")
	do(t, ctx, "revoke", chromedp.Click(chromedp.Search(row+`//details//button[@type="submit"]`)))
	waitVisible(t, ctx, "the revoked message", flash(`Revoked the key of Billing BSS`))
	// The leads' list of who billing left over their allowance.
	do(t, ctx, "open Subscribers", chromedp.Navigate(p.URL+"/subscribers"), chromedp.WaitVisible(chromedp.ID("q")))
	do(t, ctx, "open Over their allowance", chromedp.Click(chromedp.CSS(`[data-testid=over-allowance-link]`)))
	waitVisible(t, ctx, "the list", chromedp.CSS(`[data-testid=over-allowance]`))
	checkPage(t, ctx, "over-allowance")
	if status, body := billingGet(t, p.URL, key, "BX-77001"); status != http.StatusUnauthorized {
		t.Errorf("billing's call after the revoke: %d %s, want 401", status, body)
	}
}

func billingPut(t *testing.T, base, key, account, body string) (int, string) {
	return billingCall(t, http.MethodPut, base+"/api/v1/subscribers/"+account, key, body)
}

func billingGet(t *testing.T, base, key, account string) (int, string) {
	return billingCall(t, http.MethodGet, base+"/api/v1/subscribers/"+account, key, "")
}

func billingCall(t *testing.T, method, url, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
