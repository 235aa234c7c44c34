// Package demotest gives benchmarks and tests the data sets of package demo
// as files: the scale data set, built once and kept between runs, and a way
// to copy a database file for a test of its own.
package demotest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/emails"
)

// ScaleSize is the size of the scale data set: esims eSIMs unless
// ESIM_BENCH_SCALE says how many, and a tenth as many subscribers unless
// ESIM_BENCH_SUBSCRIBERS says how many. A million or more is skipped in
// -short runs.
func ScaleSize(tb testing.TB, esims int) (int, int) {
	if v := os.Getenv("ESIM_BENCH_SCALE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			tb.Fatalf("ESIM_BENCH_SCALE=%q: want a number of eSIMs, at least 1000", v)
		}
		esims = n
	}
	if esims >= 1_000_000 && testing.Short() {
		tb.Skip("a million eSIMs is not short")
	}
	subs := esims / 10
	if v := os.Getenv("ESIM_BENCH_SUBSCRIBERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			tb.Fatalf("ESIM_BENCH_SUBSCRIBERS=%q: want a number of subscribers, at least 100", v)
		}
		subs = n
	}
	return esims, subs
}

var scaleOnce sync.Map // path → *sync.Once

// ScaleDB returns the path of a `demo scale` data set of the size ScaleSize
// says (esims unless ESIM_BENCH_SCALE is set), built the first time and kept
// in the system's temporary folder, named by its size and a hash of the
// schema and the generator, so later runs start at once. Open a copy
// (CopyFile) to change it.
func ScaleDB(tb testing.TB, esims int) string {
	tb.Helper()
	esims, subs := ScaleSize(tb, esims)
	return built(tb, fmt.Sprintf("scale-%d-%d", esims, subs), []string{"demo/scale.go", "db/load.go"}, func(s *db.Store) (any, error) {
		return demo.SeedScale(context.Background(), s, demo.ScaleOptions{ESIMs: esims, Subscribers: subs})
	})
}

// YearTravellers is the size of the simulated year the benchmarks read:
// travellers unless ESIM_BENCH_YEAR_TRAVELLERS says how many.
func YearTravellers(tb testing.TB, travellers int) int {
	if v := os.Getenv("ESIM_BENCH_YEAR_TRAVELLERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			tb.Fatalf("ESIM_BENCH_YEAR_TRAVELLERS=%q: want a number of travellers", v)
		}
		travellers = n
	}
	return travellers
}

// YearDB returns the path of a `demo year` database of travellers abroad
// over days, built the first time and kept in the system's temporary
// folder as ScaleDB's is. Open a copy (CopyFile) to change it.
func YearDB(tb testing.TB, travellers, days int) string {
	tb.Helper()
	return built(tb, fmt.Sprintf("year-%d-%d", travellers, days), []string{"demo/year.go"}, func(s *db.Store) (any, error) {
		return demo.SeedYear(context.Background(), s, demo.YearOptions{Travellers: travellers, Days: days, Seed: 1})
	})
}

// built returns the path of a data set made by fill into a new database,
// named by name and a hash of the schema and the generator (demo.go and
// the files named, from the module's root), built the first time and kept.
func built(tb testing.TB, name string, generator []string, fill func(*db.Store) (any, error)) string {
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	h := sha256.New()
	files, _ := filepath.Glob(filepath.Join(root, "db", "migrations", "*.sql"))
	for _, g := range append([]string{"demo/demo.go"}, generator...) {
		files = append(files, filepath.Join(root, g))
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		h.Write(body)
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("esim-admin-%s-%s.db", name, hex.EncodeToString(h.Sum(nil))[:12]))
	once, _ := scaleOnce.LoadOrStore(path, new(sync.Once))
	once.(*sync.Once).Do(func() {
		if _, err := os.Stat(path); err == nil {
			return
		}
		tmp := fmt.Sprintf("%s.building-%d", path, os.Getpid())
		defer os.Remove(tmp)
		s, err := db.Open(context.Background(), tmp)
		if err != nil {
			tb.Fatal(err)
		}
		s.Mail = emails.Renderer{Brand: "Test Carrier"}
		start := time.Now()
		r, err := fill(s)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Logf("%s data set built in %s: %+v", name, time.Since(start).Round(time.Millisecond), r)
		if err := s.Close(); err != nil { // the last close checkpoints the WAL into the file
			tb.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			tb.Fatal(err)
		}
	})
	return path
}

// CopyFile copies a closed database file, or any file, to dst.
func CopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Timings are the durations of a benchmark's iterations, for the
// percentiles it reports.
type Timings []time.Duration

// Percentile is the duration that the share p of the timings (0.95 for the
// p95) take at most.
func (t Timings) Percentile(p float64) time.Duration {
	s := slices.Clone(t)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// Ms is Percentile in milliseconds, as the benchmarks report it.
func (t Timings) Ms(p float64) float64 { return float64(t.Percentile(p)) / float64(time.Millisecond) }

// Report reports the p50-ms and p95-ms of the timings.
func (t Timings) Report(b *testing.B) {
	if len(t) == 0 {
		return
	}
	b.ReportMetric(t.Ms(0.50), "p50-ms")
	b.ReportMetric(t.Ms(0.95), "p95-ms")
}

// RSS is the process's resident memory, from /proc (Linux); 0 elsewhere.
func RSS() uint64 {
	body, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(body))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(fields[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}
