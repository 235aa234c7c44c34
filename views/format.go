package views

import (
	"fmt"
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

// planStatus says in words where a plan on a line stands.
func planStatus(lp db.LinePlan, now time.Time) string {
	switch lp.StateAt(now) {
	case db.PlanPending:
		return "Waiting for first connection in " + lp.Plan.Region
	case db.PlanActive:
		days := int(lp.ExpiresAt.Sub(now).Hours()/24 + 0.999)
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
