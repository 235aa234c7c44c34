package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// batchBehind holds the committer in a change until release is closed, so the
// changes started meanwhile queue up and share the next batch.
func batchBehind(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, hold := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.inTx(context.Background(), func(ctx context.Context, tx *change) error {
			close(started)
			<-hold
			return nil
		})
	}()
	<-started
	return func() {
		close(hold)
		if err := <-done; err != nil {
			t.Errorf("holding change: %v", err)
		}
	}
}

// slowWrite takes SQLite long enough for a cancellation to land inside it. An
// interrupted INSERT makes SQLite roll back the whole transaction, not only
// the statement: what a hang-up used to do to every change of the batch.
const slowWrite = `INSERT INTO settings (key, value)
	WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 400000) SELECT 'bulk-' || i, i FROM r`

// TestCancelledCallerFailsNoNeighbour: a caller that goes away while its change
// runs (a client hanging up) can neither interrupt SQLite nor fail the change
// that shares its batch; its own change is committed too.
func TestCancelledCallerFailsNoNeighbour(t *testing.T) {
	s := openTestStore(t)
	release := batchBehind(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	inSlow := make(chan struct{})
	slow, neighbour := make(chan error, 1), make(chan error, 1)
	go func() {
		slow <- s.inTx(ctx, func(ctx context.Context, tx *change) error {
			close(inSlow)
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('slow', 'v')`); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, slowWrite)
			return err
		})
	}()
	time.Sleep(20 * time.Millisecond) // the slow change waits first in line
	go func() {
		neighbour <- s.inTx(context.Background(), func(ctx context.Context, tx *change) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('neighbour', 'v')`)
			return err
		})
	}()
	time.Sleep(20 * time.Millisecond)
	release()
	<-inSlow
	time.Sleep(10 * time.Millisecond)
	cancel() // the caller hangs up in the middle of the slow statement
	if err := <-slow; err != nil {
		t.Errorf("the cancelled caller's change: %v, want it run to its end", err)
	}
	if err := <-neighbour; err != nil {
		t.Errorf("the neighbouring change: %v, want committed", err)
	}
	if got := count(t, s, `SELECT count(*) FROM settings WHERE key IN ('slow', 'neighbour')`); got != 2 {
		t.Errorf("rows committed = %d, want 2", got)
	}
}

// TestLostBatchRunsTheOthersAlone: when SQLite gives up a shared transaction
// (here a change's own deadline interrupts it), every other change of the
// batch is committed in a transaction of its own.
func TestLostBatchRunsTheOthersAlone(t *testing.T) {
	s := openTestStore(t)
	release := batchBehind(t, s)
	results := make(chan error, 3)
	write := func(key string) {
		results <- s.inTx(context.Background(), func(ctx context.Context, tx *change) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, key)
			return err
		})
	}
	go write("before")
	time.Sleep(20 * time.Millisecond)
	deadline, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	late := make(chan error, 1)
	go func() {
		late <- s.inTx(deadline, func(ctx context.Context, tx *change) error {
			for {
				if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key GLOB 'bulk-*'`); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, slowWrite); err != nil {
					return err
				}
			}
		})
	}()
	time.Sleep(20 * time.Millisecond)
	go write("after")
	time.Sleep(20 * time.Millisecond)
	release()
	if err := <-late; err == nil {
		t.Error("the change past its deadline succeeded")
	}
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("a neighbour of the lost change: %v, want committed alone", err)
		}
	}
	if got := count(t, s, `SELECT count(*) FROM settings WHERE key IN ('before', 'after')`); got != 2 {
		t.Errorf("rows committed = %d, want 2", got)
	}
}

// TestWriteInsideWriteFailsAtOnce: a change that opens another change would
// wait forever for the committer that runs it; it fails at once instead.
func TestWriteInsideWriteFailsAtOnce(t *testing.T) {
	s := openTestStore(t)
	done := make(chan error, 1)
	go func() {
		done <- s.inTx(context.Background(), func(ctx context.Context, tx *change) error {
			return s.RecordSignIn(ctx, Login{ID: 1})
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errNestedWrite) {
			t.Errorf("nested write: %v, want errNestedWrite", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write inside a write is still waiting after 5 s")
	}
}

// TestOneTimePerChange: everything one change writes carries one time.
func TestOneTimePerChange(t *testing.T) {
	s := openTestStore(t)
	tick := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { tick = tick.Add(time.Millisecond); return tick }
	l, err := s.CreateLogin(context.Background(), "a@example.com", "A", RoleLead, "long enough")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddLogin(context.Background(), "b@example.com", "B", RoleAgent, "long enough", l); err != nil {
		t.Fatal(err)
	}
	if got := count(t, s, `SELECT count(*) FROM logins l JOIN audit_log a ON a.at = l.created_at WHERE l.email = 'b@example.com'`); got != 1 {
		t.Errorf("the login and its audit entry have different times")
	}
}

// TestWriterKeepsItsStatements: a statement a change runs is prepared once
// its batch has committed, and kept for the next batches; however many
// statements changes make up, the writer keeps at most maxStatements, and
// those still run.
func TestWriterKeepsItsStatements(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	const put = `INSERT INTO settings (key, value) VALUES (?, ?)`
	kept := func() (n int, hasPut bool) {
		t.Helper()
		err := s.inTx(ctx, func(ctx context.Context, c *change) error {
			_, hasPut = c.stmts.kept[put]
			n = len(c.stmts.kept)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n, hasPut
	}
	for i := range 2 {
		if err := s.inTx(ctx, func(ctx context.Context, c *change) error {
			_, err := c.ExecContext(ctx, put, fmt.Sprintf("key-%d", i), i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, hasPut := kept(); !hasPut {
			t.Fatalf("after batch %d the writer does not keep %q", i+1, put)
		}
	}
	// Statements made up per change, as a VALUES list of a batch's rows is.
	if err := s.inTx(ctx, func(ctx context.Context, c *change) error {
		for i := range maxStatements + 10 {
			var n int
			if err := c.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d + ?`, i), 1).Scan(&n); err != nil || n != i+1 {
				return fmt.Errorf("statement %d: %d, %v", i, n, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, _ := kept(); n > maxStatements {
		t.Errorf("the writer keeps %d statements, want at most %d", n, maxStatements)
	}
	if err := s.inTx(ctx, func(ctx context.Context, c *change) error {
		_, err := c.ExecContext(ctx, put, "key-after", 3)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT count(*) FROM settings WHERE key LIKE 'key-%'`); n != 3 {
		t.Errorf("%d settings written, want 3", n)
	}
}

// TestRefusedChangeLeavesNothing: a change that writes and then fails is
// undone whole, alone in its batch or beside others (each change of a batch
// runs in a savepoint of its own), and its neighbours are kept.
func TestRefusedChangeLeavesNothing(t *testing.T) {
	s := openTestStore(t)
	var mu sync.Mutex
	var sizes []int // of the batches committed, in order
	s.Observe = func(b Batch) {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(b.Waited))
	}
	ctx := context.Background()
	refused := errors.New("refused")
	write := func(key string, fail bool) error {
		return s.inTx(ctx, func(ctx context.Context, tx *change) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, key); err != nil {
				return err
			}
			if fail {
				return refused
			}
			return nil
		})
	}
	has := func(key string) bool { return count(t, s, `SELECT count(*) FROM settings WHERE key = ?`, key) == 1 }
	// Alone.
	if err := write("alone-refused", true); !errors.Is(err, refused) {
		t.Fatalf("a refused change alone: %v", err)
	}
	if err := write("alone-after", false); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{"alone-refused": false, "alone-after": true} {
		if has(key) != want {
			t.Errorf("%s kept: %v, want %v", key, has(key), want)
		}
	}
	// Behind a held change, the refused one between two neighbours, until
	// the three share the next batch: they queue while it is held, but a
	// goroutine may come to the queue only after it is let go.
	for attempt := range 20 {
		release := batchBehind(t, s)
		mu.Lock()
		sizes = sizes[:0]
		mu.Unlock()
		results := make(chan error, 3)
		keys := []string{fmt.Sprintf("before-%d", attempt), fmt.Sprintf("refused-%d", attempt), fmt.Sprintf("after-%d", attempt)}
		for i, key := range keys {
			go func() { results <- write(key, i == 1) }()
		}
		release()
		for range 3 {
			if err := <-results; err != nil && !errors.Is(err, refused) {
				t.Fatal(err)
			}
		}
		mu.Lock()
		shared := slices.Contains(sizes, 3)
		mu.Unlock()
		if !shared {
			continue
		}
		for i, key := range keys {
			if want := i != 1; has(key) != want {
				t.Errorf("%s kept: %v, want %v", key, has(key), want)
			}
		}
		return
	}
	t.Fatal("the three changes never shared a batch in 20 attempts")
}
