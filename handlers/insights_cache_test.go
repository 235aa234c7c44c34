package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
)

// fakeFigures stands in for the store's read of the figures: each read is
// numbered, taken at the fake clock, and waits for release when gated.
type fakeFigures struct {
	mu      sync.Mutex
	now     time.Time
	reads   atomic.Int32
	gate    chan struct{} // when set, a read waits for a value on it
	failing bool
}

func (f *fakeFigures) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeFigures) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fakeFigures) read(ctx context.Context) (*db.Insights, error) {
	n := f.reads.Add(1)
	at := f.clock()
	f.mu.Lock()
	gate, failing := f.gate, f.failing
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if failing {
		return nil, errors.New("disk I/O error")
	}
	// Free stands for the read's number, so a test can tell reads apart.
	return &db.Insights{At: at, Free: map[int]int{7: int(n)}}, nil
}

func newTestCache(f *fakeFigures) *insightsCache {
	return &insightsCache{read: f.read, now: f.clock, ttl: 5 * time.Minute, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func readNumber(t *testing.T, c *insightsCache) int {
	t.Helper()
	in, err := c.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return in.Free[7]
}

// waitIdle waits for the background read to end.
func waitIdle(c *insightsCache) {
	for {
		c.mu.Lock()
		running := c.running
		c.mu.Unlock()
		if running == nil {
			return
		}
		<-running
	}
}

func TestInsightsCache(t *testing.T) {
	t.Run("FreshFiguresAreKept", func(t *testing.T) {
		f := &fakeFigures{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		c := newTestCache(f)
		for range 5 {
			if n := readNumber(t, c); n != 1 {
				t.Fatalf("read %d, want the first", n)
			}
			f.advance(time.Minute - time.Second)
		}
		if f.reads.Load() != 1 {
			t.Errorf("%d reads within the 5 minutes, want 1", f.reads.Load())
		}
	})
	t.Run("OldFiguresAreShownWhileANewReadRuns", func(t *testing.T) {
		f := &fakeFigures{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		c := newTestCache(f)
		readNumber(t, c)
		f.advance(5 * time.Minute)
		f.gate = make(chan struct{})
		// Many requests at once: each gets the old figures at once, and
		// one read runs for all of them.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if n := readNumber(t, c); n != 1 {
					t.Errorf("got read %d while the new one runs, want the old one", n)
				}
			})
		}
		wg.Wait()
		close(f.gate)
		waitIdle(c)
		f.gate = nil
		if n := readNumber(t, c); n != 2 || f.reads.Load() != 2 {
			t.Errorf("after the new read: read %d of %d, want 2 of 2", n, f.reads.Load())
		}
	})
	t.Run("AnImportWaitsForNewFigures", func(t *testing.T) {
		f := &fakeFigures{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		c := newTestCache(f)
		readNumber(t, c)
		f.advance(5*time.Minute + time.Second)
		f.gate = make(chan struct{})
		readNumber(t, c) // starts read 2, before the drop
		c.drop()
		got := make(chan int)
		go func() { got <- readNumber(t, c) }()
		close(f.gate) // read 2 ends; it started before the drop, so read 3 follows
		if n := <-got; n != 3 {
			t.Errorf("after the drop: read %d, want 3, made after it", n)
		}
	})
	t.Run("AFailedReadIsAnError", func(t *testing.T) {
		f := &fakeFigures{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), failing: true}
		c := newTestCache(f)
		if _, err := c.get(context.Background()); err == nil {
			t.Fatal("no error with no figures")
		}
		f.failing = false
		readNumber(t, c)
		// Once there are figures, a failed read keeps them.
		f.failing = true
		f.advance(time.Hour)
		if n := readNumber(t, c); n != 2 {
			t.Errorf("got read %d, want the last good one, 2", n)
		}
		waitIdle(c)
	})
	t.Run("AWaitEndsWithTheRequest", func(t *testing.T) {
		f := &fakeFigures{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), gate: make(chan struct{})}
		c := newTestCache(f)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.get(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want the request's", err)
		}
		close(f.gate)
		waitIdle(c)
	})
}
