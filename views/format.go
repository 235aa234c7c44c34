package views

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/carrier/esim-admin/db"
)

// Dates are shown in UTC, the carrier's operations time, with the zone said.
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
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// linePlanStatus says in words where the i-th plan of a line stands. Plans
// covering the same country start one after the other, in the order they
// were added: a pending plan whose every destination an earlier plan of the
// line still covers (pending or active) is queued behind the nearest such one.
func linePlanStatus(plans []db.LinePlan, i int, now time.Time) string {
	lp := plans[i]
	if lp.StateAt(now) == db.PlanQueued {
		for j := i - 1; j >= 0; j-- {
			if prev := plans[j]; prev.StateAt(now) != db.PlanExpired && coversAll(prev.Plan, lp.Plan.Destinations) {
				return "Queued — starts after " + prev.Plan.Name
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
			return fmt.Sprintf("Waiting for first connection in any of its %d countries", len(lp.Plan.Destinations))
		}
		return "Waiting for first connection in " + lp.Plan.Region
	case db.PlanActive:
		// A day begun counts as a day left: "1 day left" to the last hour.
		days := int(math.Ceil(lp.ExpiresAt.Sub(now).Hours() / 24))
		unit := "days"
		if days == 1 {
			unit = "day"
		}
		return fmt.Sprintf("Active — %d %s left (until %s)", days, unit, date(lp.ExpiresAt))
	default:
		return "Expired on " + date(lp.ExpiresAt)
	}
}

func stateLabel(state string) string {
	if state == "" {
		return ""
	}
	return strings.ToUpper(state[:1]) + state[1:]
}

func destinations(p db.Plan) string {
	if len(p.Destinations) > 8 {
		return strings.Join(p.Destinations[:8], ", ") + fmt.Sprintf(" and %d more", len(p.Destinations)-8)
	}
	return strings.Join(p.Destinations, ", ")
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
