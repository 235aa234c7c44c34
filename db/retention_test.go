package db

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// lineView is what the pages show of a line that the networks' reports
// shape: its plans' data, its uncovered bytes, where it last connected, its
// profile state, its timeline.
type lineView struct {
	Plans          []LinePlan
	UncoveredBytes int64
	LastCountry    string
	LastMCC        string
	LastAt         time.Time
	ProfileState   string
	ProfileStateAt time.Time
	Timeline       []TimelineEvent
}

func (l *lifecycle) view(t *testing.T) lineView {
	t.Helper()
	ctx := context.Background()
	e, err := l.s.ESIM(ctx, l.iccid)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := l.s.Timeline(ctx, l.iccid)
	if err != nil {
		t.Fatal(err)
	}
	v := lineView{Plans: e.Plans, UncoveredBytes: e.UncoveredBytes, ProfileState: e.ProfileState, ProfileStateAt: e.ProfileStateAt, Timeline: tl}
	if e.LastAttachment != nil {
		v.LastCountry, v.LastMCC, v.LastAt = e.LastAttachment.Country, e.LastAttachment.MCC, e.LastAttachment.AttachedAt
	}
	return v
}

// TestRollUpUsage walks the usage rules of retention.go: records are rolled
// up once they were received more than the window (and the clock skew) ago,
// into one row per eSIM, day and country, in batches of any size, and the
// line reads the same before and after; the invariant holds throughout.
func TestRollUpUsage(t *testing.T) {
	day := 24 * time.Hour
	d1 := lifecycleBase.Add(2 * time.Hour) // 10:00 on the line's first day
	d2 := d1.Add(day)
	window := time.Duration(DefaultRetention.UsageDays) * day
	// The records, each received at its end.
	type rec struct {
		id, country, mcc string
		mbs              int64
		start            time.Time
	}
	recs := []rec{
		{"r1", "FR", "", 100, d1},
		{"r2", "FR", "208", 200, d1.Add(2 * time.Hour)},
		{"r3", "DE", "262", 300, d2},
		{"r4", "JP", "440", 50, d2.Add(time.Hour)}, // no plan covers JP: uncovered
	}
	received := func(i int) time.Time { return recs[i].start.Add(15 * time.Minute) }
	for _, tc := range []struct {
		name    string
		at      time.Time // when the pass runs
		batch   int
		raw     []string // record ids kept whole
		days    string   // the rollup rows: "day country bytes/uncovered MB ×records"
		resend  string   // a record sent again then
		refused bool     // refused as too old, not a duplicate
	}{
		{"WithinTheWindow", recs[0].start.Add(window), RollUpBatch, []string{"r1", "r2", "r3", "r4"}, "", "r1", false},
		{"PastTheWindowButWithinTheClockSkew", received(0).Add(window + MaxClockSkew), RollUpBatch,
			[]string{"r1", "r2", "r3", "r4"}, "", "r1", true},
		{"TheFirstRecordPastTheWindow", received(0).Add(window + MaxClockSkew + time.Millisecond), RollUpBatch,
			[]string{"r2", "r3", "r4"}, "2026-12-01 FR 100/0 ×1", "r1", true},
		{"TheFirstDayPastTheWindow", received(1).Add(window + MaxClockSkew + time.Millisecond), RollUpBatch,
			[]string{"r3", "r4"}, "2026-12-01 FR 300/0 ×2", "r2", true},
		{"EverythingPastTheWindow", received(3).Add(window + day), RollUpBatch, nil,
			"2026-12-01 FR 300/0 ×2, 2026-12-02 DE 300/0 ×1, 2026-12-02 JP 50/50 ×1", "r4", true},
		{"OneRecordABatch", received(3).Add(window + day), 1, nil,
			"2026-12-01 FR 300/0 ×2, 2026-12-02 DE 300/0 ×1, 2026-12-02 JP 50/50 ×1", "r2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l := newLifecycle(t, "EURO1")
			for _, r := range recs {
				l.now = r.start.Add(15 * time.Minute)
				if _, err := l.s.RecordUsage(ctx, []UsageReport{{ID: r.id, ICCID: l.iccid, MCC: r.mcc, Country: r.country, Bytes: r.mbs * mb,
					Start: r.start, End: l.now}}, Login{}); err != nil {
					t.Fatal(err)
				}
			}
			audits := count(t, l.s, `SELECT count(*) FROM audit_log`)
			l.now = tc.at
			before := l.view(t)
			rollUpAll(t, l.s.RollUpUsage, tc.batch, func() { checkUsage(t, l.s) })
			if err := l.s.Retain(ctx, nil); err != nil {
				t.Fatal(err)
			}
			checkUsage(t, l.s)
			if after := l.view(t); !reflect.DeepEqual(before, after) {
				t.Errorf("the line reads differently after the rollup:\n before %+v\n after  %+v", before, after)
			}
			var raw []string
			rows, err := l.s.read.QueryContext(ctx, `SELECT record_id FROM usage_records ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				rows.Scan(&id)
				raw = append(raw, id)
			}
			rows.Close()
			if !reflect.DeepEqual(raw, tc.raw) {
				t.Errorf("records kept whole: %v, want %v", raw, tc.raw)
			}
			if got := rollups(t, l.s); got != tc.days {
				t.Errorf("rollups: %s\n want %s", got, tc.days)
			}
			if n := count(t, l.s, `SELECT count(*) FROM usage_charges c LEFT JOIN usage_records u ON u.id = c.usage_record WHERE u.id IS NULL`); n > 0 {
				t.Errorf("%d charges of deleted records left", n)
			}
			if got := count(t, l.s, `SELECT count(*) FROM audit_log`); got != audits {
				t.Errorf("the audit log has %d entries after the pass, %d before", got, audits)
			}
			// A record resent: a duplicate while it is kept, refused once it
			// may have been rolled up, never counted twice.
			id := tc.resend
			var r rec
			for _, x := range recs {
				if x.id == id {
					r = x
				}
			}
			res, err := l.s.RecordUsage(ctx, []UsageReport{{ID: r.id, ICCID: l.iccid, Country: r.country, Bytes: r.mbs * mb, Start: r.start, End: r.start.Add(15 * time.Minute)}}, Login{})
			switch {
			case !tc.refused && (err != nil || !res[0].Duplicate):
				t.Errorf("%s resent within the window: %v %+v, want a duplicate", id, err, res)
			case tc.refused && (err == nil || !strings.Contains(Refusals(err)[0].Message, "can no longer be checked for duplicates")):
				t.Errorf("%s resent past the window: %v, want it refused as too old", id, err)
			}
			checkUsage(t, l.s)
		})
	}
}

// rollUpAll runs roll in batches of batch until nothing is left, checking
// that no batch is larger, and calls each after every batch.
func rollUpAll(t *testing.T, roll func(context.Context, int) (RetentionStep, error), batch int, each func()) {
	t.Helper()
	for {
		st, err := roll(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		if st.Done > int64(batch) {
			t.Fatalf("a batch of %d rolled up %d", batch, st.Done)
		}
		if st.Done == 0 {
			return
		}
		each()
	}
}

// rollups reads the usage_days rows as "day country bytes/uncovered MB ×records".
func rollups(t *testing.T, s *Store) string {
	t.Helper()
	rows, err := s.read.QueryContext(context.Background(), `SELECT day, country, bytes, uncovered_bytes, records FROM usage_days ORDER BY day, country`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var day, country string
		var bytes, uncovered, n int64
		if err := rows.Scan(&day, &country, &bytes, &uncovered, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, day+" "+country+" "+itoa(bytes/mb)+"/"+itoa(uncovered/mb)+" ×"+itoa(n))
	}
	return strings.Join(out, ", ")
}

// TestThinEmails: a sent email's text goes after the email window, and what
// was sent, to whom, when and its state stay; failed and held ones are never
// thinned.
func TestThinEmails(t *testing.T) {
	day := 24 * time.Hour
	f := newFixture(t, 2, 4)
	ctx := context.Background()
	var emails []Email
	for _, sub := range f.subs {
		if _, err := f.addLine(sub, "Europe", "EURO1"); err != nil {
			t.Fatal(err)
		}
		es, err := f.s.EmailsForSubscriber(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		emails = append(emails, es...)
	}
	if len(emails) != 4 {
		t.Fatalf("%d emails, want 4", len(emails))
	}
	base := time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)
	now := base.Add(400 * day)
	f.s.Now = func() time.Time { return now }
	cases := []struct {
		name    string
		mark    func(id int64) error
		thinned bool
	}{
		{"SentOverAYearAgo", func(id int64) error { return f.s.MarkEmailSent(ctx, Email{ID: id}, now.Add(-366*day)) }, true},
		{"SentWithinTheYear", func(id int64) error { return f.s.MarkEmailSent(ctx, Email{ID: id}, now.Add(-364*day)) }, false},
		{"Failed", func(id int64) error { return f.s.MarkEmailAttemptFailed(ctx, id, "550 no such user", time.Time{}) }, false},
		{"Held", func(int64) error { return nil }, false},
	}
	for i, tc := range cases {
		if err := tc.mark(emails[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	// The failed and held ones were queued long ago too.
	if _, err := f.s.write.ExecContext(ctx, `UPDATE outbox SET queued_at = ?`, formatTime(base)); err != nil {
		t.Fatal(err)
	}
	beforeAll := map[int64]Email{}
	for _, e := range emails {
		e, err := f.s.EmailByID(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		beforeAll[e.ID] = e
	}
	if err := f.s.Retain(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := beforeAll[emails[i].ID]
			after, err := f.s.EmailByID(ctx, before.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := before
			if tc.thinned {
				want.Message.Text, want.Message.HTML, want.BodyKeptDays = "", "", 365
			}
			if !reflect.DeepEqual(after, want) {
				t.Errorf("after the pass:\n got  %+v\n want %+v", after, want)
			}
			if before.Message.Text == "" || before.Message.Subject == "" {
				t.Errorf("the email had no text to start with")
			}
		})
	}
}

// usageRecords reports n records of a minute each on the line, from start,
// a thousand a request.
func (l *lifecycle) usageRecords(t testing.TB, n int, start time.Time) {
	t.Helper()
	for done := 0; done < n; {
		batch := make([]UsageReport, 0, MaxUsageRecords)
		for ; done < n && len(batch) < MaxUsageRecords; done++ {
			at := start.Add(time.Duration(done) * time.Minute)
			batch = append(batch, UsageReport{ID: "cdr-" + itoa(int64(done)), ICCID: l.iccid, Country: "FR", Bytes: 1000, Start: at, End: at.Add(time.Minute)})
		}
		l.now = batch[len(batch)-1].End
		if _, err := l.s.RecordUsage(context.Background(), batch, Login{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRetentionReturnsSpace: a new database returns the pages the pass
// frees to the file system, so the file shrinks, not only stops growing.
func TestRetentionReturnsSpace(t *testing.T) {
	ctx := context.Background()
	l := newLifecycle(t, "EURO1")
	if n := count(t, l.s, `PRAGMA auto_vacuum`); n != 2 {
		t.Fatalf("auto_vacuum = %d on a new database, want 2 (incremental)", n)
	}
	l.usageRecords(t, 20_000, lifecycleBase.Add(time.Hour))
	pages := count(t, l.s, `PRAGMA page_count`)
	l.now = l.now.Add(100 * 24 * time.Hour)
	var vacuumed int64
	if err := l.s.Retain(ctx, func(st RetentionStep) {
		if st.Kind == "vacuum" {
			vacuumed += st.Done
		}
	}); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, l.s)
	after := count(t, l.s, `PRAGMA page_count`)
	if free := count(t, l.s, `PRAGMA freelist_count`); free != 0 || vacuumed == 0 || after > pages/2 {
		t.Errorf("%d pages before the pass, %d after (%d returned, %d still free)", pages, after, vacuumed, free)
	}
}

// TestBackupIsIncremental: a backup of a database made without incremental
// vacuum has it, so restoring it gives the portal a file that can shrink.
func TestBackupIsIncremental(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if _, err := old.Exec(`CREATE TABLE t (x); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := Backup(ctx, filepath.Join(dir, "old.db"), filepath.Join(dir, "copy.db")); err != nil && !strings.Contains(err.Error(), "not a database of the portal") {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"old.db": 0, "copy.db": 2} {
		c, err := sql.Open("sqlite", "file:"+filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := c.QueryRow(`PRAGMA auto_vacuum`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if got != want {
			t.Errorf("%s: auto_vacuum = %d, want %d", name, got, want)
		}
	}
	// The store opens the older file as it is: its freed pages are reused.
	s, err := Open(ctx, filepath.Join(dir, "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := count(t, s, `PRAGMA auto_vacuum`); n != 0 {
		t.Errorf("the store changed an older file's auto_vacuum to %d", n)
	}
	if st, err := s.ReturnSpace(ctx, VacuumPages); err != nil || st.Done != 0 {
		t.Errorf("ReturnSpace on an older file: %+v, %v", st, err)
	}
}

// TestTimelineMergesRolledUpDays: once rolled up, consecutive days of usage
// in one country read as one event in the timeline, and so do consecutive
// days of attachments; a day in another country, a day missed or a day
// still whole ends the run, and the bytes add up to the days'.
func TestTimelineMergesRolledUpDays(t *testing.T) {
	day := 24 * time.Hour
	window := time.Duration(DefaultRetention.UsageDays) * day
	// One record a day at 10:00, received 15 minutes after its end.
	type rec struct {
		day     int
		country string
		mbs     int64
	}
	recs := []rec{{0, "FR", 100}, {1, "FR", 200}, {2, "FR", 300}, {3, "DE", 50}, {4, "FR", 10}, {6, "FR", 20}}
	start := func(d int) time.Time { return lifecycleBase.Add(time.Duration(d)*day + 2*time.Hour) }
	received := func(d int) time.Time { return start(d).Add(75 * time.Minute) }
	for _, tc := range []struct {
		name string
		at   time.Time // when the pass runs
		want string    // the usage and attachment events: "kind country ×days bytes-or-count"
	}{
		{"RecordsWithinTheWindow", received(0).Add(window), "attached_day FR 2 times, usage FR 100MB, attached FR, usage FR 200MB, " +
			"usage FR 300MB, usage DE 50MB, usage FR 10MB, usage FR 20MB"},
		{"TwoDaysRolledUp", received(1).Add(window + MaxClockSkew + time.Millisecond),
			"attached_day FR ×2 3 times, usage FR ×2 300MB, usage FR 300MB, usage DE 50MB, usage FR 10MB, usage FR 20MB"},
		{"AllRolledUp", received(6).Add(window + day),
			"attached_day FR ×2 3 times, usage FR ×3 600MB, usage DE 50MB, usage FR 10MB, usage FR 20MB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l := newLifecycle(t, "EURO1")
			// The phone connects twice on the first day and once on the second.
			for _, at := range []time.Time{start(0).Add(-time.Hour), start(0).Add(-30 * time.Minute), start(1).Add(-time.Hour)} {
				l.now = at
				if _, err := l.s.Attach(ctx, Attach{ICCID: l.iccid, Country: "FR", AttachedAt: at}); err != nil {
					t.Fatal(err)
				}
			}
			for i, r := range recs {
				l.now = received(r.day)
				if _, err := l.s.RecordUsage(ctx, []UsageReport{{ID: "m" + itoa(int64(i)), ICCID: l.iccid, Country: r.country, Bytes: r.mbs * mb,
					Start: start(r.day), End: start(r.day).Add(time.Hour)}}, Login{}); err != nil {
					t.Fatal(err)
				}
			}
			l.now = tc.at
			if err := l.s.Retain(ctx, nil); err != nil {
				t.Fatal(err)
			}
			checkUsage(t, l.s)
			var got []string
			for _, ev := range l.view(t).Timeline {
				var s string
				switch ev.Kind {
				case TimelineUsage:
					s = ev.Kind + " " + ev.Subject + days(ev) + " " + itoa(ev.Bytes/mb) + "MB"
				case TimelineAttached, TimelineAttachedDay:
					s = ev.Kind + " " + ev.Subject + days(ev)
					if ev.Count > 0 {
						s += " " + itoa(ev.Count) + " times"
					}
				default:
					continue
				}
				if ev.Days > 1 && !ev.Since.Equal(start(0).Truncate(day)) && !ev.Since.Equal(start(0).Add(-time.Hour)) {
					t.Errorf("%s: since %s, want the run's first day", s, ev.Since)
				}
				got = append(got, s)
			}
			if g := strings.Join(got, ", "); g != tc.want {
				t.Errorf("timeline:\n got %s\nwant %s", g, tc.want)
			}
		})
	}
}

func days(ev TimelineEvent) string {
	if ev.Days == 0 {
		return ""
	}
	return " ×" + itoa(int64(ev.Days))
}
