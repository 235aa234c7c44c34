package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

func TestCancelPlanFlow(t *testing.T) {
	app := portaltest.Start(t)
	agent := app.Agent(t)
	james := app.Subscriber(t, "AC-100587") // Asia: Asia 1 expired, Asia Plus active, Asia 1 queued
	line := app.Lines(t, james.ID)[0]
	queued, active := line.Plans[2], line.Plans[1]
	path := func(lp db.LinePlan) string { return fmt.Sprintf("/esims/%s/plans/%d/cancel", line.ICCID, lp.ID) }

	doc := agent.Page(t, path(queued), "HX-Request", "true")
	if got := text(doc.Find("[data-testid=cancel-plan-form] p").First()); !strings.Contains(got, "has not started") {
		t.Errorf("the confirmation says %q", got)
	}
	t.Run("EveryFieldAtOnce", func(t *testing.T) {
		r := agent.Post(t, path(queued), url.Values{"_csrf": {agent.CSRF}, "reason": {"Other"}, "note": {""}}, "HX-Request", "true")
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r.Doc(t).Find(".field-error")), "Say why in the note") {
			t.Errorf("status %d, errors %q", r.Status, text(r.Doc(t).Find(".field-error")))
		}
	})
	t.Run("AStartedPlanIs409", func(t *testing.T) {
		r := agent.Post(t, path(active), url.Values{"_csrf": {agent.CSRF}, "reason": {"Trip cancelled"}})
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "cannot be cancelled") {
			t.Errorf("status %d, want 409 saying a started plan cannot be cancelled", r.Status)
		}
	})
	t.Run("OK", func(t *testing.T) {
		r := agent.Post(t, path(queued), url.Values{"_csrf": {agent.CSRF}, "reason": {"Trip cancelled"}, "note": {"trip off"}}, "HX-Request", "true")
		if r.Status != http.StatusOK {
			t.Fatalf("status %d", r.Status)
		}
		doc := r.Doc(t)
		if got := text(doc.Find("[data-testid=line-note]")); !strings.Contains(got, "cancelled") {
			t.Errorf("note %q", got)
		}
		rows := texts(doc.Find("[data-testid=line-plan] [data-testid=plan-status]"))
		if len(rows) != 3 || !strings.HasPrefix(rows[2], "Cancelled ") || !strings.HasSuffix(rows[2], "Trip cancelled: trip off") {
			t.Errorf("plan statuses %q", rows)
		}
		if n := app.Count(t, `SELECT count(*) FROM outbox WHERE kind = 'plan_cancelled' AND esim_plan_id = ?`, queued.ID); n != 1 {
			t.Errorf("%d cancellation emails", n)
		}
	})
}

func TestReplaceESIMFlow(t *testing.T) {
	app := portaltest.Start(t)
	agent := app.Agent(t)
	kenji := app.Subscriber(t, "AC-100412") // Japan, profile 10, Japan plan active
	old := app.Lines(t, kenji.ID)[0]
	path := "/esims/" + old.ICCID + "/replace"
	if doc := agent.Page(t, path); doc.Find("[data-testid=replace-esim-form] select[name=reason]").Length() != 1 {
		t.Fatal("no Replace eSIM form")
	}
	r := agent.Post(t, path, url.Values{"_csrf": {agent.CSRF}, "reason": {"Deleted from the phone"}})
	// Without script the agent is back on the profile, where the line is.
	if want := fmt.Sprintf("/subscribers/%d", kenji.ID); r.Status != http.StatusSeeOther || r.Location() != want {
		t.Fatalf("status %d to %q, want the profile %s", r.Status, r.Location(), want)
	}
	fresh := app.Lines(t, kenji.ID)[0].ICCID
	if fresh == old.ICCID {
		t.Fatal("the line still has the old eSIM")
	}
	doc := agent.Page(t, "/esims/"+fresh)
	if got := text(doc.Find("[data-testid=replaces]")); got != old.ICCID {
		t.Errorf("the new eSIM replaces %q, want %s", got, old.ICCID)
	}
	if got := texts(doc.Find("[data-testid=line-plan] td:first-child")); len(got) != 1 || got[0] != "Japan" {
		t.Errorf("plans on the new eSIM %q, want Japan", got)
	}
	profile := agent.Page(t, fmt.Sprintf("/subscribers/%d", kenji.ID))
	if got := text(profile.Find("#line-" + fresh + " [data-testid=line-replaces]")); got != old.ICCID {
		t.Errorf("the profile's line replaces %q, want %s", got, old.ICCID)
	}
	oldDoc := agent.Page(t, "/esims/"+old.ICCID)
	if got := text(oldDoc.Find("[data-testid=replaced-by]")); got != fresh {
		t.Errorf("the old eSIM is replaced by %q, want %s", got, fresh)
	}
	if got := text(oldDoc.Find("[data-testid=esim-state]")); got != "Retired" {
		t.Errorf("the old eSIM is %q", got)
	}
	if got := texts(oldDoc.Find(`[data-testid=timeline] li[data-kind=replaced]`)); len(got) != 1 {
		t.Errorf("old timeline replaced entries %q", got)
	}
	if a := app.Lines(t, kenji.ID); len(a) != 1 || a[0].ICCID != fresh || a[0].LineName != old.LineName {
		t.Errorf("the customer's lines %+v, want one: the new eSIM under the same name", a)
	}

	t.Run("OutOfStockRefusedInline", func(t *testing.T) {
		app.Raw.Exec(`UPDATE esims SET state = 'retired' WHERE state = 'free' AND imsi_profile = 10`)
		r := agent.Post(t, "/esims/"+fresh+"/replace", url.Values{"_csrf": {agent.CSRF}, "reason": {"New or lost phone"}}, "HX-Request", "true")
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r.Doc(t).Find(".field-error")), "No free profile 10 eSIM") {
			t.Errorf("status %d, %q", r.Status, text(r.Doc(t).Find(".field-error")))
		}
		if n := app.Count(t, `SELECT count(*) FROM esims WHERE iccid = ? AND state = 'allocated'`, fresh); n != 1 {
			t.Error("the line changed after a refused replacement")
		}
	})
}

func TestRenameLineFlow(t *testing.T) {
	app := portaltest.Start(t)
	agent := app.Agent(t)
	kenji := app.Subscriber(t, "AC-100412")
	line := app.Lines(t, kenji.ID)[0]
	r := agent.Post(t, "/esims/"+line.ICCID+"/name", url.Values{"_csrf": {agent.CSRF}, "line_name": {"Tokyo"}}, "HX-Request", "true")
	if r.Status != http.StatusOK || text(r.Doc(t).Find("[data-testid=line] h3")) != "Tokyo" {
		t.Errorf("status %d, line %q", r.Status, text(r.Doc(t).Find("[data-testid=line] h3")))
	}
	r = agent.Post(t, "/esims/"+line.ICCID+"/name", url.Values{"_csrf": {agent.CSRF}, "line_name": {""}}, "HX-Request", "true")
	if r.Status != http.StatusUnprocessableEntity {
		t.Errorf("empty name: status %d", r.Status)
	}
	if n := app.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'rename_line' AND iccid = ?`, line.ICCID); n != 1 {
		t.Errorf("%d audit entries", n)
	}
}

// TestWhyNoDataOnTheProfile: every line answers Why no data? with its
// checklist, the first failure on top with the button that fixes it.
func TestWhyNoDataOnTheProfile(t *testing.T) {
	app := portaltest.Start(t)
	agent := app.Agent(t)
	for account, want := range map[string]string{
		"AC-101188": "Japan used up and nothing is queued", // Grace Thompson's Japan line
		"AC-100921": "Not installed yet",                   // Amara Okafor, QR never scanned
		"AC-100412": "All good: Japan — ",                  // Kenji Watanabe
	} {
		sub := app.Subscriber(t, account)
		doc := agent.Page(t, "/subscribers/"+strconv.FormatInt(sub.ID, 10))
		verdicts := strings.Join(texts(doc.Find("[data-testid=verdict]")), " | ")
		if !strings.Contains(verdicts, want) {
			t.Errorf("%s: verdicts %q, want %q", account, verdicts, want)
		}
	}
	// Grace's used-up Japan line: the fix is Add plan with Japan filled in.
	doc := agent.Page(t, "/subscribers/"+strconv.FormatInt(app.Subscriber(t, "AC-101188").ID, 10))
	var fixes []string
	doc.Find("[data-testid=verdict] [data-testid=fix-add-plan]").Each(func(_ int, a *goquery.Selection) {
		fixes = append(fixes, a.AttrOr("hx-get", "")+" "+text(a))
	})
	if !slices.ContainsFunc(fixes, func(s string) bool { return strings.HasSuffix(s, "/plans/new?country=Japan Add plan for Japan") }) {
		t.Errorf("fixes on Grace's lines: %q, want Add plan for Japan", fixes)
	}
}

// TestHeadlineAndChecklistAgree: on every line of the demo data, the line's
// headline says what the top of its checklist says, the top is the first
// failure (else the first check that waits), and the headline says "Using
// now" only when every check of the phone's data passed.
func TestHeadlineAndChecklistAgree(t *testing.T) {
	app := portaltest.Start(t)
	agent := app.Agent(t)
	lines, seen := 0, map[string]bool{}
	for id := 1; id <= app.Count(t, `SELECT max(id) FROM subscribers`); id++ {
		doc := agent.Page(t, "/subscribers/"+strconv.Itoa(id))
		doc.Find("[data-testid=line]").Each(func(_ int, line *goquery.Selection) {
			lines++
			name := line.AttrOr("aria-label", "?")
			head, lead := line.Find("[data-testid=line-now]"), line.Find("[data-testid=verdict]")
			key, result := head.AttrOr("data-check", ""), head.AttrOr("data-result", "")
			seen[key+" "+result] = true
			if key != lead.AttrOr("data-check", "") || result != lead.AttrOr("data-result", "") {
				t.Errorf("subscriber %d, %s: the headline is about %s %s, the checklist's top about %s %s", id, name,
					key, result, lead.AttrOr("data-check", ""), lead.AttrOr("data-result", ""))
			}
			var results []string
			first := ""
			line.Find("[data-testid=check]").Each(func(_ int, c *goquery.Selection) {
				results = append(results, c.AttrOr("data-result", ""))
				if c.AttrOr("data-check", "") == key {
					// An empty evidence would be in any headline: it fails too.
					if says := text(c.Find(".check-evidence")); says == "" || !strings.Contains(text(head), strings.SplitN(says, " · ", 2)[0]) {
						t.Errorf("subscriber %d, %s: the headline %q does not say the check's %q", id, name, text(head), says)
					}
				}
			})
			for _, want := range []string{rules.CheckFailed, rules.CheckWaiting} {
				if i := slices.Index(results, want); i >= 0 && first == "" {
					first = line.Find("[data-testid=check]").Eq(i).AttrOr("data-check", "")
				}
			}
			if len(results) != 6 {
				t.Errorf("subscriber %d, %s: %d checks, want 6", id, name, len(results))
			}
			// The line's install status says what the Installed check says.
			installed := line.Find(`[data-testid=check][data-check="`+rules.CheckInstalled+`"]`).AttrOr("data-result", "")
			status := text(line.Find("[data-testid=install-status]"))
			if installed == rules.CheckPassed && strings.HasPrefix(status, "Not installed") {
				t.Errorf("subscriber %d, %s: the install status %q, the Installed check %s", id, name, status, installed)
			}
			if strings.HasPrefix(status, "Connected in ") && installed == rules.CheckPassed {
				seen["installed by a network's report"] = true
			}
			if first != "" && first != key {
				t.Errorf("subscriber %d, %s: the first failure is %s, the top %s", id, name, first, key)
			}
			// Data with no plan (the last check) is the network's fault: the phone has data.
			usingNow := strings.HasPrefix(text(head), "Using now: ")
			allPassed := !slices.ContainsFunc(results[:min(5, len(results))], func(r string) bool { return r != rules.CheckPassed })
			if usingNow != allPassed {
				t.Errorf("subscriber %d, %s: the headline %q, checks %v", id, name, text(head), results)
			}
		})
	}
	if lines < 10 {
		t.Fatalf("only %d lines in the demo data", lines)
	}
	// The demo data has lines in each of these states, so the test covers them.
	for _, want := range []string{"plan passed", "plan failed", "on failed", "installed failed", "installed by a network's report"} {
		if !seen[want] {
			t.Errorf("no demo line shows %s; seen %v", want, seen)
		}
	}
}

// TestSearchByWhatTheCustomerReadsOut: an ICCID or its last digits, an order
// number and a phone number in any format each find the customer, and a
// submitted search with one match opens their profile.
func TestSearchByWhatTheCustomerReadsOut(t *testing.T) {
	app := portaltest.Start(t)
	agent := app.Agent(t)
	kenji := app.Subscriber(t, "AC-100412")
	line := app.Lines(t, kenji.ID)[0]
	order := line.Plans[0].OrderNumber
	year, serial, _ := strings.Cut(strings.TrimPrefix(order, "ORD-"), "-")
	n, _ := strconv.Atoi(serial)
	digits := strings.NewReplacer(" ", "", "+", "", "-", "").Replace(kenji.Phone)
	for _, q := range []string{
		line.ICCID, line.ICCID[len(line.ICCID)-6:], order, strings.ToLower(order), fmt.Sprintf("ord %s %d", year, n),
		kenji.Phone, "00" + digits, digits[:3] + "-" + digits[3:6] + "." + digits[6:],
	} {
		found := texts(agent.Page(t, "/subscribers?q="+url.QueryEscape(q)).Find("#results [data-testid=result] a, #results a"))
		if !slices.ContainsFunc(found, func(s string) bool { return strings.Contains(s, kenji.Name) }) {
			t.Errorf("%q finds %q, want %s", q, found, kenji.Name)
		}
	}
	r := agent.Get(t, "/subscribers?go=1&q="+url.QueryEscape(order))
	if r.Status != http.StatusSeeOther || r.Location() != "/subscribers/"+strconv.FormatInt(kenji.ID, 10) {
		t.Errorf("a submitted search with one match: %d to %q, want the profile", r.Status, r.Location())
	}
}

func TestEmptySearchShowsRecentlyOpened(t *testing.T) {
	app := portaltest.Start(t)
	agent := app.Agent(t)
	for _, account := range []string{"AC-100412", "AC-100231", "AC-100412"} {
		agent.Page(t, "/subscribers/"+strconv.FormatInt(app.Subscriber(t, account).ID, 10))
	}
	got := texts(agent.Page(t, "/subscribers").Find("[data-testid=search-results] tbody td:first-child"))
	if want := []string{"Kenji Watanabe", "María García"}; !slices.Equal(got, want) {
		t.Errorf("the empty search shows %q, want %q: the last opened first", got, want)
	}
	if other := texts(app.Lead(t).Page(t, "/subscribers").Find("[data-testid=search-results] tbody td:first-child")); len(other) != 0 {
		t.Errorf("another login sees %q, want none of the agent's", other)
	}
}

// TestReplaceESIMInPlace: Replace eSIM from the profile answers with the
// eSIMs panel, the line now on its new eSIM with a note, and the Emails
// panel out of band; from the old eSIM's own page it goes to the new eSIM's.
func TestReplaceESIMInPlace(t *testing.T) {
	app := portaltest.Start(t)
	agent := app.Agent(t)
	priya := app.Subscriber(t, "AC-100358")
	profile := fmt.Sprintf("%s/subscribers/%d", app.URL, priya.ID)
	old := app.Lines(t, priya.ID)[0]
	r := agent.Post(t, "/esims/"+old.ICCID+"/replace", url.Values{"_csrf": {agent.CSRF}, "reason": {"New or lost phone"}},
		"HX-Request", "true", "HX-Current-URL", profile)
	if r.Status != http.StatusOK || r.Header.Get("HX-Retarget") != "#esims" || r.Header.Get("HX-Redirect") != "" {
		t.Fatalf("status %d, retarget %q, redirect %q; want the line swapped in place", r.Status, r.Header.Get("HX-Retarget"), r.Header.Get("HX-Redirect"))
	}
	fresh := app.Lines(t, priya.ID)[0]
	doc := r.Doc(t)
	if got := text(doc.Find("#line-" + fresh.ICCID + " [data-testid=line-note]")); !strings.Contains(got, "now has eSIM "+fresh.ICCID) {
		t.Errorf("the line's note %q", got)
	}
	if doc.Find("#line-"+old.ICCID).Length() != 0 {
		t.Error("the old eSIM is still a line")
	}
	if doc.Find("#emails[hx-swap-oob=true]").Length() != 1 || doc.Find("#esims #emails").Length() != 0 {
		t.Error("the Emails panel is not swapped out of band")
	}

	r = agent.Post(t, "/esims/"+fresh.ICCID+"/replace", url.Values{"_csrf": {agent.CSRF}, "reason": {"New or lost phone"}},
		"HX-Request", "true", "HX-Current-URL", app.URL+"/esims/"+fresh.ICCID)
	if next := app.Lines(t, priya.ID)[0]; r.Header.Get("HX-Redirect") != "/esims/"+next.ICCID {
		t.Errorf("from the eSIM's page: redirect %q, want the new eSIM's page", r.Header.Get("HX-Redirect"))
	}
}

// TestLineToolsFollowTheAccount: a line offers the tools its holder's
// account allows, on the profile and on the eSIM page, keys included: all
// of them while the account is active, all but a new plan while billing has
// it suspended, none once it is closed (read-only history, and it says so),
// but Why no data?, which reads the line, and Cancel a plan, which the store
// leaves open for a refund.
func TestLineToolsFollowTheAccount(t *testing.T) {
	app := portaltest.Start(t)
	agent := app.Agent(t)
	const (
		change  = `[data-testid=resend-qr], [data-testid=replace-esim], [data-testid=rename-line], [data-testid=fix-resend-qr], [data-testid=fix-replace-esim]`
		newPlan = `[data-testid=add-plan], [data-testid=fix-add-plan]`
	)
	for _, tc := range []struct {
		name, account, status string
		change, newPlan       bool
		keys                  string // of each line's tools, in page order
	}{
		// Ahmed Hassan: a queued plan on his Canada line to cancel.
		{"active", "AC-100719", "", true, true, "r p w e n"},
		{"suspended", "AC-100719", db.StatusSuspended, true, false, "r w e n"},
		{"closed", "AC-100719", db.StatusClosed, false, false, "w"},
		// Noah Williams, closed by billing in the demo.
		{"closed in the demo", "AC-101045", "", false, false, "w"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status != "" {
				if _, err := app.Raw.Exec(`UPDATE subscribers SET status = ? WHERE account_number = ?`, tc.status, tc.account); err != nil {
					t.Fatal(err)
				}
			}
			sub := app.Subscriber(t, tc.account)
			queued := 0
			for _, l := range app.Lines(t, sub.ID) {
				for _, lp := range l.Plans {
					if lp.State == db.PlanQueued {
						queued++
					}
				}
			}
			if tc.account == "AC-100719" && queued == 0 {
				t.Fatal("Ahmed Hassan has no queued plan: Cancel is not tested")
			}
			pages := []string{fmt.Sprintf("/subscribers/%d", sub.ID)}
			for _, l := range app.Lines(t, sub.ID) {
				pages = append(pages, "/esims/"+l.ICCID)
			}
			cancels := 0
			for i, page := range pages {
				lines := agent.Page(t, page).Find("[data-testid=line]")
				if lines.Length() == 0 {
					t.Fatalf("%s: no line", page)
				}
				if got := lines.Find(change).Length() > 0; got != tc.change {
					t.Errorf("%s: Resend, Replace or Rename offered: %v, want %v", page, got, tc.change)
				}
				if got := lines.Find(newPlan).Length() > 0; got != tc.newPlan {
					t.Errorf("%s: Add plan offered: %v, want %v", page, got, tc.newPlan)
				}
				lines.Each(func(_ int, line *goquery.Selection) {
					var keys []string
					line.Find("[data-line-key]").Each(func(_ int, c *goquery.Selection) { keys = append(keys, c.AttrOr("data-line-key", "")) })
					if got := strings.Join(keys, " "); got != tc.keys {
						t.Errorf("%s: the line's keys %q, want %q", page, got, tc.keys)
					}
				})
				if got := lines.Find("[data-testid=line-read-only]").Length() > 0; got == tc.change {
					t.Errorf("%s: says read-only: %v", page, got)
				}
				if i > 0 { // the eSIM pages: each plan once
					cancels += lines.Find("[data-testid=cancel-plan]").Length()
				}
			}
			if cancels != queued {
				t.Errorf("Cancel offered %d times on the eSIM pages, want once for each of the %d queued plans", cancels, queued)
			}
		})
	}
}
