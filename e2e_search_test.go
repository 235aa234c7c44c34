package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/carrier/esim-admin/demo"
)

// TestBrowserSearchKeysAndExactMatch: on the search page `/` goes to the box
// and never types a slash, whether or not the box has the focus; a whole
// ICCID typed live stands above the results without leaving the page, and
// Enter opens the customer's profile.
func TestBrowserSearchKeysAndExactMatch(t *testing.T) {
	t.Parallel()
	p, ctx := signedIn(t, nil, demo.AgentEmail, demo.AgentPassword)
	kenji := p.Subscriber(t, "AC-100412")
	iccid := p.Lines(t, kenji.ID)[0].ICCID

	// The box is not focused: `/` focuses it, and types nothing.
	eval[chromedp.Void](t, ctx, `document.getElementById('q').blur()`)
	press(t, ctx, "press / away from the box", "/")
	waitFocus(t, ctx, "after /", "#q")
	if got := eval[string](t, ctx, `document.getElementById('q').value`); got != "" {
		t.Errorf("/ away from the box left %q in it, want nothing", got)
	}
	// The box has the focus and a search: `/` selects it, so the next
	// search replaces it, and types nothing.
	typeInto(t, ctx, "q", "Watan")
	press(t, ctx, "press / in the box", "/")
	if got := eval[string](t, ctx, `(q => q.value + '|' + q.value.slice(q.selectionStart, q.selectionEnd))(document.getElementById('q'))`); got != "Watan|Watan" {
		t.Errorf("/ in the box: value|selection %q, want Watan|Watan", got)
	}

	// A whole ICCID, typed live: the page stays, the match stands out.
	markPage(t, ctx)
	typeInto(t, ctx, "q", iccid)
	waitUntil(t, ctx, "the exact match shows", `(b => b && b.textContent.includes(`+strconv.Quote(iccid)+`))(document.querySelector('[data-testid=exact-match]'))`)
	samePage(t, ctx, "the live search of an ICCID")
	if got := text(t, ctx, `[data-testid=search-results] [data-testid=matched] mark`); got != iccid {
		t.Errorf("the row highlights %q, want the ICCID %s", got, iccid)
	}
	checkPage(t, ctx, "search-exact-match")

	// Enter submits it: the profile opens.
	eval[chromedp.Void](t, ctx, `document.getElementById('q').focus()`)
	press(t, ctx, "press Enter in the box", kb.Enter)
	do(t, ctx, "the profile opens", chromedp.WaitVisible(chromedp.CSS(`[data-testid=subscriber-name]`)))
	if got := text(t, ctx, `[data-testid=subscriber-name]`); got != kenji.Name {
		t.Errorf("Enter on a whole ICCID opened %q, want %s", got, kenji.Name)
	}
	if u := location(t, ctx); u.Path != "/subscribers/"+strconv.FormatInt(kenji.ID, 10) {
		t.Errorf("Enter on a whole ICCID went to %s, want %s's profile", u, kenji.Name)
	}

	// Sofia Rossi's line was replaced: the retired eSIM's page says whose
	// line it was.
	sofia := p.Subscriber(t, "AC-100644")
	old := p.Lines(t, sofia.ID)[0].Replaces
	if old == "" {
		t.Fatal("Sofia Rossi's line replaces no eSIM in the demo data")
	}
	do(t, ctx, "open the retired eSIM", chromedp.Navigate(p.URL+"/esims/"+old), chromedp.WaitVisible(chromedp.CSS(`[data-testid=former-line]`)))
	if got := text(t, ctx, `[data-testid=former-line]`); !strings.Contains(got, sofia.Name) {
		t.Errorf("the retired eSIM's page says %q, want Sofia Rossi's line", got)
	}
	checkPage(t, ctx, "retired-esim")
}
