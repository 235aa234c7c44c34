package rules

import (
	"testing"
	"time"
)

// TestNoticeAfterUsage walks which notice a batch of usage owes a plan of
// 1000 MB, with Data running low at 80%, at a fixed time.
func TestNoticeAfterUsage(t *testing.T) {
	now := base.Add(24 * time.Hour)
	plan := func(state string, used int64, expires time.Time) LinePlan {
		return LinePlan{State: state, DataBytes: 1000 * mb, UsedBytes: used * mb, ActivatedAt: base, ExpiresAt: expires}
	}
	end := base.Add(30 * 24 * time.Hour)
	for _, tc := range []struct {
		name   string
		lp     LinePlan
		before int64 // MB used before the batch
		want   string
	}{
		{"BelowThreshold", plan(PlanActive, 700, end), 600, ""},
		{"CrossesThreshold", plan(PlanActive, 800, end), 700, EmailDataLow},
		{"AlreadyPastThreshold", plan(PlanActive, 900, end), 850, ""},
		{"UsedUpWinsOverLow", plan(PlanUsedUp, 1000, end), 700, EmailDataUsedUp},
		{"PlanAlreadyOver", plan(PlanUsedUp, 1000, now), 700, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NoticeAfterUsage(tc.lp, tc.before*mb, 80, now); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNoticesDueByTime checks Plan started and Ends soon against the plan's
// end and its data left.
func TestNoticesDueByTime(t *testing.T) {
	lp := LinePlan{State: PlanActive, DataBytes: 1000 * mb, UsedBytes: 100 * mb, ActivatedAt: base, ExpiresAt: base.Add(30 * 24 * time.Hour)}
	usedUp := lp
	usedUp.UsedBytes = usedUp.DataBytes
	for _, tc := range []struct {
		name     string
		lp       LinePlan
		at       time.Time
		started  bool
		endsSoon bool
	}{
		{"Running", lp, base.Add(28 * 24 * time.Hour), true, true},
		{"AtItsEnd", lp, lp.ExpiresAt, false, false},
		{"NoDataLeft", usedUp, base.Add(28 * 24 * time.Hour), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StartNoticeDue(tc.lp, tc.at); got != tc.started {
				t.Errorf("StartNoticeDue = %v, want %v", got, tc.started)
			}
			if got := EndsSoonDue(tc.lp, tc.at); got != tc.endsSoon {
				t.Errorf("EndsSoonDue = %v, want %v", got, tc.endsSoon)
			}
		})
	}
}
