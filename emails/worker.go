package emails

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	MarkEmailSent(ctx context.Context, e db.Email, at time.Time) error
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
	// Concurrency is how many emails are delivered at once. Each delivery
	// holds one slot until its email's outcome is recorded, and the next due
	// email takes the first slot that frees: a mail server that never
	// answers one email holds up that slot only, for as long as the Sender
	// waits. An email being delivered is never delivered again meanwhile,
	// so a crash can leave at most Concurrency emails sent and not marked.
	Concurrency int

	wake    Wake
	lastRun atomic.Int64 // unix nanoseconds, by Now, of the last look at the outbox

	mu         sync.Mutex
	delivering map[int64]time.Time // email id → when its delivery began, by Now
	held       map[int64]time.Time // email id → when it may be tried again: its outcome could not be recorded
	// finished holds the emails whose outcome was recorded, each with the
	// number of the look at the outbox under way then (looks counts them):
	// a look that began before the outcome was recorded may have read the
	// email as still queued, and must not deliver it again.
	finished map[int64]uint64
	looks    uint64
}

// Status is what the worker is doing, for readiness checks.
type Status struct {
	// LastRun is when the worker last looked at the outbox, by its Now; zero
	// before it first has. It looks at least every Poll, however long a
	// delivery takes, so a much older one means the worker stopped or is stuck.
	LastRun time.Time
	// Delivering holds when each delivery under way began, by its Now,
	// oldest first.
	Delivering []time.Time
}

// Status reports what the worker is doing now.
func (w *Worker) Status() Status {
	var s Status
	if ns := w.lastRun.Load(); ns != 0 {
		s.LastRun = time.Unix(0, ns).UTC()
	}
	w.mu.Lock()
	for _, began := range w.delivering {
		s.Delivering = append(s.Delivering, began)
	}
	w.mu.Unlock()
	slices.SortFunc(s.Delivering, time.Time.Compare)
	return s
}

// Notify wakes the worker to look at the outbox now. Handlers call it after
// queuing mail; it never blocks.
func (w *Worker) Notify() { w.wake.Notify() }

// Backoff is how long to wait before the next attempt after attempts failed
// ones: BaseBackoff doubled for each earlier failure, capped at MaxBackoff.
func (w *Worker) Backoff(attempts int) time.Duration {
	return Backoff(w.baseBackoff(), w.maxBackoff(), attempts)
}

// Run delivers due emails until ctx ends, then waits for the deliveries
// under way to record their outcomes.
func (w *Worker) Run(ctx context.Context) {
	var deliveries sync.WaitGroup
	defer deliveries.Wait()
	for ctx.Err() == nil {
		wait := w.poll()
		switch full, err := w.fill(ctx, &deliveries); {
		case err != nil:
			if ctx.Err() == nil {
				w.logger().Error("outbox: due emails", "err", err)
			}
		case !full:
			// Every email due now is being delivered: sleep until the next
			// one is due, unless a delivery ends or mail is queued first.
			next, ok, err := w.Store.NextEmailDue(ctx)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					w.logger().Error("outbox: next due email", "err", err)
				}
			case ok:
				if d := next.Sub(w.now()); d > 0 && d < wait {
					wait = d
				}
			}
		}
		w.wake.Sleep(ctx, wait)
	}
}

// fill starts delivering due emails, oldest first, into the free slots, and
// reports whether every slot is now taken.
func (w *Worker) fill(ctx context.Context, deliveries *sync.WaitGroup) (full bool, err error) {
	now := w.now()
	w.lastRun.Store(now.UnixNano())
	w.mu.Lock()
	for id, until := range w.held {
		if !now.Before(until) {
			delete(w.held, id)
		}
	}
	// What finished before this look began was recorded before it reads
	// the outbox, so the read sees it; what finishes from now on may not be.
	w.looks++
	look := w.looks
	for id, during := range w.finished {
		if during < look {
			delete(w.finished, id)
		}
	}
	busy := len(w.delivering) + len(w.held)
	free := w.concurrency() - len(w.delivering)
	w.mu.Unlock()
	if free <= 0 {
		return true, nil
	}
	// The emails being delivered or held are still queued, and may come
	// first: ask for enough to fill every free slot past them.
	due, err := w.Store.DueEmails(ctx, now, busy+free)
	if err != nil {
		return false, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.init()
	for _, e := range due {
		if free == 0 {
			break
		}
		if _, ok := w.delivering[e.ID]; ok {
			continue
		}
		if _, ok := w.held[e.ID]; ok {
			continue
		}
		if _, ok := w.finished[e.ID]; ok {
			continue
		}
		w.delivering[e.ID] = now
		free--
		deliveries.Go(func() { w.deliver(ctx, e) })
	}
	return free == 0, nil
}

// deliver attempts one email, frees its slot and wakes the worker to fill
// it. An email whose outcome could not be recorded is still due: it waits a
// poll before it is tried again, rather than going out in a tight loop.
func (w *Worker) deliver(ctx context.Context, e db.Email) {
	recorded := w.attempt(ctx, e)
	w.mu.Lock()
	delete(w.delivering, e.ID)
	if recorded {
		w.finished[e.ID] = w.looks
	} else {
		w.held[e.ID] = w.now().Add(w.poll())
	}
	w.mu.Unlock()
	w.Notify()
}

func (w *Worker) init() {
	if w.delivering == nil {
		w.delivering, w.held, w.finished = map[int64]time.Time{}, map[int64]time.Time{}, map[int64]uint64{}
	}
}

// attempt sends one email and records the outcome; it reports whether the
// outcome was recorded.
func (w *Worker) attempt(ctx context.Context, e db.Email) bool {
	log := w.logger().With("email_id", e.ID, "kind", e.Kind, "message_id", e.MessageID)
	err := e.Unwritten
	if err != nil {
		// Retried like a refused delivery: a fixed template may write it.
		err = fmt.Errorf("the email could not be written: %w", err)
	} else {
		err = w.Sender.Send(ctx, e)
	}
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
		if err := w.Store.MarkEmailSent(rctx, e, now); err != nil {
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
		retryAt = now.Add(Jitter(w.Backoff(attempts)))
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
