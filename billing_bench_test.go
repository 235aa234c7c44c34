package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carrier/esim-admin/demo/demotest"
)

// benchSubscribers is how many subscribers the import benchmark loads:
// 1,000,000, or ESIM_BENCH_SUBSCRIBERS of them.
func benchSubscribers(b *testing.B) int {
	if v := os.Getenv("ESIM_BENCH_SUBSCRIBERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("ESIM_BENCH_SUBSCRIBERS=%q", v)
		}
		return n
	}
	return 1_000_000
}

// billingExport writes (once, into the temporary folder) billing's export
// of n subscribers as JSON Lines, with 1.5 home plans each on average.
func billingExport(b *testing.B, n int) string {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("esim-bench-billing-%d.jsonl", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	f, err := os.Create(path + ".partial")
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	surnames := []string{"Silva", "Okoro", "Lind", "García", "Nakamura", "Dubois", "Rossi", "Novak", "Haddad", "Kowalski"}
	for i := range n {
		plans := fmt.Sprintf(`{"id": "HP-%d-1", "name": "Unlimited All", "kind": "unlimited_all", "lines": 1, "since": "2024-01-01T00:00:00Z"}`, i)
		if i%2 == 0 {
			plans += fmt.Sprintf(`, {"id": "HP-%d-2", "name": "Prepaid 5 GB", "kind": "other", "lines": 1, "since": "2025-06-01T00:00:00Z"}`, i)
		}
		fmt.Fprintf(w, `{"account_number": "BX-%08d", "name": "Customer%d %s", "email": "customer%d@example.com", "phone": "+44 7700 %06d", "status": "active", "as_of": "2026-12-01T00:00:00Z", "home_plans": [%s]}`+"\n",
			i, i, surnames[i%len(surnames)], i, i%1_000_000, plans)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	if err := os.Rename(path+".partial", path); err != nil {
		b.Fatal(err)
	}
	return path
}

// peakRSS samples the process's resident memory until stop is closed and
// returns its highest.
func peakRSS(stop <-chan struct{}) func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if r := demotest.RSS(); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { <-done; return peak.Load() }
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSubscribersImport loads billing's export of a million
// subscribers (ESIM_BENCH_SUBSCRIBERS) into a new database, then imports the
// same file again, and reports each one's time and the process's peak
// memory. Targets: under 60 s and 300 MB for the first load, under 30 s for
// the same file again.
//
//	go test -run '^$' -bench SubscribersImport -benchtime 1x .
func BenchmarkSubscribersImport(b *testing.B) {
	n := benchSubscribers(b)
	file := billingExport(b, n)
	for b.Loop() {
		dbPath := filepath.Join(b.TempDir(), "billing.db")
		for _, pass := range []string{"first", "again"} {
			runtime.GC()
			stop := make(chan struct{})
			peak := peakRSS(stop)
			start, cpu := time.Now(), cpuTime()
			err := run(context.Background(), []string{"-demo=false", "-db", dbPath, "subscribers", "import", file}, env(nil),
				strings.NewReader(""), io.Discard, io.Discard)
			took, used := time.Since(start), cpuTime()-cpu
			close(stop)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(took.Seconds(), pass+"-s")
			b.ReportMetric(float64(n)/took.Seconds(), pass+"-subscribers/s")
			b.ReportMetric(float64(peak())/(1<<20), pass+"-peak-MB")
			// The CPU it took, which other work on a shared machine does not inflate.
			b.ReportMetric(used.Seconds(), pass+"-cpu-s")
		}
	}
}
