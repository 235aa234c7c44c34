package db

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackupDuringAddLines backs the database up while agents add lines,
// restores the backup, and finds a whole database: every allocated eSIM
// with its plan and its two emails, the stock counts right, and some but
// not all of the stream's lines in it.
func TestBackupDuringAddLines(t *testing.T) {
	ctx := context.Background()
	const lines = 240
	f := newFixture(t, lines, lines)
	dir := t.TempDir()
	live := f.s.path(t)

	var done atomic.Int64
	work := make(chan int64, lines)
	for _, sub := range f.subs {
		work <- sub
	}
	close(work)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for sub := range work {
				if _, err := f.addLine(sub, "France", "EURO1"); err != nil {
					t.Error(err)
					return
				}
				done.Add(1)
			}
		})
	}
	for done.Load() < lines/4 {
		time.Sleep(time.Millisecond)
	}
	backup := filepath.Join(dir, "backup.db")
	rep, err := Backup(ctx, live, backup)
	atBackup := done.Load()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Allocated == 0 || rep.Subscribers != lines || rep.Bytes == 0 {
		t.Errorf("backup report %+v", rep)
	}
	t.Logf("backup with %d of %d lines done when it ended: %s", atBackup, lines, rep.Summary())

	target := filepath.Join(dir, "restored.db")
	got, kept, err := Restore(ctx, backup, target, time.Now())
	if err != nil || kept != "" {
		t.Fatalf("restore: %v (kept %q)", err, kept)
	}
	if got.StockRecounted {
		t.Error("the backup's stock counts did not match its inventory")
	}
	s, err := Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckStock(ctx); err != nil {
		t.Error(err)
	}
	allocated := count(t, s, `SELECT count(*) FROM esims WHERE state = 'allocated'`)
	if allocated < lines/4 || allocated >= lines {
		t.Errorf("%d lines in the backup, want the %d done when it started or more, and not all %d", allocated, lines/4, lines)
	}
	for what, query := range map[string]string{
		"allocated eSIMs without exactly one plan": `SELECT count(*) FROM esims e WHERE state = 'allocated'
			AND (SELECT count(*) FROM esim_plans p WHERE p.iccid = e.iccid) <> 1`,
		"allocated eSIMs without their two emails": `SELECT count(*) FROM esims e WHERE state = 'allocated'
			AND (SELECT count(*) FROM outbox o WHERE o.iccid = e.iccid) <> 2`,
		"Add lines without their audit entry": `SELECT count(*) FROM esims e WHERE state = 'allocated'
			AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.iccid = e.iccid AND a.action = 'add_line')`,
	} {
		if n := count(t, s, query); n != 0 {
			t.Errorf("%d %s", n, what)
		}
	}
}

func TestRestore(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 3, 3)
	if _, err := f.addLine(f.subs[0], "France", "EURO1"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	backup := filepath.Join(dir, "backup.db")
	if _, err := Backup(ctx, f.s.path(t), backup); err != nil {
		t.Fatal(err)
	}
	if _, err := Backup(ctx, f.s.path(t), backup); err == nil {
		t.Error("a backup over an existing file")
	}
	target := filepath.Join(dir, "portal.db")
	fresh := func(t *testing.T) {
		t.Helper()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(target + suffix)
		}
		s, err := Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		s, err := Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if n := count(t, s, `SELECT count(*) FROM esims`); n != 0 {
			t.Errorf("the refused restore replaced the database: %d eSIMs", n)
		}
	}

	t.Run("RunningPortal", func(t *testing.T) {
		fresh(t)
		lock, err := LockDatabase(target, "portal, pid 1, on 127.0.0.1:8080")
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Release()
		_, _, err = Restore(ctx, backup, target, time.Now())
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid 1, on 127.0.0.1:8080") {
			t.Errorf("restore under a running portal: %v", err)
		}
		lock.Release()
		unchanged(t)
	})
	t.Run("NotADatabase", func(t *testing.T) {
		fresh(t)
		junk := filepath.Join(dir, "junk.db")
		os.WriteFile(junk, []byte(strings.Repeat("not sqlite ", 1000)), 0o600)
		if _, _, err := Restore(ctx, junk, target, time.Now()); err == nil {
			t.Error("a file of junk was restored")
		}
		unchanged(t)
	})
	t.Run("Torn", func(t *testing.T) {
		fresh(t)
		body, _ := os.ReadFile(backup)
		torn := filepath.Join(dir, "torn.db")
		os.WriteFile(torn, body[:len(body)*2/3], 0o600)
		if _, _, err := Restore(ctx, torn, target, time.Now()); err == nil {
			t.Error("two thirds of a backup were restored")
		}
		unchanged(t)
	})
	t.Run("NewerSchema", func(t *testing.T) {
		fresh(t)
		newer := filepath.Join(dir, "newer.db")
		copyFile(backup, newer)
		execOn(t, newer, `INSERT INTO schema_migrations (version, applied_at) VALUES (9999, '2030-01-01T00:00:00.000Z')`)
		if _, _, err := Restore(ctx, newer, target, time.Now()); err == nil || !strings.Contains(err.Error(), "9999") {
			t.Errorf("a copy from a newer program: %v", err)
		}
		unchanged(t)
	})
	t.Run("StockCountsWrong", func(t *testing.T) {
		fresh(t)
		off := filepath.Join(dir, "off.db")
		copyFile(backup, off)
		execOn(t, off, `UPDATE esim_stock SET count = count + 5 WHERE state = 'free'`)
		rep, _, err := Restore(ctx, off, target, time.Now())
		if err != nil || !rep.StockRecounted {
			t.Fatalf("restore of a copy with wrong counts: %v, %+v", err, rep)
		}
		s, err := Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.CheckStock(ctx); err != nil {
			t.Error(err)
		}
	})
	t.Run("KeepsTheOldOne", func(t *testing.T) {
		fresh(t)
		rep, kept, err := Restore(ctx, backup, target, time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if want := target + ".before-restore-20261201T093000Z"; kept != want {
			t.Errorf("the replaced database is kept as %q, want %q", kept, want)
		}
		if _, err := os.Stat(kept); err != nil {
			t.Error(err)
		}
		s, err := Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if n := count(t, s, `SELECT count(*) FROM esims WHERE state = 'allocated'`); n != 1 || rep.Allocated != 1 {
			t.Errorf("restored %d allocated eSIMs (report %d), want the backup's 1", n, rep.Allocated)
		}
	})
}

func TestLockDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	first, err := LockDatabase(path, "portal, pid 42")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockDatabase(path, "portal, pid 43"); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid 42") {
		t.Errorf("second lock: %v, want ErrLocked naming pid 42", err)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := LockDatabase(path, "portal, pid 44")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.Release()
}

// path is the file of the store, for the tests that copy it.
func (s *Store) path(t *testing.T) string {
	t.Helper()
	var file string
	if err := s.read.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		t.Fatal(err)
	}
	return file
}

// execOn runs a statement on a database file behind any store's back.
func execOn(t *testing.T, path, query string) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
