package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// The rollup benchmark's data: benchLines lines with a plan each, reporting
// a record an hour for benchHours hours, through RecordUsage, with ids as
// random as a network's.
const (
	benchLines = 100
	benchHours = 2400 // 100 days
)

var rollupFile = struct {
	sync.Once
	path              string
	pagesBefore, size int // pages without the records, page size
	pagesRecords      int // pages with them
	err               error
}{}

// rollupData builds the benchmark's database once and says where it is.
func rollupData(b *testing.B) string {
	rollupFile.Do(func() {
		dir, err := os.MkdirTemp("", "esim-rollup-bench")
		if err != nil {
			rollupFile.err = err
			return
		}
		f := newFixture(b, benchLines, benchLines)
		ctx := context.Background()
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		now := start
		f.s.Now = func() time.Time { return now }
		if _, err := f.s.write.ExecContext(ctx, `UPDATE esims SET stocked_at = ?`, formatTime(start.Add(-time.Hour))); err != nil {
			rollupFile.err = err
			return
		}
		var iccids []string
		for _, sub := range f.subs {
			o, err := f.addLine(sub, "Europe", "EURO1")
			if err != nil {
				rollupFile.err = err
				return
			}
			iccids = append(iccids, o.ICCID)
		}
		if _, err := f.s.write.ExecContext(ctx, `UPDATE plans SET data_mb = 1000000`); err != nil {
			rollupFile.err = err
			return
		}
		if _, err := f.s.write.ExecContext(ctx, `UPDATE esim_plans SET data_bytes = 1000000000000`); err != nil {
			rollupFile.err = err
			return
		}
		rollupFile.pagesBefore, rollupFile.size = pragma(f.s, "page_count"), pragma(f.s, "page_size")
		var batch []UsageReport
		for h := range benchHours {
			at := start.Add(time.Duration(h) * time.Hour)
			for _, iccid := range iccids {
				id := sha256.Sum256([]byte(iccid + at.String()))
				batch = append(batch, UsageReport{ID: hex.EncodeToString(id[:12]), ICCID: iccid, MCC: "208",
					Bytes: 20_000_000, Start: at, End: at.Add(time.Hour)})
			}
			if len(batch) >= MaxUsageRecords || h == benchHours-1 {
				now = at.Add(time.Hour)
				if _, err := f.s.RecordUsage(ctx, batch, Login{}); err != nil {
					rollupFile.err = err
					return
				}
				batch = batch[:0]
			}
		}
		rollupFile.pagesRecords = pragma(f.s, "page_count")
		f.s.Close()
		rollupFile.path = filepath.Join(dir, "rollup.db")
		rollupFile.err = copyFile(f.path, rollupFile.path)
	})
	if rollupFile.err != nil {
		b.Fatal(rollupFile.err)
	}
	return rollupFile.path
}

func pragma(s *Store, name string) int {
	var n int
	s.write.QueryRow(`PRAGMA ` + name).Scan(&n)
	return n
}

// BenchmarkRollUpUsage rolls up the records of 100 lines reporting hourly
// for 100 days, RollUpBatch a change, 200 days later, on a real file with
// synchronous=FULL: records/s, the longest change and the 95th percentile
// (target: under 50 ms), and what a record and a rollup row cost on disk,
// indexes (and a record's charge) included.
//
//	go test ./db -run '^$' -bench RollUpUsage -benchtime 400x
//
// Each batch size runs with SQLite's automatic checkpoint of the WAL at
// 1000 pages (its default) and at the portal's walCheckpointPages: the
// checkpoint runs inside the commit that crosses it, and is what made the
// longest change.
func BenchmarkRollUpUsage(b *testing.B) {
	for _, batch := range []int{RollUpBatch / 2, RollUpBatch, 2 * RollUpBatch} {
		for _, wal := range []int{1000, walCheckpointPages} {
			b.Run("batch="+itoa(int64(batch))+"/checkpoint="+itoa(int64(wal)), func(b *testing.B) { benchRollUp(b, batch, wal) })
		}
	}
}

func benchRollUp(b *testing.B, batch, walPages int) {
	src := rollupData(b)
	path := filepath.Join(b.TempDir(), "rollup.db")
	if err := copyFile(src, path); err != nil {
		b.Fatal(err)
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.write.Exec(`PRAGMA wal_autocheckpoint = ` + itoa(int64(walPages))); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(300 * 24 * time.Hour)
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	var took []time.Duration
	var rolled int64
	b.ResetTimer()
	for range b.N {
		st, err := s.RollUpUsage(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if st.Done == 0 {
			break // every record is rolled up: more b.N than records
		}
		rolled += st.Done
		took = append(took, st.Took)
	}
	elapsed := b.Elapsed()
	b.StopTimer()
	if len(took) == 0 {
		b.Fatal("nothing to roll up")
	}
	slices.Sort(took)
	b.ReportMetric(float64(rolled)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	records := benchLines * benchHours
	b.ReportMetric(float64((rollupFile.pagesRecords-rollupFile.pagesBefore)*rollupFile.size)/float64(records), "B/record")
	// Roll up the rest and give the pages back: what the rollups cost, and
	// the longest change that returns pages.
	var vacuum time.Duration
	if err := s.Retain(ctx, func(st RetentionStep) {
		if st.Kind == "vacuum" {
			vacuum = max(vacuum, st.Took)
		}
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(vacuum.Microseconds())/1000, "vacuum-max-ms")
	var days int
	s.read.QueryRow(`SELECT count(*) FROM usage_days`).Scan(&days)
	if left := pragma(s, "page_count") - rollupFile.pagesBefore; days > 0 {
		b.ReportMetric(float64(left*rollupFile.size)/float64(days), "B/rollup-row")
	}
	if err := s.CheckUsage(ctx); err != nil {
		b.Error(err)
	}
}

// BenchmarkRollUpReports rolls up the attachments of 100 eSIMs attaching
// every two hours for 100 days (120,000), and a profile event a day each,
// RollUpBatch a change, 200 days later, on a real file: reports/s, the
// longest change and the 95th percentile (target: under 50 ms), and what an
// attachment and a rollup row cost on disk, indexes included.
//
//	go test ./db -run '^$' -bench RollUpReports -benchtime 1x
func BenchmarkRollUpReports(b *testing.B) {
	f := newFixture(b, 1, 100)
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.s.Now = func() time.Time { return start.Add(300 * 24 * time.Hour) }
	pages, size := pragma(f.s, "page_count"), pragma(f.s, "page_size")
	// Inserted as received: time order, so ids are too.
	if _, err := f.s.write.ExecContext(ctx, `WITH RECURSIVE h(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM h WHERE n < 1199)
		INSERT INTO attachments (iccid, country, mcc, attached_at, received_at)
		SELECT e.iccid, 'FR', '208', strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '+' || (h.n * 2) || ' hours'),
			strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '+' || (h.n * 2) || ' hours', '+1 minutes')
		FROM h, (SELECT iccid FROM esims ORDER BY iccid LIMIT 100) e ORDER BY h.n, e.iccid`, formatTime(start)); err != nil {
		b.Fatal(err)
	}
	withAttachments := pragma(f.s, "page_count")
	if _, err := f.s.write.ExecContext(ctx, `WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 99)
		INSERT INTO profile_events (iccid, event, at, received_at)
		SELECT e.iccid, CASE d.n % 2 WHEN 0 THEN 'enabled' ELSE 'disabled' END, strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '+' || d.n || ' days'),
			strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '+' || d.n || ' days', '+1 minutes')
		FROM d, (SELECT iccid FROM esims ORDER BY iccid LIMIT 100) e ORDER BY d.n, e.iccid`, formatTime(start)); err != nil {
		b.Fatal(err)
	}
	scalar := func(q string) int {
		var n int
		if err := f.s.read.QueryRowContext(ctx, q).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	reports := scalar(`SELECT (SELECT count(*) FROM attachments) + (SELECT count(*) FROM profile_events)`)
	var took []time.Duration
	var rolled int64
	b.ResetTimer()
	for range b.N {
		for _, roll := range []func(context.Context, int) (RetentionStep, error){f.s.RollUpAttachments, f.s.RollUpProfileEvents} {
			for {
				st, err := roll(ctx, RollUpBatch)
				if err != nil {
					b.Fatal(err)
				}
				if st.Done == 0 {
					break
				}
				rolled += st.Done
				took = append(took, st.Took)
			}
		}
	}
	elapsed := b.Elapsed()
	b.StopTimer()
	if rolled != int64(reports) {
		b.Fatalf("%d of %d reports rolled up", rolled, reports)
	}
	slices.Sort(took)
	b.ReportMetric(float64(rolled)/elapsed.Seconds(), "reports/s")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64((withAttachments-pages)*size)/120_000, "B/attachment")
	if err := f.s.Retain(ctx, nil); err != nil {
		b.Fatal(err)
	}
	days := scalar(`SELECT (SELECT count(*) FROM attachment_days) + (SELECT count(*) FROM profile_event_days)`)
	b.ReportMetric(float64((pragma(f.s, "page_count")-pages)*size)/float64(days), "B/rollup-row")
}
