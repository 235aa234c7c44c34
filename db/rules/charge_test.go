package rules

import (
	"strconv"
	"testing"
	"time"
)

// base is the fixed time the rules' tests start from: the rules take the
// time as a parameter, so no test needs a clock.
var base = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// tb is the most a usage record may carry (db.MaxUsageBytes): the window
// maths must stay exact there.
const tb = 1_000_000_000_000

func TestUsageWindowArithmetic(t *testing.T) {
	t0 := base
	w := window{start: t0, end: t0.Add(24 * time.Hour), bytes: tb}
	if got := w.bytesUntil(t0.Add(12 * time.Hour)); got != tb/2 {
		t.Errorf("half a day of 1 TB = %d, want %d", got, tb/2)
	}
	if got := w.momentOf(tb / 4); !got.Equal(t0.Add(6 * time.Hour)) {
		t.Errorf("a quarter of the bytes at %s, want 06:00", got)
	}
	instant := window{start: t0, end: t0, bytes: 10}
	if instant.bytesUntil(t0) != 10 || !instant.momentOf(5).Equal(t0) {
		t.Error("an instant record is all at its moment")
	}
}

func TestPlanToActivate(t *testing.T) {
	t0 := base
	plan := func(id int64, state string, dest ...string) LinePlan {
		lp := LinePlan{ID: id, OrderNumber: "O" + strconv.FormatInt(id, 10), State: state, AddedAt: t0, DataBytes: BytesPerMB, Plan: Plan{Destinations: dest, ValidityDays: 30}}
		if state != PlanQueued {
			lp.ActivatedAt, lp.ExpiresAt = t0, t0.Add(30*24*time.Hour)
		}
		return lp
	}
	cases := []struct {
		name    string
		plans   []LinePlan
		country string
		at      time.Time
		want    string
	}{
		{"OldestCovering", []LinePlan{plan(1, PlanQueued, "JP"), plan(2, PlanQueued, "FR"), plan(3, PlanQueued, "FR")}, "FR", t0, "O2"},
		{"ActiveCovers", []LinePlan{plan(1, PlanActive, "FR"), plan(2, PlanQueued, "FR")}, "FR", t0.Add(time.Hour), "covered by active plan O1"},
		// Stored as active, but past its end: it no longer covers.
		{"ActivePastItsEnd", []LinePlan{plan(1, PlanActive, "FR"), plan(2, PlanQueued, "FR")}, "FR", t0.Add(30 * 24 * time.Hour), "O2"},
		{"ExpiredOnly", []LinePlan{plan(1, PlanExpired, "FR")}, "FR", t0.Add(40 * 24 * time.Hour), "no queued plan covers FR"},
		{"NoneCovers", []LinePlan{plan(1, PlanQueued, "FR")}, "JP", t0, "no plan covers JP"},
		{"NoPlans", nil, "JP", t0, "no plan covers JP"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lp, reason := PlanToActivate(tc.plans, tc.country, tc.at)
			got := reason
			if lp != nil {
				got = lp.OrderNumber
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
