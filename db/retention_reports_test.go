package db

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// reportsView reads the line with its timeline's attachments and profile
// events apart, as "kind subject/mcc ×count since–at".
func (l *lifecycle) reportsView(t *testing.T) (lineView, string) {
	t.Helper()
	v := l.view(t)
	tl := v.Timeline
	v.Timeline = nil
	var reports []string
	for _, ev := range tl {
		switch ev.Kind {
		case TimelineAttached, TimelineProfile:
			reports = append(reports, fmt.Sprintf("%s %s%s %s", ev.Kind, ev.Subject, mccOf(ev.Detail), ev.At.Format("02T15:04")))
		case TimelineAttachedDay, TimelineProfileDay:
			reports = append(reports, fmt.Sprintf("%s %s%s ×%d %s–%s", ev.Kind, ev.Subject, mccOf(ev.Detail), ev.Count, ev.Since.Format("02T15:04"), ev.At.Format("15:04")))
		default:
			v.Timeline = append(v.Timeline, ev)
		}
	}
	return v, strings.Join(reports, ", ")
}

func mccOf(detail string) string {
	if detail == "" {
		return ""
	}
	return "/" + detail
}

// TestRollUpReports walks rule 3 of retention.go: attachments and profile
// events are rolled up once received more than the usage window (and the
// clock skew) ago, into a row per eSIM, day and country or event, in
// batches of any size; the line keeps where it last connected and its
// profile state, its timeline shows a rolled-up day of several reports as
// one line (and a day of one as that report), and a report resent is a
// duplicate while kept and refused once it may have been rolled up.
func TestRollUpReports(t *testing.T) {
	day := 24 * time.Hour
	d1 := lifecycleBase.Add(2 * time.Hour) // 10:00 on the line's first day
	d2 := d1.Add(day)
	window := time.Duration(DefaultRetention.UsageDays) * day
	// The reports in the order received, each a minute after its time.
	type report struct {
		attach    bool
		what, mcc string // the country or the event
		at        time.Time
	}
	reports := []report{
		{true, "FR", "208", d1},
		{false, ProfileDownloaded, "", d1.Add(5 * time.Minute)},
		{false, ProfileInstalled, "", d1.Add(6 * time.Minute)},
		{false, ProfileEnabled, "", d1.Add(7 * time.Minute)},
		{true, "FR", "", d1.Add(3 * time.Hour)},
		{true, "DE", "262", d2},
		{false, ProfileDisabled, "", d2.Add(time.Hour)},
		{false, ProfileEnabled, "", d2.Add(2 * time.Hour)},
	}
	received := func(i int) time.Time { return reports[i].at.Add(time.Minute) }
	const whole = "attached FR/208 01T10:00, profile downloaded 01T10:05, profile installed 01T10:06, profile enabled 01T10:07, " +
		"attached FR 01T13:00, attached DE/262 02T10:00, profile disabled 02T11:00, profile enabled 02T12:00"
	for _, tc := range []struct {
		name     string
		at       time.Time // when the pass runs
		batch    int
		timeline string // its attachments and profile events after the pass
		days     string // the rollup rows
		resend   int    // the report sent again then
		refused  bool   // refused as too old, not a duplicate
	}{
		{"WithinTheWindow", reports[0].at.Add(window), RollUpBatch, whole, "", 0, false},
		{"PastTheWindowButWithinTheClockSkew", received(0).Add(window + MaxClockSkew), RollUpBatch, whole, "", 0, true},
		{"TheFirstAttachmentPastTheWindow", received(0).Add(window + MaxClockSkew + time.Millisecond), RollUpBatch,
			// A day of one attachment reads as that attachment; it sorts
			// after the rest of its instant, as nothing else happened then.
			whole, "2026-12-01 FR ×1 10:00–10:00 208", 0, true},
		{"TheFirstDayPastTheWindow", received(4).Add(window + MaxClockSkew + time.Millisecond), RollUpBatch,
			"profile downloaded 01T10:05, profile installed 01T10:06, profile enabled 01T10:07, attached_day FR ×2 01T10:00–13:00, " +
				"attached DE/262 02T10:00, profile disabled 02T11:00, profile enabled 02T12:00",
			"2026-12-01 FR ×2 10:00–13:00 -; 2026-12-01 downloaded ×1, 2026-12-01 enabled ×1, 2026-12-01 installed ×1", 4, true},
		{"EverythingPastTheWindow", received(7).Add(window + day), RollUpBatch,
			"profile downloaded 01T10:05, profile installed 01T10:06, profile enabled 01T10:07, attached_day FR ×2 01T10:00–13:00, " +
				"attached DE/262 02T10:00, profile disabled 02T11:00, profile enabled 02T12:00",
			"2026-12-01 FR ×2 10:00–13:00 -, 2026-12-02 DE ×1 10:00–10:00 262; 2026-12-01 downloaded ×1, 2026-12-01 enabled ×1, 2026-12-01 installed ×1, 2026-12-02 disabled ×1, 2026-12-02 enabled ×1",
			7, true},
		{"OneReportABatch", received(7).Add(window + day), 1,
			"profile downloaded 01T10:05, profile installed 01T10:06, profile enabled 01T10:07, attached_day FR ×2 01T10:00–13:00, " +
				"attached DE/262 02T10:00, profile disabled 02T11:00, profile enabled 02T12:00",
			"2026-12-01 FR ×2 10:00–13:00 -, 2026-12-02 DE ×1 10:00–10:00 262; 2026-12-01 downloaded ×1, 2026-12-01 enabled ×1, 2026-12-01 installed ×1, 2026-12-02 disabled ×1, 2026-12-02 enabled ×1",
			5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l := newLifecycle(t, "EURO1")
			send := func(r report) (bool, error) {
				if r.attach {
					res, err := l.s.Attach(ctx, Attach{ICCID: l.iccid, Country: r.what, MCC: r.mcc, AttachedAt: r.at})
					return res.Duplicate, err
				}
				res, err := l.s.RecordProfileEvent(ctx, ProfileEvent{ICCID: l.iccid, Event: r.what, At: r.at})
				return res.Duplicate, err
			}
			for i, r := range reports {
				l.now = received(i)
				if _, err := send(r); err != nil {
					t.Fatal(err)
				}
			}
			l.now = tc.at
			before, beforeReports := l.reportsView(t)
			if beforeReports != whole {
				t.Fatalf("the timeline before the pass: %s\n want %s", beforeReports, whole)
			}
			rollUpAll(t, l.s.RollUpAttachments, tc.batch, func() {})
			rollUpAll(t, l.s.RollUpProfileEvents, tc.batch, func() {})
			if err := l.s.Retain(ctx, nil); err != nil {
				t.Fatal(err)
			}
			after, afterReports := l.reportsView(t)
			if !reflect.DeepEqual(before, after) {
				t.Errorf("the line reads differently after the rollup:\n before %+v\n after  %+v", before, after)
			}
			if afterReports != tc.timeline {
				t.Errorf("the timeline's reports after the pass:\n %s\n want %s", afterReports, tc.timeline)
			}
			if got := reportRollups(t, l.s); got != tc.days {
				t.Errorf("rollups: %s\n want %s", got, tc.days)
			}
			kept := count(t, l.s, `SELECT count(*) FROM attachments`) + count(t, l.s, `SELECT count(*) FROM profile_events`)
			rolled := count(t, l.s, `SELECT coalesce(sum(attachments), 0) FROM attachment_days`) + count(t, l.s, `SELECT coalesce(sum(events), 0) FROM profile_event_days`)
			if kept+rolled != len(reports) {
				t.Errorf("%d reports kept and %d rolled up, want %d in all", kept, rolled, len(reports))
			}
			// A report resent: a duplicate while kept, refused once it may
			// have been rolled up, never counted twice.
			l.now = tc.at
			dup, err := send(reports[tc.resend])
			switch {
			case !tc.refused && (err != nil || !dup):
				t.Errorf("report %d resent within the window: %v, duplicate %v, want a duplicate", tc.resend, err, dup)
			case tc.refused && (err == nil || !strings.Contains(Refusals(err)[0].Message, "can no longer be checked for duplicates")):
				t.Errorf("report %d resent past the window: %v, want it refused as too old", tc.resend, err)
			}
		})
	}
}

// reportRollups reads the attachment_days rows as "day country ×n first–last
// mcc", then the profile_event_days rows as "day event ×n".
func reportRollups(t *testing.T, s *Store) string {
	t.Helper()
	var parts []string
	for _, q := range []string{
		`SELECT group_concat(day || ' ' || country || ' ×' || attachments || ' ' || substr(first_at, 12, 5) || '–' || substr(last_at, 12, 5) || ' ' || coalesce(last_mcc, '-'), ', ')
			FROM (SELECT * FROM attachment_days ORDER BY day, country)`,
		`SELECT group_concat(day || ' ' || event || ' ×' || events, ', ') FROM (SELECT * FROM profile_event_days ORDER BY day, event)`,
	} {
		var s2 *string
		if err := s.read.QueryRow(q).Scan(&s2); err != nil {
			t.Fatal(err)
		}
		if s2 != nil {
			parts = append(parts, *s2)
		}
	}
	return strings.Join(parts, "; ")
}

// TestWindowRefusal: a usage record, attachment or profile event whose
// time is older than the usage window is refused with its reason, whatever
// else its batch holds, and nothing is recorded.
func TestWindowRefusal(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name    string
		age     time.Duration // of the report's time at the clock
		refused bool
	}{
		{"Yesterday", day, false},
		{"AtTheEdgeOfTheWindow", 90 * day, false},
		{"JustPastTheWindow", 90*day + time.Millisecond, true},
		{"FiveMonthsAgo", 150 * day, true},
	} {
		for _, kind := range []struct {
			name, field, what, table string
			recorded                 int // rows when accepted
			send                     func(l *lifecycle, at time.Time) error
		}{
			{"Usage", "records[1].start", "usage records are kept that long", "usage_records", 2, func(l *lifecycle, at time.Time) error {
				_, err := l.s.RecordUsage(context.Background(), []UsageReport{
					{ID: "fresh", ICCID: l.iccid, Country: "FR", Bytes: mb, Start: l.now.Add(-time.Hour), End: l.now},
					{ID: "old", ICCID: l.iccid, Country: "FR", Bytes: mb, Start: at, End: at.Add(time.Minute)},
				}, Login{})
				return err
			}},
			{"Attachment", "attached_at", "attachments are kept that long", "attachments", 1, func(l *lifecycle, at time.Time) error {
				_, err := l.s.Attach(context.Background(), Attach{ICCID: l.iccid, Country: "JP", AttachedAt: at})
				return err
			}},
			{"ProfileEvent", "at", "profile events are kept that long", "profile_events", 1, func(l *lifecycle, at time.Time) error {
				_, err := l.s.RecordProfileEvent(context.Background(), ProfileEvent{ICCID: l.iccid, Event: ProfileInstalled, At: at})
				return err
			}},
		} {
			t.Run(tc.name+"/"+kind.name, func(t *testing.T) {
				l := newLifecycle(t, "EURO1")
				l.now = lifecycleBase.Add(200 * day)
				err := kind.send(l, l.now.Add(-tc.age))
				refusals := Refusals(err)
				switch {
				case !tc.refused && err != nil:
					t.Fatalf("refused: %v", err)
				case tc.refused && (len(refusals) != 1 || refusals[0].Field != kind.field || refusals[0].Code != ErrInvalid ||
					!strings.Contains(refusals[0].Message, "more than 90 days ago") || !strings.Contains(refusals[0].Message, kind.what)):
					t.Fatalf("got %v, want %s refused as older than the window", err, kind.field)
				}
				want := kind.recorded
				if tc.refused {
					want = 0
				}
				if n := count(t, l.s, `SELECT count(*) FROM `+kind.table); n != want {
					t.Errorf("%d recorded, want %d", n, want)
				}
			})
		}
	}
}
