package emails

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

type fakeNotices struct{ passes int }

func (f *fakeNotices) NotifyDue(context.Context) (int, error) { f.passes++; return 0, nil }

type fakeStock struct {
	checks  []int // the reorder days of each check
	queued  int
	failing bool
}

func (f *fakeStock) NotifyLowStock(_ context.Context, reorderDays int) (int, error) {
	f.checks = append(f.checks, reorderDays)
	if f.failing {
		return 0, errors.New("disk I/O error")
	}
	return f.queued, nil
}

// The stock is checked at the first tick and at the first tick of each UTC
// day after; a failed check is tried again at the next tick.
func TestSchedulerChecksTheStockDaily(t *testing.T) {
	now := time.Date(2026, 12, 1, 23, 58, 0, 0, time.UTC)
	notices, stock := &fakeNotices{}, &fakeStock{queued: 2}
	woken := 0
	s := &Scheduler{Store: notices, Stock: stock, ReorderDays: 21, Now: func() time.Time { return now },
		Queued: func() { woken++ }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := context.Background()
	tick := func(d time.Duration) {
		now = now.Add(d)
		s.tick(ctx)
	}
	tick(0)
	tick(time.Minute) // 23:59
	if len(stock.checks) != 1 || stock.checks[0] != 21 || woken != 1 {
		t.Fatalf("checks %v, worker woken %d times; want one check with 21 days, one wake", stock.checks, woken)
	}
	stock.failing = true
	tick(time.Minute) // midnight: the check fails...
	stock.failing = false
	tick(time.Minute) // ...and is made again
	tick(time.Minute)
	if len(stock.checks) != 3 || woken != 2 {
		t.Errorf("checks %v, worker woken %d times; want three checks (one failed), two wakes", stock.checks, woken)
	}
	if notices.passes != 5 {
		t.Errorf("%d notice passes, want one a tick (5)", notices.passes)
	}
	// Without a stock watcher the scheduler only sends notices; with no
	// lead time it uses the default.
	(&Scheduler{Store: notices}).tick(ctx)
	s2 := &Scheduler{Store: notices, Stock: stock}
	s2.tick(ctx)
	if got := stock.checks[len(stock.checks)-1]; got != 14 {
		t.Errorf("default lead time %d, want 14", got)
	}
}
