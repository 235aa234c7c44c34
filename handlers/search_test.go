package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/handlers/portaltest"
)

// matchedOf is what the results say matched, for the subscriber named: the
// Matched cell's text and its highlighted part.
func matchedOf(doc *goquery.Document, name string) (cell, marked string) {
	doc.Find("[data-testid=search-results] tbody tr").Each(func(_ int, row *goquery.Selection) {
		if text(row.Find("td:first-child a")) == name {
			cell, marked = text(row.Find("[data-testid=matched]")), text(row.Find("[data-testid=matched] mark"))
		}
	})
	return cell, marked
}

// TestSearchExactMatch: a whole ICCID, account number or order number, or an
// order's serial alone, that is one customer's opens their profile when the
// search is submitted, and stands above the results in the live search; each
// row says what matched.
func TestSearchExactMatch(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent := app.Agent(t)
	kenji := app.Subscriber(t, "AC-100412")
	line := app.Lines(t, kenji.ID)[0]
	order := line.Plans[0].OrderNumber
	serial := order[strings.LastIndexByte(order, '-')+1:]
	profile := "/subscribers/" + strconv.FormatInt(kenji.ID, 10)

	for _, tc := range []struct {
		name, q, matched, marked string
	}{
		{"ICCID", line.ICCID, "ICCID " + line.ICCID, line.ICCID},
		{"AccountNumber", kenji.AccountNumber, "Account number " + kenji.AccountNumber, kenji.AccountNumber},
		{"AccountNumberLowerCase", strings.ToLower(kenji.AccountNumber), "Account number " + kenji.AccountNumber, kenji.AccountNumber},
		{"OrderNumber", order, "Order " + order, order},
		{"OrderSerialAlone", serial, "Order " + order, serial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := agent.Get(t, "/subscribers?go=1&q="+url.QueryEscape(tc.q))
			if r.Status != http.StatusSeeOther || r.Location() != profile {
				t.Errorf("submitted: %d to %q, want %s", r.Status, r.Location(), profile)
			}
			r = agent.Get(t, "/subscribers?go=1&q="+url.QueryEscape(tc.q), "HX-Request", "true", "HX-Target", "results")
			if got := r.Header.Get("HX-Redirect"); got != profile {
				t.Errorf("submitted from the page: HX-Redirect %q, want %s", got, profile)
			}
			// Typed live: the page stays, the match stands above the list.
			r = agent.Get(t, "/subscribers?q="+url.QueryEscape(tc.q), "HX-Request", "true", "HX-Target", "results")
			if r.Status != http.StatusOK {
				t.Fatalf("live: status %d", r.Status)
			}
			doc := r.Doc(t)
			exact := doc.Find("[data-testid=exact-match]")
			if got := exact.Find("[data-testid=exact-match-open]").AttrOr("href", ""); got != profile {
				t.Errorf("live: the exact match opens %q, want %s (box %q)", got, profile, text(exact))
			}
			cell, marked := matchedOf(doc, kenji.Name)
			if cell != tc.matched || marked != tc.marked {
				t.Errorf("matched %q with %q highlighted, want %q with %q", cell, marked, tc.matched, tc.marked)
			}
		})
	}
	t.Run("PartOfAnICCIDIsNotExact", func(t *testing.T) {
		last := line.ICCID[len(line.ICCID)-6:]
		r := agent.Get(t, "/subscribers?q="+url.QueryEscape(last), "HX-Request", "true", "HX-Target", "results")
		doc := r.Doc(t)
		if n := doc.Find("[data-testid=exact-match]").Length(); n != 0 {
			t.Errorf("the last digits of an ICCID show an exact match: %q", text(doc.Find("[data-testid=exact-match]")))
		}
		if cell, marked := matchedOf(doc, kenji.Name); cell != "ICCID "+line.ICCID || marked != last {
			t.Errorf("matched %q with %q highlighted, want the ICCID with %q", cell, marked, last)
		}
	})
	t.Run("NameSaysName", func(t *testing.T) {
		doc := agent.Page(t, "/subscribers?q=Watan")
		if cell, marked := matchedOf(doc, kenji.Name); cell != "Name "+kenji.Name || marked != "Watan" {
			t.Errorf("matched %q with %q highlighted, want the name with Watan", cell, marked)
		}
	})
}

// TestSearchFourDigitsSaysWhichLine: the last digits of an ICCID that are
// also in others' details list each subscriber with what of theirs matched,
// so the agent tells the line from the rest.
func TestSearchFourDigitsSaysWhichLine(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent := app.Agent(t)
	sofia := app.Subscriber(t, "AC-100644")
	line := app.Lines(t, sofia.ID)[0]
	last4 := line.ICCID[len(line.ICCID)-4:]
	doc := agent.Page(t, "/subscribers?q="+last4)
	if cell, marked := matchedOf(doc, sofia.Name); cell != "ICCID "+line.ICCID || marked != last4 {
		t.Errorf("Sofia Rossi: matched %q with %q highlighted, want her ICCID with %q", cell, marked, last4)
	}
	doc.Find("[data-testid=search-results] tbody tr").Each(func(_ int, row *goquery.Selection) {
		if text(row.Find("[data-testid=matched]")) == "" {
			t.Errorf("%s: the row does not say what matched", text(row.Find("td:first-child a")))
		}
	})
}

// TestSearchFindsTheOrderOfAReplacedESIM: an order cancelled on an eSIM that
// Replace eSIM later retired stays on the retired eSIM; its number still
// finds the customer, and the retired eSIM's page says whose line it was.
func TestSearchFindsTheOrderOfAReplacedESIM(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent := app.Agent(t)
	james := app.Subscriber(t, "AC-100587") // Asia: Asia 1 expired, Asia Plus active, Asia 1 queued
	old := app.Lines(t, james.ID)[0]
	queued := old.Plans[2]
	r := agent.Post(t, fmt.Sprintf("/esims/%s/plans/%d/cancel", old.ICCID, queued.ID),
		url.Values{"_csrf": {agent.CSRF}, "reason": {"Trip cancelled"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("cancel: status %d", r.Status)
	}
	r = agent.Post(t, "/esims/"+old.ICCID+"/replace", url.Values{"_csrf": {agent.CSRF}, "reason": {"New or lost phone"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("replace: status %d", r.Status)
	}
	fresh := app.Lines(t, james.ID)[0]
	if fresh.ICCID == old.ICCID {
		t.Fatal("the line kept its eSIM")
	}
	if n := app.Count(t, `SELECT count(*) FROM esim_plans WHERE order_number = ? AND iccid = ?`, queued.OrderNumber, old.ICCID); n != 1 {
		t.Fatalf("the cancelled order is not on the retired eSIM (%d): the test sets up nothing", n)
	}
	profile := "/subscribers/" + strconv.FormatInt(james.ID, 10)
	for _, q := range []string{queued.OrderNumber, old.ICCID} {
		r = agent.Get(t, "/subscribers?go=1&q="+url.QueryEscape(q))
		if r.Status != http.StatusSeeOther || r.Location() != profile {
			t.Errorf("%s: %d to %q, want James O'Connor's profile", q, r.Status, r.Location())
		}
		doc := agent.Page(t, "/subscribers?q="+url.QueryEscape(q))
		if cell, _ := matchedOf(doc, james.Name); !strings.Contains(cell, q) {
			t.Errorf("%s: James O'Connor's row says %q matched", q, cell)
		}
	}
	page := agent.Page(t, "/esims/"+old.ICCID)
	former := page.Find("[data-testid=former-line]")
	if got := former.Find("a").First().AttrOr("href", ""); got != profile || !strings.Contains(text(former), james.Name) ||
		!strings.Contains(text(former), fresh.LineName) || !strings.Contains(text(former), fresh.ICCID) {
		t.Errorf("the retired eSIM's page says %q (link %q), want James O'Connor's line %q, now on %s", text(former), got, fresh.LineName, fresh.ICCID)
	}
	if state := text(page.Find("[data-testid=esim-state]")); !strings.Contains(state, "etired") {
		t.Errorf("the old eSIM is %q", state)
	}
}
