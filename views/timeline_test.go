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

// TestInstallStatus: the line's install status says what the phone
// reported of the profile; with no report, a network that saw the phone
// says it is in use, as Why no data? does; with neither, it is not
// installed yet.
func TestInstallStatus(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	sent := now.Add(-40 * 24 * time.Hour)
	seen := &db.Attachment{Country: "BE", AttachedAt: now.Add(-3 * time.Hour)}
	for _, tc := range []struct {
		name       string
		line       db.ESIM
		want, tone string
	}{
		{"enabled", db.ESIM{ProfileState: db.ProfileEnabled, ProfileStateAt: sent, QRSentAt: sent, LastAttachment: seen},
			"Enabled on the phone 28 Oct, 12:00 UTC", "install-status ok"},
		{"disabled, seen before", db.ESIM{ProfileState: db.ProfileDisabled, ProfileStateAt: now, QRSentAt: sent, LastAttachment: seen},
			"Disabled on the phone 7 Dec, 12:00 UTC", "install-status warn"},
		{"no report, seen by a network", db.ESIM{QRSentAt: sent, LastAttachment: seen},
			"Connected in Belgium 7 Dec, 09:00 UTC", "install-status ok"},
		{"no report, never seen", db.ESIM{QRSentAt: sent}, "Not installed yet — QR email sent 28 Oct", "install-status"},
		{"no QR email yet", db.ESIM{}, "Not installed yet — QR email not sent yet", "install-status"},
	} {
		if got, tone := installStatus(tc.line, now), installTone(tc.line); got != tc.want || tone != tc.tone {
			t.Errorf("%s: %q (%s), want %q (%s)", tc.name, got, tone, tc.want, tc.tone)
		}
	}
}
