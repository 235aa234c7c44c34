package emails

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/carrier/esim-admin/db"
)

// Outbox is what the worker needs from the store.
type Outbox interface {
	DueEmails(ctx context.Context, now time.Time, limit int) ([]db.Email, error)
	NextEmailDue(ctx context.Context) (time.Time, bool, error)
	MarkEmailSent(ctx context.Context, id int64, at time.Time) error
	MarkEmailAttemptFailed(ctx context.Context, id int64, reason string, retryAt time.Time) error
}

// Mailer delivers one email; *Sender is one.
type Mailer interface {
	Send(ctx context.Context, e db.Email) error
}

// Defaults of the Worker's zero fields.
const (
	DefaultMaxAttempts = 8
	DefaultBaseBackoff = 30 * time.Second
	DefaultMaxBackoff  = 30 * time.Minute
	DefaultPoll        = 2 * time.Second
	DefaultBatch       = 20
	DefaultConcurrency = 4
)

// Worker delivers the outbox. All its state is in the store, so a restarted
// worker carries on where the last one stopped.
type Worker struct {
	Store       Outbox
	Sender      Mailer
	Logger      *slog.Logger
	Now         func() time.Time
	MaxAttempts int           // attempts before an email is failed for good
	BaseBackoff time.Duration // wait after the first failed attempt
	MaxBackoff  time.Duration // longest wait between attempts
	Poll        time.Duration // longest sleep between looks at the outbox
	Batch       int           // emails fetched per look
	// Concurrency is how many emails of a batch are delivered at once: a
	// slow or silent mail server then holds up a few at a time, not all.
	// Each email of a batch is sent by one delivery, and the next batch is
	// fetched when the whole batch is done, so none is sent twice at once.
	Concurrency int

	wakeOnce sync.Once
	wake     chan struct{}
	lastRun  atomic.Int64 // unix nanoseconds of the last look at the outbox
}

// LastRun is when the worker last looked at the outbox, by the real clock;
// zero before it first has. A worker waits at most Poll between looks, so a
// much older one has stopped or is stuck.
func (w *Worker) LastRun() time.Time {
	if ns := w.lastRun.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Notify wakes the worker to look at the outbox now. Handlers call it after
// queuing mail; it never blocks.
func (w *Worker) Notify() {
	select {
	case w.wakeup() <- struct{}{}:
	default:
	}
}

func (w *Worker) wakeup() chan struct{} {
	w.wakeOnce.Do(func() { w.wake = make(chan struct{}, 1) })
	return w.wake
}

// Backoff is how long to wait before the next attempt after attempts failed
// ones: BaseBackoff doubled for each earlier failure, capped at MaxBackoff.
func (w *Worker) Backoff(attempts int) time.Duration {
	base, limit := w.baseBackoff(), w.maxBackoff()
	d := base
	for range max(attempts-1, 0) {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

// Run delivers due emails until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	wake := w.wakeup()
	for ctx.Err() == nil {
		progressed := w.drain(ctx)
		wait := w.poll()
		next, ok, err := w.Store.NextEmailDue(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				w.logger().Error("outbox: next due email", "err", err)
			}
		case ok:
			// An email still due after a round that made no progress is one
			// the store could not update: wait a poll instead of spinning.
			if d := next.Sub(w.now()); d < wait && (d > 0 || progressed) {
				wait = max(d, 0)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// drain sends the emails due now, a batch at a time, and reports whether it
// recorded any outcome.
func (w *Worker) drain(ctx context.Context) bool {
	progressed := false
	for ctx.Err() == nil {
		w.lastRun.Store(time.Now().UnixNano())
		due, err := w.Store.DueEmails(ctx, w.now(), w.batch())
		if err != nil {
			if ctx.Err() == nil {
				w.logger().Error("outbox: due emails", "err", err)
			}
			return progressed
		}
		var recorded atomic.Int64
		slots := make(chan struct{}, w.concurrency())
		var wg sync.WaitGroup
		for _, e := range due {
			if ctx.Err() != nil {
				break
			}
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				if w.attempt(ctx, e) {
					recorded.Add(1)
				}
			})
		}
		wg.Wait()
		progressed = progressed || recorded.Load() > 0
		if ctx.Err() != nil || len(due) < w.batch() || int(recorded.Load()) < len(due) {
			return progressed
		}
	}
	return progressed
}

// attempt sends one email and records the outcome; it reports whether the
// outcome was recorded.
func (w *Worker) attempt(ctx context.Context, e db.Email) bool {
	log := w.logger().With("email_id", e.ID, "kind", e.Kind, "message_id", e.MessageID)
	err := w.Sender.Send(ctx, e)
	unconfirmed := errors.Is(err, ErrUnconfirmed)
	if err != nil && ctx.Err() != nil && !unconfirmed {
		// Shutting down is not the server's fault: leave the attempt uncounted.
		return false
	}
	// The outcome is recorded even if ctx ends meanwhile: a delivered email
	// not marked sent would be delivered again after a restart.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := w.now()
	if err == nil {
		if err := w.Store.MarkEmailSent(rctx, e.ID, now); err != nil {
			log.Error("outbox: mark sent", "err", err)
			return false
		}
		log.Info("email sent", "attempt", e.Attempts+1)
		return true
	}
	attempts := e.Attempts + 1
	var retryAt time.Time
	// An email that may have arrived is not sent again by itself: the
	// failure says so, and an agent retries it if the customer has nothing.
	if attempts < w.maxAttempts() && !errors.Is(err, ErrPermanent) && !unconfirmed {
		retryAt = now.Add(jitter(w.Backoff(attempts)))
	}
	if merr := w.Store.MarkEmailAttemptFailed(rctx, e.ID, reason(err), retryAt); merr != nil {
		log.Error("outbox: mark attempt failed", "err", merr, "send_err", err)
		return false
	}
	if retryAt.IsZero() {
		log.Error("email failed for good", "attempt", attempts, "err", err)
	} else {
		log.Warn("email attempt failed", "attempt", attempts, "retry_at", retryAt, "err", err)
	}
	return true
}

// jitter adds up to a tenth, so emails that failed together do not all retry
// in the same instant.
func jitter(d time.Duration) time.Duration {
	if d < 10 {
		return d
	}
	return d + rand.N(d/10)
}

// reason is the error as agents see it on the email, kept to a sane length.
func reason(err error) string {
	const limit = 500
	s := err.Error()
	if len(s) > limit {
		i := limit
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return s
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now().UTC()
}

// logger is the worker's log, with no email address in it.
func (w *Worker) logger() *slog.Logger {
	l := w.Logger
	if l == nil {
		l = slog.Default()
	}
	return slog.New(Redact(l.Handler()))
}

func (w *Worker) maxAttempts() int    { return defaultIfZero(w.MaxAttempts, DefaultMaxAttempts) }
func (w *Worker) batch() int          { return defaultIfZero(w.Batch, DefaultBatch) }
func (w *Worker) concurrency() int    { return defaultIfZero(w.Concurrency, DefaultConcurrency) }
func (w *Worker) poll() time.Duration { return defaultIfZero(w.Poll, DefaultPoll) }
func (w *Worker) baseBackoff() time.Duration {
	return defaultIfZero(w.BaseBackoff, DefaultBaseBackoff)
}
func (w *Worker) maxBackoff() time.Duration { return defaultIfZero(w.MaxBackoff, DefaultMaxBackoff) }

func defaultIfZero[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
