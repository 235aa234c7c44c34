package db_test

// Benchmarks of the eSIM List at scale. They run on a data set made by
// demo.SeedScale: 100,000 eSIMs and 10,000 subscribers unless ESIM_BENCH_SCALE
// says how many eSIMs (subscribers are a tenth of that), e.g.
//
//	ESIM_BENCH_SCALE=1000000 go test ./db -run '^$' -bench . -benchtime 200x
//
// The data set is built once and kept in the system's temporary folder,
// named by its size and a hash of the schema and the generator, so later
// runs start at once. The figures that matter are reported per benchmark:
// p50-ms and p95-ms of one page (query and render), the deep page's cost
// next to the first's, and the export's memory growth.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo/demotest"
	"github.com/carrier/esim-admin/views"
)

// benchDB is the scale data set of the List's benchmarks: 100,000 eSIMs
// unless ESIM_BENCH_SCALE says otherwise.
func benchDB(b *testing.B) string { return demotest.ScaleDB(b, 100_000) }

func benchStore(b *testing.B) *db.Store {
	b.Helper()
	s, err := db.Open(context.Background(), benchDB(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// listPage does what the List's handler does for a whole page: the page of
// eSIMs, the logins of the filter, and the render.
func listPage(ctx context.Context, s *db.Store, in db.ListFilterInput, after, before string) (db.ListPage, error) {
	f, err := db.ParseListFilter(in)
	if err != nil {
		return db.ListPage{}, fmt.Errorf("filter %+v: %w", in, err)
	}
	page, err := s.ESIMList(ctx, f, after, before)
	if err != nil {
		return page, err
	}
	logins, err := s.Logins(ctx)
	if err != nil {
		return page, err
	}
	v := views.ESIMListView{Filter: in, Page: page, Allocators: logins, Now: s.Now()}
	return page, views.ESIMList(v).Render(ctx, io.Discard)
}

func benchContext(s *db.Store) context.Context {
	lead := db.Login{ID: 2, Name: "Marcus Reyes", Role: db.RoleLead}
	return views.WithPage(context.Background(), views.Page{Login: &lead, CSRF: "token", Nav: "esims"})
}

// cursorAt pages forward to the page that starts after `rows` rows and
// returns its cursor.
func cursorAt(b *testing.B, s *db.Store, in db.ListFilterInput, rows int) string {
	b.Helper()
	f, _ := db.ParseListFilter(in)
	after := ""
	for range rows / db.ListPageSize {
		page, err := s.ESIMList(context.Background(), f, after, "")
		if err != nil {
			b.Fatal(err)
		}
		if page.Next == "" {
			b.Skipf("the List of %+v has fewer than %d rows at this scale", in, rows)
		}
		after = page.Next
	}
	return after
}

// benchAllocator is the login with the most allocations but one: a busy
// agent, not the busiest.
func benchAllocator(b *testing.B, s *db.Store) string {
	logins, err := s.Logins(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range logins {
		if l.Name == "Tom Okoro" { // the scale data set's second busiest agent
			return strconv.FormatInt(l.ID, 10)
		}
	}
	return strconv.FormatInt(logins[0].ID, 10)
}

func BenchmarkESIMList(b *testing.B) {
	s := benchStore(b)
	ctx := benchContext(s)
	now := s.Now().UTC()
	anICCID := func(state string) string {
		f, _ := db.ParseListFilter(db.ListFilterInput{State: state})
		page, err := s.ESIMList(context.Background(), f, "", "")
		if err != nil || len(page.Rows) < 8 {
			b.Fatalf("no %s eSIMs: %v", state, err)
		}
		return page.Rows[7].ICCID
	}
	allocated := anICCID(db.StateAllocated)
	by := benchAllocator(b, s)
	month := db.ListFilterInput{From: now.AddDate(0, -2, 0).Format(time.DateOnly), To: now.AddDate(0, -1, 0).Format(time.DateOnly)}
	cases := []struct {
		name  string
		in    db.ListFilterInput
		depth int // rows before the page
		back  bool
	}{
		{"First", db.ListFilterInput{}, 0, false},
		{"Deep10k", db.ListFilterInput{}, 10_000, false},
		{"Deep10kBackward", db.ListFilterInput{}, 10_000, true},
		{"StateFree", db.ListFilterInput{State: "free"}, 0, false},
		{"StateFreeDeep10k", db.ListFilterInput{State: "free"}, 10_000, false},
		{"StateAllocated", db.ListFilterInput{State: "allocated"}, 0, false},
		{"StateRetired", db.ListFilterInput{State: "retired"}, 0, false},
		{"Profile", db.ListFilterInput{Profile: "10"}, 0, false},
		{"ProfileDeep10k", db.ListFilterInput{Profile: "10"}, 10_000, false},
		{"FreeProfile", db.ListFilterInput{State: "free", Profile: "2"}, 0, false},
		{"RetiredProfile", db.ListFilterInput{State: "retired", Profile: "2"}, 0, false},
		{"AllocatedMonth", month, 0, false},
		{"AllocatedBy", db.ListFilterInput{By: by}, 0, false},
		{"AllocatedByDeep10k", db.ListFilterInput{By: by}, 10_000, false},
		{"AllocatedByProfile", db.ListFilterInput{By: by, Profile: "2"}, 0, false},
		{"ByProfileMonth", db.ListFilterInput{By: by, Profile: "7", From: month.From, To: month.To}, 0, false},
		{"SearchICCIDLast4", db.ListFilterInput{Q: allocated[len(allocated)-4:]}, 0, false},
		{"SearchICCID", db.ListFilterInput{Q: allocated}, 0, false},
		{"SearchSurname", db.ListFilterInput{Q: "Kim"}, 0, false},
		{"SearchFirstName", db.ListFilterInput{Q: "Sofia"}, 0, false},
		{"SearchFullName", db.ListFilterInput{Q: "Sofia Kim"}, 0, false},
		{"SearchEmail", db.ListFilterInput{Q: "sofia.kim."}, 0, false},
		{"SearchLineName", db.ListFilterInput{Q: "Japan"}, 0, false},
		{"SearchOneLetter", db.ListFilterInput{Q: "s"}, 0, false},
		{"SearchLineNameDeep2k", db.ListFilterInput{Q: "Japan"}, 2_000, false},
		{"SearchSurnameSortICCID", db.ListFilterInput{Q: "Kim", Sort: db.SortICCID}, 0, false},
		{"SearchAndFilters", db.ListFilterInput{Q: "Sofia", Profile: "7", By: by}, 0, false},
		{"SortICCID", db.ListFilterInput{Sort: db.SortICCID}, 0, false},
		{"SortICCIDDeep10k", db.ListFilterInput{Sort: db.SortICCID}, 10_000, false},
		{"SortICCIDOneDay", db.ListFilterInput{Sort: db.SortICCID, From: month.To, To: month.To}, 0, false},
		{"SortICCIDWeek", db.ListFilterInput{Sort: db.SortICCID, From: month.To, To: now.AddDate(0, -1, 6).Format(time.DateOnly)}, 0, false},
		{"SortICCIDMonth", db.ListFilterInput{Sort: db.SortICCID, From: month.From, To: month.To}, 0, false},
		{"NeverInstalledMonth", db.ListFilterInput{Installed: db.InstalledNo, From: month.From, To: month.To}, 0, false},
		{"NeverInstalledProfileMonth", db.ListFilterInput{Installed: db.InstalledNo, Profile: "7", From: month.From, To: month.To}, 0, false},
		{"InstalledMonth", db.ListFilterInput{Installed: db.InstalledYes, From: month.From, To: month.To}, 0, false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			after, before := "", ""
			if tc.depth > 0 {
				after = cursorAt(b, s, tc.in, tc.depth)
				if tc.back {
					// The page before the one 10,000 rows deep.
					f, _ := db.ParseListFilter(tc.in)
					page, err := s.ESIMList(context.Background(), f, after, "")
					if err != nil {
						b.Fatal(err)
					}
					after, before = "", page.Prev
				}
			}
			var t demotest.Timings
			rows := 0
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				page, err := listPage(ctx, s, tc.in, after, before)
				if err != nil {
					b.Fatal(err)
				}
				t = append(t, time.Since(start))
				rows = len(page.Rows)
			}
			t.Report(b)
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// BenchmarkESIMListDepth interleaves the first page and the page 10,000
// rows deep, so both see the same machine, and reports their ratio.
func BenchmarkESIMListDepth(b *testing.B) {
	s := benchStore(b)
	ctx := benchContext(s)
	for _, in := range []db.ListFilterInput{{}, {Profile: "7"}, {State: "free"}, {Sort: db.SortICCID}} {
		b.Run(fmt.Sprintf("%s%s%s", in.Profile, in.State, in.Sort), func(b *testing.B) {
			deep := cursorAt(b, s, in, 10_000)
			var first, deepT demotest.Timings
			for b.Loop() {
				for i, cursor := range []string{"", deep} {
					start := time.Now()
					if _, err := listPage(ctx, s, in, cursor, ""); err != nil {
						b.Fatal(err)
					}
					if i == 0 {
						first = append(first, time.Since(start))
					} else {
						deepT = append(deepT, time.Since(start))
					}
				}
			}
			b.ReportMetric(float64(first.Percentile(0.5))/float64(time.Millisecond), "first-p50-ms")
			b.ReportMetric(float64(deepT.Percentile(0.5))/float64(time.Millisecond), "deep-p50-ms")
			b.ReportMetric(float64(deepT.Percentile(0.95))/float64(first.Percentile(0.95)), "deep/first-p95")
			b.ReportMetric(float64(deepT.Percentile(0.5))/float64(first.Percentile(0.5)), "deep/first-p50")
		})
	}
}

func BenchmarkStockSummary(b *testing.B) {
	s := benchStore(b)
	var t demotest.Timings
	for b.Loop() {
		start := time.Now()
		if _, err := s.StockSummary(context.Background()); err != nil {
			b.Fatal(err)
		}
		t = append(t, time.Since(start))
	}
	t.Report(b)
}

// BenchmarkExportCSV exports every eSIM and reports how far the process's
// memory grew while it did: the export streams, so it must stay flat.
func BenchmarkExportCSV(b *testing.B) {
	s := benchStore(b)
	for _, in := range []db.ListFilterInput{{}, {State: "allocated"}} {
		b.Run("state="+in.State, func(b *testing.B) {
			f, _ := db.ParseListFilter(in)
			for b.Loop() {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				rssBefore := demotest.RSS()
				var peakRSS, peakHeap uint64
				flushes := 0
				var out countingWriter
				err := s.ExportESIMs(context.Background(), f, &out, func() {
					if flushes++; flushes%20 == 0 {
						var m runtime.MemStats
						runtime.ReadMemStats(&m)
						peakHeap = max(peakHeap, m.HeapInuse)
						peakRSS = max(peakRSS, demotest.RSS())
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(out.lines), "rows")
				b.ReportMetric(float64(out.n)/1e6, "csv-MB")
				b.ReportMetric(float64(int64(max(peakRSS, rssBefore))-int64(rssBefore))/1e6, "rss-growth-MB")
				b.ReportMetric(float64(int64(max(peakHeap, before.HeapInuse))-int64(before.HeapInuse))/1e6, "heap-growth-MB")
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(max(out.lines, 1)), "alloc-B/row")
			}
		})
	}
}

type countingWriter struct{ n, lines int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// BenchmarkImportInventory imports 100,000 eSIMs into a copy of the scale
// database, so the inventory checks and the index updates meet a full
// inventory.
func BenchmarkImportInventory(b *testing.B) {
	src := benchDB(b)
	path := filepath.Join(b.TempDir(), "import.db")
	if err := demotest.CopyFile(src, path); err != nil {
		b.Fatal(err)
	}
	s, err := db.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const rows = 100_000
	i := 0
	for b.Loop() {
		b.StopTimer()
		file := benchInventoryFile(i, rows)
		i++
		b.StartTimer()
		start := time.Now()
		res, bad, err := s.ImportInventory(context.Background(), bytes.NewReader(file), db.Login{})
		if err != nil || len(bad) > 0 || res.Total != rows {
			b.Fatalf("import: %v, %d bad lines %v, %d added", err, len(bad), bad[:min(3, len(bad))], res.Total)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/import")
		b.ReportMetric(float64(len(file))/1e6, "file-MB")
	}
}

func benchInventoryFile(batch, rows int) []byte {
	var buf bytes.Buffer
	buf.WriteString("iccid,imsi_profile,smdp_address,matching_id\n")
	for i := range rows {
		p := db.IMSIProfiles[i%3]
		body := fmt.Sprintf("8901486%02d%03d%06d", p, batch, i)
		fmt.Fprintf(&buf, "%s%c,%d,smdp.bench.example.com,BENCH-%03d-%06d-%02d\n", body, db.LuhnDigit(body), p, batch, i, p)
	}
	return buf.Bytes()
}
