package emails

import (
	"context"
	"log/slog"
	"time"

	"github.com/carrier/esim-admin/db"
)

// DefaultEvery is how often the scheduler looks for notices that are due.
const DefaultEvery = time.Minute

// Notifier queues the time-based notices due at its clock (db.Store).
type Notifier interface {
	NotifyDue(ctx context.Context) (int, error)
}

// StockWatcher queues the low-stock emails to team leads (db.Store).
type StockWatcher interface {
	NotifyLowStock(ctx context.Context, reorderDays int) (int, error)
}

// Scheduler queues the notices that time brings — a plan ending soon, a plan
// ended — inside the portal, with no external cron: at its start, which
// catches up after downtime, then every Every. Once a UTC day, at the first
// tick of the day (and at its start), it has the stock checked for the
// low-stock email. It wakes the outbox worker when it queued some.
type Scheduler struct {
	Store  Notifier
	Every  time.Duration
	Queued func() // wakes the outbox worker; may be nil
	Logger *slog.Logger
	// Stock, when set, is checked once a day, with ReorderDays as the
	// reorder lead time (db.DefaultReorderDays when zero).
	Stock       StockWatcher
	ReorderDays int
	// Now says which UTC day it is; nil is the system's clock.
	Now func() time.Time

	stockDay string // the UTC day the stock was last checked
}

// Run ticks until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	every := defaultIfZero(s.Every, DefaultEvery)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Scheduler) tick(ctx context.Context) {
	n, err := s.Store.NotifyDue(ctx)
	if err != nil && ctx.Err() == nil {
		s.logger().Error("notices: scheduler pass failed", "err", err)
	}
	if today := s.now().UTC().Format(time.DateOnly); s.Stock != nil && today != s.stockDay {
		// A failed check is tried again at the next tick; the outbox's
		// unique index keeps a check that runs twice in a day from
		// emailing twice.
		m, err := s.Stock.NotifyLowStock(ctx, defaultIfZero(s.ReorderDays, db.DefaultReorderDays))
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger().Error("low stock: daily check failed", "err", err)
		case err == nil:
			s.stockDay = today
			n += m
		}
	}
	if n > 0 && s.Queued != nil {
		s.Queued()
	}
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Scheduler) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
