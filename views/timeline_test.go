package views

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

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

// TestTimelineFoldsALongHistory: a line with a long history shows its
// latest timelineShown events open and the earlier ones folded above them,
// saying how many and from when to when; a short one shows them all.
func TestTimelineFoldsALongHistory(t *testing.T) {
	start := time.Date(2026, 2, 5, 6, 1, 0, 0, time.UTC)
	history := func(n int) []db.TimelineEvent {
		evs := make([]db.TimelineEvent, n)
		for i := range evs {
			evs[i] = db.TimelineEvent{At: start.Add(time.Duration(i) * 24 * time.Hour), Kind: db.TimelineUsage, Subject: "PT", Bytes: int64(i+1) * 1_000_000}
		}
		return evs
	}
	for _, tc := range []struct {
		events       int
		open, folded int
		summary      string
	}{
		{0, 0, 0, ""},
		{10, 10, 0, ""},
		{timelineShown + 11, timelineShown + 11, 0, ""}, // too few to fold
		{timelineShown + 12, timelineShown, 12, "12 earlier events, 5 Feb 2026 to 16 Feb 2026"},
		{200, timelineShown, 140, "140 earlier events, 5 Feb 2026 to 24 Jun 2026"},
	} {
		var b strings.Builder
		if err := Timeline(history(tc.events)).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		open := doc.Find(`[data-testid=timeline] li`)
		folded := doc.Find(`details[data-testid=timeline-earlier] li`)
		summary := strings.Join(strings.Fields(doc.Find(`details[data-testid=timeline-earlier] summary`).Text()), " ")
		if open.Length() != tc.open || folded.Length() != tc.folded || summary != tc.summary {
			t.Errorf("%d events: %d open, %d folded under %q; want %d, %d under %q",
				tc.events, open.Length(), folded.Length(), summary, tc.open, tc.folded, tc.summary)
		}
		// The latest event is the last one open.
		if tc.events > 0 && !strings.Contains(open.Last().Text(), fmt.Sprintf("%d MB", tc.events)) {
			t.Errorf("%d events: the last open one reads %q", tc.events, open.Last().Text())
		}
	}
}
