package rules

import (
	"strconv"
	"strings"
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

// TestChargeUsage walks the charging rules (the top of charge.go) on plans
// of 3000 MB at fixed times, with no database: which plan each record's
// bytes go to, which plans start and end, and what stays uncovered.
func TestChargeUsage(t *testing.T) {
	euro := Plan{Code: "EURO", DataMB: 3000, ValidityDays: 30, Destinations: []string{"DE", "ES", "FR"}}
	queued := func(id int64, added time.Time) LinePlan {
		return LinePlan{ID: id, OrderNumber: "O" + strconv.FormatInt(id, 10), Plan: euro, State: PlanQueued, AddedAt: added, DataBytes: 3000 * mb}
	}
	active := func(id int64, at time.Time, usedMB int64) LinePlan {
		lp := queued(id, base)
		lp.State, lp.ActivatedAt, lp.ExpiresAt, lp.UsedBytes = PlanActive, at, at.Add(30*24*time.Hour), usedMB*mb
		return lp
	}
	allocated := Holder{State: StateAllocated}
	hour := time.Hour
	for _, tc := range []struct {
		name   string
		plans  []LinePlan
		holder Holder
		u      Usage
		want   string
	}{
		{"ToTheActivePlan", []LinePlan{active(1, base, 0)}, allocated,
			Usage{"FR", 100 * mb, base.Add(hour), base.Add(2 * hour)}, "O1:100"},
		{"StartsTheOldestQueued", []LinePlan{queued(1, base), queued(2, base)}, allocated,
			Usage{"DE", 100 * mb, base.Add(hour), base.Add(2 * hour)}, "started O1 O1:100"},
		{"UsedUpThenTheNextStarts", []LinePlan{active(1, base, 2950), queued(2, base)}, allocated,
			Usage{"FR", 100 * mb, base.Add(hour), base.Add(2 * hour)}, "started O2 used up O1 at 1h30m0s O1:50 O2:50"},
		{"NoPlanCovers", []LinePlan{active(1, base, 0)}, allocated,
			Usage{"JP", 100 * mb, base.Add(hour), base.Add(2 * hour)}, "uncovered 100 (no plan covers JP)"},
		{"OlderThanAStart", []LinePlan{active(1, base.Add(3*hour), 0)}, allocated,
			Usage{"FR", 100 * mb, base.Add(hour), base.Add(2 * hour)},
			"uncovered 100 (older than the activation of O1 at 2026-12-01T11:00:00.000Z)"},
		{"UsedUpAndNothingQueued", []LinePlan{active(1, base, 2950)}, allocated,
			Usage{"FR", 100 * mb, base.Add(hour), base.Add(2 * hour)},
			"used up O1 at 1h30m0s O1:50 uncovered 50 (O1 is used up and no plan is queued for FR)"},
		{"ReplacedHalfway", []LinePlan{active(1, base, 0)}, Holder{State: StateRetired, ReplacedBy: "8944", ReplacedAt: base.Add(90 * time.Minute)},
			Usage{"FR", 100 * mb, base.Add(hour), base.Add(2 * hour)},
			"O1:50 uncovered 50 (the eSIM was replaced by 8944 at 2026-12-01T09:30:00.000Z: nobody's line since)"},
		{"NobodysLine", []LinePlan{active(1, base, 0)}, Holder{State: StateFree},
			Usage{"FR", 100 * mb, base.Add(hour), base.Add(2 * hour)}, "uncovered 100 (the eSIM is free: nobody's line)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ChargeToLine(tc.plans, tc.u, tc.holder, base.Add(24*hour))
			var parts []string
			for _, i := range o.Started {
				parts = append(parts, "started "+tc.plans[i].OrderNumber)
			}
			for _, i := range o.UsedUp {
				parts = append(parts, "used up "+tc.plans[i].OrderNumber+" at "+tc.plans[i].EndedAt.Sub(base).String())
			}
			for _, i := range o.Charged {
				parts = append(parts, tc.plans[i].OrderNumber+":"+strconv.FormatInt(o.Bytes[i]/mb, 10))
			}
			if o.Uncovered > 0 {
				parts = append(parts, "uncovered "+strconv.FormatInt(o.Uncovered/mb, 10)+" ("+o.Reason+")")
			}
			if got := strings.Join(parts, " "); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
