package emails

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// The habits of the portal's background workers (the outbox's and the
// SM-DP+'s provisioning): woken when work is queued, retrying with
// doubling, capped, jittered waits.

// Backoff is the wait after attempts failed ones: base doubled for each
// earlier failure, capped at limit.
func Backoff(base, limit time.Duration, attempts int) time.Duration {
	d := base
	for range max(attempts-1, 0) {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

// Jitter adds up to a tenth to d, so that what failed together does not all
// retry in the same instant.
func Jitter(d time.Duration) time.Duration {
	if d < 10 {
		return d
	}
	return d + rand.N(d/10)
}

// Wake wakes a worker: Notify never blocks, and wakes after many
// notifications once. The zero Wake is ready to use.
type Wake struct {
	once sync.Once
	ch   chan struct{}
}

// Notify wakes the worker, or leaves a wake-up for its next wait.
func (w *Wake) Notify() {
	select {
	case w.C() <- struct{}{}:
	default:
	}
}

// C is what the worker waits on.
func (w *Wake) C() chan struct{} {
	w.once.Do(func() { w.ch = make(chan struct{}, 1) })
	return w.ch
}

// Sleep waits until d has passed, the worker is notified or ctx ends,
// whichever comes first.
func (w *Wake) Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-w.C():
	case <-t.C:
	}
}
