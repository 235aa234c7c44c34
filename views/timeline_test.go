package views

import (
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
)

// TestTimelineTextOfRolledUpDays: a run of rolled-up days reads as its
// span, a day alone as before.
func TestTimelineTextOfRolledUpDays(t *testing.T) {
	mar12 := time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		ev   db.TimelineEvent
		want string
	}{
		{db.TimelineEvent{Kind: db.TimelineUsage, Subject: "ES", Bytes: 3_200_000_000, Since: mar12, Days: 7, At: mar12.Add(6*24*time.Hour + 20*time.Hour)},
			"12–18 Mar, Spain: 3.2 GB"},
		{db.TimelineEvent{Kind: db.TimelineUsage, Subject: "ES", Bytes: 3_200_000_000, Uncovered: 200_000_000, Since: mar12.AddDate(0, 0, 18), Days: 3},
			"30 Mar–1 Apr, Spain: 3.2 GB, 200 MB of it with no plan"},
		{db.TimelineEvent{Kind: db.TimelineUsage, Subject: "FR", Bytes: 2_000_000, Since: time.Date(2025, 12, 30, 0, 0, 0, 0, time.UTC), Days: 4},
			"30 Dec 2025–2 Jan 2026, France: 2 MB"},
		{db.TimelineEvent{Kind: db.TimelineUsage, Subject: "ES", Bytes: 450_000_000}, "450 MB used in Spain that day"},
		{db.TimelineEvent{Kind: db.TimelineAttachedDay, Subject: "ES", Count: 42, Days: 7, Since: mar12.Add(8 * time.Hour), Detail: "214"},
			"12–18 Mar: connected in Spain 42 times (last MCC 214)"},
		{db.TimelineEvent{Kind: db.TimelineProfileDay, Subject: db.ProfileDisabled, Count: 2, Days: 2, Since: mar12.Add(8 * time.Hour)},
			"12–13 Mar: Disabled on the phone 2 times"},
	} {
		if got := timelineText(tc.ev); got != tc.want {
			t.Errorf("%+v:\n got %s\nwant %s", tc.ev, got, tc.want)
		}
	}
}
