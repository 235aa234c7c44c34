package db

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestSchemaVersion(t *testing.T) {
	s := openTestStore(t)
	current, latest, err := s.SchemaVersion(context.Background())
	if err != nil || current != latest || latest < 6 {
		t.Errorf("schema version %d of %d, %v; want the latest", current, latest, err)
	}
}

// TestMigrationMergedLate opens a database that has every migration but one
// of a lower number, as when two branches each add one: the missing one runs.
func TestMigrationMergedLate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "late.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE usage_charges`, `DROP TABLE usage_records`, `DELETE FROM schema_migrations WHERE version = 4`} {
		if _, err := s.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Migration 4 rebuilds esim_plans and adds the usage tables; it runs
	// again here on a database that already has what 5 and 6 made.
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := count(t, s, `SELECT count(*) FROM sqlite_schema WHERE name = 'usage_records'`); n != 1 {
		t.Error("the migration merged late did not run")
	}
}

func TestCheckWritable(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if err := s.CheckWritable(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT count(*) FROM settings WHERE key = 'write_check'`); n != 0 {
		t.Error("the write check left its write behind")
	}
	// The writer pool has one connection: this makes the database read-only
	// for it, as a file opened without write permission is.
	if _, err := s.write.ExecContext(ctx, `PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckWritable(ctx); err == nil {
		t.Error("a read-only database passes the write check")
	}
}

func TestOutboxStats(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 3, 3)
	st, err := f.s.OutboxStats(ctx)
	if err != nil || st.Queued != 0 || !st.OldestQueued.IsZero() || st.Failed != 0 {
		t.Fatalf("empty outbox: %+v, %v", st, err)
	}
	for _, sub := range f.subs {
		if _, err := f.addLine(sub, "France", "EURO1"); err != nil {
			t.Fatal(err)
		}
	}
	due, err := f.s.DueEmails(ctx, f.s.Now().Add(time.Hour), 1)
	if err != nil || len(due) != 1 {
		t.Fatal(err)
	}
	if err := f.s.MarkEmailAttemptFailed(ctx, due[0].ID, "mailbox unknown", time.Time{}); err != nil {
		t.Fatal(err)
	}
	st, err = f.s.OutboxStats(ctx)
	if err != nil || st.Queued != 5 || st.Failed != 1 || st.OldestQueued.IsZero() || time.Since(st.OldestQueued) > time.Minute {
		t.Errorf("outbox after 3 Add lines and a failure: %+v, %v; want 5 queued, 1 failed", st, err)
	}
}

// TestObserve checks what the committer tells of its batches: every change
// in exactly one batch, with its wait.
func TestObserve(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	var mu sync.Mutex
	var changes, batches int
	s.Observe = func(b Batch) {
		mu.Lock()
		defer mu.Unlock()
		batches++
		changes += len(b.Waited)
		for _, w := range b.Waited {
			if w < 0 || w > time.Minute {
				t.Errorf("a wait of %s", w)
			}
		}
		if b.Failed || b.Took <= 0 {
			t.Errorf("batch %+v", b)
		}
	}
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if err := s.CheckWritable(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if changes != 40 || batches < 1 || batches > 40 {
		t.Errorf("%d changes in %d batches, want 40 changes", changes, batches)
	}
}
