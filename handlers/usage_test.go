package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

func usage(t *testing.T, app *portaltest.Portal, body string) apiCall {
	t.Helper()
	return apiPost(t, nil, app.URL, "/api/v1/usage", "Bearer "+testAPIToken, body)
}

// usageBody is a request with the records given as JSON objects.
func usageBody(records ...string) string {
	return `{"records": [` + strings.Join(records, ", ") + `]}`
}

func usageRecordJSON(id, iccid, where string, bytes int64, start, end time.Time) string {
	return fmt.Sprintf(`{"id": %q, "iccid": %q, %s, "bytes": %d, "start": %q, "end": %q}`,
		id, iccid, where, bytes, start.Format(time.RFC3339), end.Format(time.RFC3339))
}

func TestAPIUsage(t *testing.T) {
	app := newAPIApp(t, false)
	line := demoLine(t, app, pendingEurope) // Euro 1, 1 GB, queued
	now := app.Clock.Now().Truncate(time.Second)
	data := line.Plans[0].DataBytes

	t.Run("StartsAndCharges", func(t *testing.T) {
		r := usage(t, app, usageBody(usageRecordJSON("cdr-1", line.ICCID, `"mcc": "208"`, 50*db.BytesPerMB, now.Add(-2*time.Hour), now.Add(-2*time.Hour+15*time.Minute))))
		if r.Status != http.StatusOK {
			t.Fatalf("status %d: %v", r.Status, r.JSON)
		}
		rec := r.JSON["records"].([]any)[0].(map[string]any)
		charged := rec["charged"].([]any)
		if len(charged) != 1 || charged[0].(map[string]any)["order_number"] != line.Plans[0].OrderNumber ||
			charged[0].(map[string]any)["bytes"] != float64(50*db.BytesPerMB) {
			t.Errorf("charged = %v, want 50 MB on %s", charged, line.Plans[0].OrderNumber)
		}
		if started := rec["started"].([]any); len(started) != 1 || rec["country"] != "FR" || rec["duplicate"] != false {
			t.Errorf("record = %v, want the plan started in FR", rec)
		}
	})
	t.Run("Duplicate", func(t *testing.T) {
		r := usage(t, app, usageBody(usageRecordJSON("cdr-1", line.ICCID, `"country": "FR"`, 999, now, now)))
		rec := r.JSON["records"].([]any)[0].(map[string]any)
		if r.Status != http.StatusOK || rec["duplicate"] != true || len(rec["charged"].([]any)) != 0 {
			t.Errorf("answer = %d %v, want a duplicate that changed nothing", r.Status, rec)
		}
	})
	t.Run("UsedUpWithTheRestUncovered", func(t *testing.T) {
		left := data - 50*db.BytesPerMB
		r := usage(t, app, usageBody(usageRecordJSON("cdr-2", line.ICCID, `"country": "DE"`, left+7, now.Add(-time.Hour), now.Add(-time.Hour))))
		rec := r.JSON["records"].([]any)[0].(map[string]any)
		usedUp := rec["used_up"].([]any)
		if r.Status != http.StatusOK || len(usedUp) != 1 || rec["uncovered_bytes"] != float64(7) || rec["reason"] == "" {
			t.Errorf("answer = %d %v, want the plan used up and 7 bytes uncovered", r.Status, rec)
		}
		if err := app.Store.CheckUsage(t.Context()); err != nil {
			t.Error(err)
		}
	})
	t.Run("InOrder", func(t *testing.T) {
		r := usage(t, app, usageBody(
			usageRecordJSON("cdr-3", line.ICCID, `"country": "JP"`, 1, now, now),
			usageRecordJSON("cdr-2", line.ICCID, `"country": "DE"`, 1, now, now)))
		recs := r.JSON["records"].([]any)
		if len(recs) != 2 || recs[0].(map[string]any)["id"] != "cdr-3" || recs[1].(map[string]any)["duplicate"] != true {
			t.Errorf("records = %v, want one answer per record, in their order", recs)
		}
	})
}

// TestAPIUsageErrors: one bad record refuses the whole batch, and the answer
// lists every bad record by its index.
func TestAPIUsageErrors(t *testing.T) {
	app := newAPIApp(t, false)
	line := demoLine(t, app, pendingEurope)
	now := app.Clock.Now().Truncate(time.Second)
	unknown := "8901480990000000001"
	unknown = unknown[:18] + string(db.LuhnDigit(unknown[:18]))
	rec := func(id string, change func(m map[string]any)) string {
		m := map[string]any{"id": id, "iccid": line.ICCID, "mcc": "208", "bytes": 1000,
			"start": now.Add(-time.Hour).Format(time.RFC3339), "end": now.Add(-time.Hour + time.Minute).Format(time.RFC3339)}
		if change != nil {
			change(m)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	body := usageBody(
		rec("ok", nil),
		rec("r1", func(m map[string]any) { m["iccid"] = unknown }),
		rec("r2", func(m map[string]any) { m["bytes"] = -5 }),
		rec("r3", func(m map[string]any) { m["bytes"] = int64(2_000_000_000_000) }),
		rec("r4", func(m map[string]any) { m["end"] = now.Add(-2 * time.Hour).Format(time.RFC3339) }),
		rec("r5", func(m map[string]any) { m["start"] = now.Add(-30 * time.Hour).Format(time.RFC3339) }),
		rec("r6", func(m map[string]any) { m["end"] = "2026-12-01T08:30:00" }),
		rec("r7", func(m map[string]any) { m["end"] = now.Add(time.Hour).Format(time.RFC3339) }),
		rec("r8", func(m map[string]any) { m["mcc"] = "999" }),
		rec("r9", func(m map[string]any) { delete(m, "mcc"); m["country"] = "QQ" }),
		rec("r10", func(m map[string]any) { m["bytesUsed"] = 1 }),
		rec("r11", func(m map[string]any) { m["bytes"] = "many" }),
	)
	r := usage(t, app, body)
	if r.Status != http.StatusBadRequest {
		t.Fatalf("status %d: %v", r.Status, r.JSON)
	}
	got := map[string]string{}
	for _, e := range r.JSON["errors"].([]any) {
		e := e.(map[string]any)
		got[e["field"].(string)] = e["message"].(string)
	}
	for field, says := range map[string]string{
		"records[1].iccid": "no eSIM", "records[2].bytes": "negative", "records[3].bytes": "1 TB",
		"records[4].end": "before start", "records[5].end": "24 hours", "records[6].end": "RFC 3339",
		"records[7].end": "future", "records[8].mcc": "unknown mobile country code", "records[9].country": "unknown country",
		"records[10]": `unknown field "bytesUsed"`, "records[11]": "bytes must be a whole number",
	} {
		if !strings.Contains(got[field], says) {
			t.Errorf("%s: %q, want it to say %q", field, got[field], says)
		}
	}
	if len(got) != 11 {
		t.Errorf("%d errors, want 11 (the good record has none): %v", len(got), got)
	}
	if n := app.Count(t, `SELECT count(*) FROM usage_records WHERE record_id NOT GLOB 'demo-*'`); n != 0 {
		t.Errorf("%d records recorded from a refused batch", n)
	}

	t.Run("OverAThousandRecords", func(t *testing.T) {
		recs := make([]string, db.MaxUsageRecords+1)
		for i := range recs {
			recs[i] = rec(fmt.Sprint("big-", i), nil)
		}
		r := usage(t, app, usageBody(recs...))
		if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.JSON["error"].(string), "at most 1000") {
			t.Errorf("answer = %d %v, want 413", r.Status, r.JSON)
		}
	})
	t.Run("AThousandRecordsFit", func(t *testing.T) {
		recs := make([]string, db.MaxUsageRecords)
		for i := range recs {
			recs[i] = rec(fmt.Sprint("fit-", i), func(m map[string]any) { m["bytes"] = 1 })
		}
		if r := usage(t, app, usageBody(recs...)); r.Status != http.StatusOK {
			t.Errorf("status %d: %v", r.Status, r.JSON["error"])
		}
	})
}

// TestLineShowsItsData: after usage, the profile's line card and the eSIM
// page say, in words, how much each plan has used, what the phone uses now,
// when a plan ran out, and what took over; the timeline has a day's use.
func TestLineShowsItsData(t *testing.T) {
	app := newAPIApp(t, true)
	agent := app.Agent(t)
	line := demoLine(t, app, pendingEurope) // Euro 1, 1 GB, queued
	sub := app.Subscriber(t, pendingEurope)
	now := app.Clock.Now().Truncate(time.Second)
	rowTexts := func(doc interface {
		Find(string) *goquery.Selection
	}) []string {
		var out []string
		doc.Find(`#line-` + line.ICCID + ` [data-testid=line-plan]`).Each(func(_ int, tr *goquery.Selection) {
			out = append(out, text(tr.Find("[data-testid=plan-data]"))+" | "+text(tr.Find("[data-testid=plan-status]")))
		})
		return out
	}

	usage(t, app, usageBody(usageRecordJSON("d-1", line.ICCID, `"country": "FR"`, 620*db.BytesPerMB, now.Add(-3*time.Hour), now.Add(-2*time.Hour))))
	doc := agent.Page(t, fmt.Sprintf("/subscribers/%d", sub.ID))
	if got := rowTexts(doc); len(got) != 1 || !strings.HasPrefix(got[0], "620 MB of 1 GB used · 380 MB left | 30 days left") {
		t.Errorf("plan rows = %q, want 620 MB of 1 GB used and 30 days left", got)
	}
	if got := text(doc.Find(`#line-` + line.ICCID + ` [data-testid=line-now]`)); got != "Using now: Euro 1 — 380 MB left, 30 days left" {
		t.Errorf("line says %q", got)
	}
	if doc.Find(`#line-`+line.ICCID+` svg.databar`).Length() != 1 {
		t.Error("no data bar for the active plan")
	}

	// The lead simulates a top-up's worth of use: Euro 1 runs out, nothing is queued.
	lead := app.Lead(t)
	path := "/esims/" + line.ICCID
	form := url.Values{"_csrf": {lead.CSRFToken(t, path)}, "mb": {"500"}, "country": {"DE"}}
	if r := lead.Post(t, path+"/simulate-usage", form); r.Status != http.StatusSeeOther {
		t.Fatalf("simulate usage: status %d", r.Status)
	}
	doc = lead.Page(t, path)
	if got := text(doc.Find(`[role="status"]`).First()); !strings.Contains(got, "Euro 1 is used up") || !strings.Contains(got, "120 MB uncovered") {
		t.Errorf("flash = %q, want Euro 1 used up and 120 MB uncovered", got)
	}
	if got := rowTexts(doc); len(got) != 1 || !strings.HasPrefix(got[0], "1 GB of 1 GB used | Data used up ") {
		t.Errorf("plan rows = %q, want used up", got)
	}
	if got := text(doc.Find(`[data-testid=line-now]`)); !strings.HasPrefix(got, "No data: Euro 1 used up ") || !strings.HasSuffix(got, "— Add plan for Germany") {
		t.Errorf("line says %q, want no data and Add plan", got)
	}
	if got := text(doc.Find(`[data-testid=uncovered]`)); !strings.HasPrefix(got, "120 MB used with no plan") {
		t.Errorf("uncovered = %q", got)
	}
	var usageDays []string
	doc.Find(`[data-testid=timeline] li[data-kind=usage]`).Each(func(_ int, li *goquery.Selection) { usageDays = append(usageDays, text(li.Find("span"))) })
	if len(usageDays) != 2 || !strings.Contains(strings.Join(usageDays, "|"), "620 MB used in France that day") {
		t.Errorf("timeline usage = %q, want one entry per day and country", usageDays)
	}
	if doc.Find(`[data-testid=timeline] li[data-kind=used_up]`).Length() != 1 {
		t.Error("the timeline does not show Euro 1 used up")
	}
	if n := app.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'simulate_usage' AND iccid = ?`, line.ICCID); n != 1 {
		t.Errorf("simulate usage audit entries = %d, want 1", n)
	}

	// The List shows the current plan with its data left.
	list := agent.Page(t, "/esims?q="+line.ICCID)
	if got := text(list.Find("[data-testid=plans]")); !strings.Contains(got, "Used up Euro 1") {
		t.Errorf("List plan cell = %q", got)
	}
}

// TestAddPlanSaysTheLineIsRunningOut: Add plan on a line with 20% or less of
// its data left says so at the top, and so when the data is gone.
func TestAddPlanSaysTheLineIsRunningOut(t *testing.T) {
	app := newAPIApp(t, false)
	agent := app.Agent(t)
	line := demoLine(t, app, pendingEurope) // Euro 1, 1 GB
	now := app.Clock.Now().Truncate(time.Second)
	notice := func() string {
		return text(agent.Page(t, "/esims/"+line.ICCID+"/plans/new").Find("[data-testid=top-up-notice]"))
	}
	usage(t, app, usageBody(usageRecordJSON("n-1", line.ICCID, `"country": "FR"`, 790*db.BytesPerMB, now.Add(-time.Hour), now.Add(-time.Hour))))
	if got := notice(); got != "" {
		t.Errorf("with 210 MB left: notice %q, want none", got)
	}
	usage(t, app, usageBody(usageRecordJSON("n-2", line.ICCID, `"country": "FR"`, 170*db.BytesPerMB, now.Add(-time.Hour), now.Add(-time.Hour))))
	if got, want := notice(), "Euro 1 has 40 MB left; the new plan starts when it runs out."; got != want {
		t.Errorf("notice %q, want %q", got, want)
	}
	usage(t, app, usageBody(usageRecordJSON("n-3", line.ICCID, `"country": "FR"`, 40*db.BytesPerMB, now.Add(-time.Hour), now.Add(-time.Hour))))
	if got := notice(); !strings.HasPrefix(got, "Euro 1 is used up (") || !strings.Contains(got, "starts at the phone's next use") {
		t.Errorf("notice %q, want Euro 1 used up", got)
	}
}

// TestAPITypeErrors: a field of the wrong JSON type is named with the kind of
// value it takes, in the API's words, never a Go type.
func TestAPITypeErrors(t *testing.T) {
	app := newAPIApp(t, false)
	record := func(bytes string) string {
		return usageBody(`{"id": "r0", "iccid": "8901480070042170046", "mcc": "208", "bytes": ` + bytes +
			`, "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T09:15:00Z"}`)
	}
	for _, tc := range []struct {
		name, path, body, field, says string
	}{
		{"StringAsNumber", "/api/v1/attach", `{"iccid": 89}`, "", "iccid must be a string, not a number"},
		{"RecordsAsString", "/api/v1/usage", `{"records": "all of them"}`, "", "records must be an array, not a string"},
		{"RecordsAsObject", "/api/v1/usage", `{"records": {"id": "r0"}}`, "", "records must be an array, not an object"},
		{"RecordsAsBool", "/api/v1/usage", `{"records": true}`, "", "records must be an array, not true or false"},
		{"BytesAsString", "/api/v1/usage", record(`"many"`), "records[0]", "bytes must be a whole number, not a string"},
		{"BytesAsFraction", "/api/v1/usage", record(`1.5`), "records[0]", "bytes must be a whole number, not 1.5"},
		{"BytesTooLarge", "/api/v1/usage", record(`99999999999999999999`), "records[0]", "bytes is out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := apiPost(t, nil, app.URL, tc.path, "Bearer "+testAPIToken, tc.body)
			got, _ := r.JSON["error"].(string)
			if tc.field != "" {
				got = ""
				for _, e := range r.JSON["errors"].([]any) {
					if e := e.(map[string]any); e["field"] == tc.field {
						got, _ = e["message"].(string)
					}
				}
			}
			if r.Status != http.StatusBadRequest || got != tc.says {
				t.Errorf("answer = %d %v, want 400 saying %q", r.Status, r.JSON, tc.says)
			}
		})
	}
}
