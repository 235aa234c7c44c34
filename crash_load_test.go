//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/carrier/esim-admin/db/dbtest"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// TestCrashDuringFirstLoad kills a first load of subscribers with SIGKILL
// after some of its batches are in, before it built their search index, and
// starts the program again on the database: the start indexes them, so that
// every subscriber the load brought in is found by search.
func TestCrashDuringFirstLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real program; skipped with -short")
	}
	bin := portaltest.BuildProgram(t)
	dbPath := filepath.Join(t.TempDir(), "load.db")
	const total = 100_000
	file := filepath.Join(t.TempDir(), "customers.jsonl")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range total {
		fmt.Fprintf(w, `{"account_number": "CL-%06d", "name": "Loaded %d", "email": "c%06d.zqcrash@example.com", "status": "active", "as_of": "2026-12-01T00:00:00Z", "home_plans": []}`+"\n", i, i, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	load := portaltest.Command(bin, "-demo=false", "-db", dbPath, "subscribers", "import", file)
	progress, err := load.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { load.Process.Kill() })
	// The progress line comes once batches are in: the kill waits for it.
	var seen []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(seen, []byte(" subscribers, ")) {
		n, err := progress.Read(buf)
		if err != nil {
			t.Fatalf("the load ended (%v) before it showed its progress: %s", err, seen)
		}
		seen = append(seen, buf[:n]...)
	}
	if err := load.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	load.Wait()

	ro := dbtest.ReadOnly(t, dbPath)
	loaded := dbtest.Count(t, ro, `SELECT count(*) FROM subscribers`)
	if loaded >= total {
		t.Fatalf("the load finished (%d subscribers) before the kill", loaded)
	}
	indexed := `SELECT count(*) FROM subscriber_search WHERE subscriber_search MATCH '"zqcrash"'`
	if n := dbtest.Count(t, ro, `SELECT count(*) FROM subscriber_search_pending`); n != 1 {
		t.Fatalf("after the kill: %d deferrals of the search index, want the load's one", n)
	}
	if n := dbtest.Count(t, ro, indexed); n >= loaded {
		t.Fatalf("after the kill: %d of %d subscribers indexed; the load did not leave its index to the end", n, loaded)
	}

	// The next start: a command, as the portal, opens the store.
	s := dbtest.OpenFile(t, dbPath)
	if n := dbtest.Count(t, ro, `SELECT count(*) FROM subscriber_search_pending`); n != 0 {
		t.Errorf("after the next start: %d deferrals left", n)
	}
	if n := dbtest.Count(t, ro, indexed); n != loaded {
		t.Errorf("after the next start: %d of the %d loaded subscribers are indexed for search", n, loaded)
	}
	last := fmt.Sprintf("%06d.zqcrash", loaded-1)
	found, err := s.SearchSubscribers(context.Background(), last, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].AccountNumber != fmt.Sprintf("CL-%06d", loaded-1) {
		t.Errorf("search for %q after the next start found %+v, want the last subscriber loaded", last, found)
	}
}
