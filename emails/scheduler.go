package emails

import (
	"context"
	"log/slog"
	"time"
)

// DefaultEvery is how often the scheduler looks for notices that are due.
const DefaultEvery = time.Minute

// Notifier queues the time-based notices due at its clock (db.Store).
type Notifier interface {
	NotifyDue(ctx context.Context) (int, error)
}

// Scheduler queues the notices that time brings — a plan ending soon, a plan
// ended — inside the portal, with no external cron: at its start, which
// catches up after downtime, then every Every. It wakes the outbox worker
// when it queued some.
type Scheduler struct {
	Store  Notifier
	Every  time.Duration
	Queued func() // wakes the outbox worker; may be nil
	Logger *slog.Logger
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
	if n > 0 && s.Queued != nil {
		s.Queued()
	}
}

func (s *Scheduler) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
