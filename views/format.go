package views

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
)

// Dates are written in UTC, the carrier's operations time, with the zone
// said; a time the page shows on its own (when) reads in the agent's zone.
func date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006")
}

func dateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return rules.DateTime(t)
}

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// linePlanStatus says in words where the i-th plan of a line stands. A
// queued plan whose every destination another plan of the line still
// carries (active with data, or queued before it) waits for that one: it
// starts when that plan runs out or ends.
func linePlanStatus(plans []db.LinePlan, i int, now time.Time) string {
	lp := plans[i]
	if lp.StateAt(now) == db.PlanQueued {
		for j, other := range plans {
			if j == i || !coversAll(other.Plan, lp.Plan.Destinations) {
				continue
			}
			if other.ActiveAt(now) || (j < i && other.State == db.PlanQueued) {
				return "Starts when " + other.Plan.Name + " runs out or ends"
			}
		}
	}
	return planStatus(lp, now)
}

func coversAll(p db.Plan, countries []string) bool {
	for _, c := range countries {
		if !p.Covers(c) {
			return false
		}
	}
	return len(countries) > 0
}

// planStatus says in words where a plan on a line stands, on its own.
func planStatus(lp db.LinePlan, now time.Time) string {
	switch lp.StateAt(now) {
	case db.PlanQueued:
		if lp.Plan.Region == "Global" {
			return fmt.Sprintf("Starts on first use in any of its %d countries", len(lp.Plan.Destinations))
		}
		return "Starts on first use in " + lp.Plan.Region
	case db.PlanActive:
		return rules.DaysLeft(lp.ExpiresAt.Sub(now)) + " (until " + dateTime(lp.ExpiresAt) + ")"
	case db.PlanUsedUp:
		return "Data used up " + dateTime(lp.EndedAt)
	case db.PlanCancelled:
		if lp.CancelReason != "" {
			return "Cancelled " + dateTime(lp.EndedAt) + " — " + lp.CancelReason
		}
		return "Cancelled " + dateTime(lp.EndedAt)
	}
	if left := lp.LeftBytes(); left > 0 {
		return "Ended " + dateTime(lp.ExpiresAt) + " with " + rules.FormatBytes(left) + " unused"
	}
	return "Ended " + dateTime(lp.ExpiresAt)
}

// planEnd is when the plan ended or will end: the moment its data ran out,
// else its 30-day end.
func planEnd(lp db.LinePlan) string {
	if !lp.EndedAt.IsZero() {
		return date(lp.EndedAt)
	}
	return date(lp.ExpiresAt)
}

// planStateLabel is a plan's state as agents say it.
func planStateLabel(state string) string {
	switch state {
	case db.PlanUsedUp:
		return "Used up"
	case "":
		return ""
	}
	return stateLabel(state)
}

// planData reads "620 MB of 1 GB used · 380 MB left" for an active plan,
// "620 MB of 1 GB used" for one that has ended, and the allowance alone for
// one nothing has used.
func planData(lp db.LinePlan, now time.Time) string {
	switch lp.StateAt(now) {
	case db.PlanQueued, db.PlanCancelled:
		return rules.FormatBytes(lp.DataBytes)
	case db.PlanActive:
		return rules.FormatBytes(lp.UsedBytes) + " of " + rules.FormatBytes(lp.DataBytes) + " used · " + rules.FormatBytes(lp.LeftBytes()) + " left"
	}
	return rules.FormatBytes(lp.UsedBytes) + " of " + rules.FormatBytes(lp.DataBytes) + " used"
}

// usedPercent is how much of its data a plan has used, 0 to 100.
func usedPercent(lp db.LinePlan) int {
	if lp.DataBytes <= 0 {
		return 0
	}
	return int(lp.UsedBytes * 100 / lp.DataBytes)
}

// lineHeadline is the line's headline: Diagnose's lead check, with its
// time and what to do, as Why no data? shows it on top.
func lineHeadline(d rules.Diagnosis) string {
	lead := d.Lead()
	h := d.Headline()
	if lead.Result == rules.CheckPassed || lead.Key == rules.CheckUncovered { // the line's own alert says what to do
		return h
	}
	if !lead.At.IsZero() {
		h += " " + dateTime(lead.At)
	}
	if fix := fixLabel(lead); fix != "" {
		h += " — " + fix
	} else if lead.Advice != "" {
		// Mid-sentence: "… — ask the customer to turn the eSIM on …".
		h += " — " + strings.ToLower(lead.Advice[:1]) + strings.TrimSuffix(lead.Advice[1:], ".")
	}
	return h
}

// fixLabel names the button of a check's fix, "" when it has none.
func fixLabel(c rules.Check) string {
	switch c.Fix {
	case rules.FixResend:
		return "Resend QR email"
	case rules.FixReplace:
		return "Replace eSIM"
	case rules.FixAddPlan:
		if c.Country != "" {
			return "Add plan for " + rules.CountryName(c.Country)
		}
		return "Add plan"
	}
	return ""
}

// addPlanFixURL opens Add plan on the line with the check's destination
// filled in.
func addPlanFixURL(l db.ESIM, c rules.Check) string {
	u := "/esims/" + l.ICCID + "/plans/new"
	if c.Country != "" {
		u += "?country=" + url.QueryEscape(rules.CountryName(c.Country))
	}
	return u
}

// checkResult is a check's result in words.
func checkResult(result string) string {
	switch result {
	case rules.CheckPassed:
		return "passed"
	case rules.CheckFailed:
		return "failed"
	case rules.CheckWaiting:
		return "waiting"
	}
	return "not known yet"
}

// checkMark is the sign beside a check; the words say the same.
func checkMark(result string) string {
	switch result {
	case rules.CheckPassed:
		return "✓"
	case rules.CheckFailed:
		return "✗"
	case rules.CheckWaiting:
		return "…"
	}
	return "?"
}

// checkTime is " · 4 Dec 2026, 08:00 UTC" for a check with a time, "" for one without.
func checkTime(c rules.Check) string {
	if c.At.IsZero() {
		return ""
	}
	return " · " + dateTime(c.At)
}

// topUpNotice tells the agent on Add plan when the line is running out of
// data, or has run out: the very case a top-up is for.
func topUpNotice(l db.ESIM, now time.Time) string {
	if lp := l.PlanNow(now); lp != nil {
		if lp.LeftBytes()*5 <= lp.DataBytes {
			return fmt.Sprintf("%s has %s left; the new plan starts when it runs out.", lp.Plan.Name, rules.FormatBytes(lp.LeftBytes()))
		}
		return ""
	}
	var usedUp *db.LinePlan
	for i, lp := range l.Plans {
		switch lp.StateAt(now) {
		case db.PlanQueued:
			return ""
		case db.PlanUsedUp:
			usedUp = &l.Plans[i]
		}
	}
	if usedUp == nil {
		return ""
	}
	return fmt.Sprintf("%s is used up (%s) and nothing is queued: the new plan starts at the phone's next use in its destinations.",
		usedUp.Plan.Name, dateTime(usedUp.EndedAt))
}

func stateLabel(state string) string {
	if state == "" {
		return ""
	}
	return strings.ToUpper(state[:1]) + state[1:]
}

// destinations names a plan's first destinations, by name: agents know
// countries by name, not by ISO code.
func destinations(p db.Plan) string {
	names := rules.CountryNames(p.Destinations[:min(len(p.Destinations), 8)])
	if len(p.Destinations) > 8 {
		return strings.Join(names, ", ") + fmt.Sprintf(" and %d more", len(p.Destinations)-8)
	}
	return strings.Join(names, ", ")
}

func profileLabel(p int) string { return fmt.Sprintf("Profile %d", p) }

func itoa(n int64) string { return fmt.Sprint(n) }

// thousands writes 12345 as 12,345.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// LineKey is a key that runs a tool of a line on the profile.
type LineKey struct{ Key, Action string }

// LineKeys are the keys of a line's tools, in the order the shortcuts list
// shows them; each tool's control carries its key (data-line-key).
var LineKeys = []LineKey{
	{"p", "Add plan"},
	{"w", "Why no data?"},
	{"r", "Resend QR email"},
	{"e", "Replace eSIM"},
	{"n", "Rename the line"},
}

// lineTools are the line tools an account allows, as the store's rule
// (db.RefuseForStatus) has it: a closed account none but Cancel a plan,
// which the rule leaves open for a refund; a suspended one all but a new
// plan.
type lineTools struct {
	change  bool // Resend QR email, Replace eSIM, Rename
	newPlan bool // Add plan
}

func lineToolsFor(status string) lineTools {
	sub := db.Subscriber{Status: status}
	return lineTools{change: db.RefuseForStatus(sub, false) == nil, newPlan: db.RefuseForStatus(sub, true) == nil}
}

// lineKey marks the control of a line's tool with its key.
func lineKey(key string) templ.Attributes {
	return templ.Attributes{"data-line-key": key, "aria-keyshortcuts": key}
}
