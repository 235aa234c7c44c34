package demo

import (
	"context"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
)

// TestSeedYear walks a small year (a few travellers, 75 days, a 31-day
// window so that most of it is rolled up) and checks what the retention
// pass must leave: every byte still charged once, rollups where the
// records were, no record kept whole past the window, email texts removed
// after theirs, and a file that shrinks once the traffic stops and the
// pass has run.
func TestSeedYear(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	s.Retention = db.RetentionSettings{UsageDays: 31, EmailDays: 30}
	end := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return end }
	var months []YearProgress
	got, err := SeedYear(ctx, s.Store, YearOptions{Travellers: 4, Days: 75, Seed: 3, Progress: func(p YearProgress) { months = append(months, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Now().Equal(end) {
		t.Errorf("the store's clock is %s after the year, want it given back (%s)", s.Now(), end)
	}
	if len(months) < 3 || months[len(months)-1].Day != 75 {
		t.Errorf("progress told %d times, the last on day %d", len(months), months[len(months)-1].Day)
	}
	// Four travellers, each abroad all the time, report hourly.
	if want := int64(4 * 24 * 75); got.Records < want*9/10 || got.Records > want {
		t.Errorf("%d usage records sent, want about %d", got.Records, want)
	}
	if got.Trips < 4*75/14 || got.Lines == 0 || got.TopUps == 0 || got.Emails == 0 || got.RolledUp == 0 {
		t.Errorf("the year did too little: %+v", got)
	}
	if err := s.CheckUsage(ctx); err != nil {
		t.Error(err)
	}
	if err := s.CheckStock(ctx); err != nil {
		t.Error(err)
	}
	f := got.Footprint
	if f.UsageDays == 0 || f.PlanRollups == 0 || f.AttachmentDays == 0 {
		t.Errorf("no rollups after 75 days with a 31-day window: %+v", f)
	}
	// The pass runs at 03:00: what it left is at most a day older than the
	// window.
	windowStart := db.FormatTime(end.AddDate(0, 0, -31-1).Add(-db.MaxClockSkew))
	if n := s.count(t, `SELECT count(*) FROM usage_records WHERE received_at < ?`, windowStart); n != 0 {
		t.Errorf("%d usage records received before %s kept whole", n, windowStart)
	}
	if n := s.count(t, `SELECT count(*) FROM usage_records WHERE received_at >= ?`, windowStart); n == 0 {
		t.Error("no usage record kept whole inside the window")
	}
	if n := s.count(t, `SELECT count(*) FROM outbox WHERE state = 'sent' AND sent_at < ? AND html_body <> ''`,
		db.FormatTime(end.AddDate(0, 0, -31))); n != 0 {
		t.Errorf("%d emails sent over 31 days ago still hold their text", n)
	}
	if n := s.count(t, `SELECT count(*) FROM outbox WHERE body_kept_days = 30`); n == 0 {
		t.Error("no email text removed")
	}
	// A rolled-up day adds up to the records it replaced: the bytes sent
	// are all in records or rollups.
	lines := `SELECT e.iccid FROM esims e JOIN subscribers s ON s.id = e.subscriber_id WHERE s.account_number LIKE 'Y%'`
	if n := s.count(t, `SELECT (SELECT coalesce(sum(records), 0) FROM usage_days WHERE iccid IN (`+lines+`))
		+ (SELECT count(*) FROM usage_records WHERE iccid IN (`+lines+`))`); int64(n) != got.Records {
		t.Errorf("records and rollups hold %d records, %d were sent", n, got.Records)
	}

	// The travellers go home: 32 days on, the pass rolls up the rest and
	// gives the pages back.
	before := f.Bytes()
	later := end.AddDate(0, 0, 33)
	s.Now = func() time.Time { return later }
	if err := s.Retain(ctx, nil); err != nil {
		t.Fatal(err)
	}
	after, err := s.Footprint(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if after.UsageRecords != 0 || after.FreePages != 0 || after.Bytes() >= before*3/4 {
		t.Errorf("after the pass: %d records whole, %d free pages, %d bytes (before it %d): want none, none, and a file shrunk by a quarter",
			after.UsageRecords, after.FreePages, after.Bytes(), before)
	}
	if err := s.CheckUsage(ctx); err != nil {
		t.Error(err)
	}
}

// TestSeedYearRefusesADatabaseInUse keeps made-up travellers out of a
// database that holds anything.
func TestSeedYearRefusesADatabaseInUse(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if _, err := Seed(ctx, s.Store); err != nil {
		t.Fatal(err)
	}
	if _, err := SeedYear(ctx, s.Store, YearOptions{Travellers: 1, Days: 1}); err == nil {
		t.Fatal("a year went into a database that holds the demo data")
	}
	if n := s.count(t, `SELECT count(*) FROM subscribers WHERE account_number LIKE 'Y%'`); n != 0 {
		t.Errorf("%d of the year's subscribers added", n)
	}
}
