package smdp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/emails"
)

// Orders is what the worker needs from the store (db/provisioning.go has
// the rules it follows).
type Orders interface {
	DueSMDPOrders(ctx context.Context, now time.Time, limit int) ([]db.SMDPJob, error)
	NextSMDPOrderDue(ctx context.Context) (time.Time, bool, error)
	SMDPOrderConfirming(ctx context.Context, iccid string) error
	SMDPOrderAttemptFailed(ctx context.Context, iccid, reason string, retryAt time.Time) error
	SMDPOrderReleased(ctx context.Context, iccid, matchingID, smdpAddress string) error
	SMDPOrderRefused(ctx context.Context, iccid, code, said string) error
	SMDPOrderCancelled(ctx context.Context, iccid, said string) error
}

// Defaults of the Worker's zero fields.
const (
	DefaultBaseBackoff = 10 * time.Second
	DefaultMaxBackoff  = 10 * time.Minute
	DefaultPoll        = 5 * time.Second
	DefaultConcurrency = 16
)

// Worker releases the profile of every eSIM allocated with an SM-DP+
// configured, and cancels the orders of the eSIMs replaced. All its state is
// in the store, so a restarted worker carries on where the last one stopped.
type Worker struct {
	Store  Orders
	Client *Client
	Logger *slog.Logger
	Now    func() time.Time
	// MailQueued wakes the outbox worker when a QR email was released.
	MailQueued func()
	// Observe, when set, counts each call: its function and its result
	// (ok, failed, transport).
	Observe     func(function, result string)
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	Poll        time.Duration
	Concurrency int

	wake    emails.Wake
	lastRun atomic.Int64 // unix nanoseconds, by Now, of the last look for due orders
}

// LastRun is when the worker last looked for due orders, by its Now; zero
// before it first has. It looks again once the calls of its last look are
// done, and each call gives up after the Client's Timeout.
func (w *Worker) LastRun() time.Time {
	if ns := w.lastRun.Load(); ns != 0 {
		return time.Unix(0, ns).UTC()
	}
	return time.Time{}
}

// Notify wakes the worker to look for orders now; it never blocks.
func (w *Worker) Notify() { w.wake.Notify() }

// Backoff is the wait after attempts failed calls: BaseBackoff doubled for
// each earlier failure, capped at MaxBackoff. An SM-DP+ that is down for
// long is tried every MaxBackoff for as long as it takes: the eSIM cannot
// be installed without it.
func (w *Worker) Backoff(attempts int) time.Duration {
	return emails.Backoff(def(w.BaseBackoff, DefaultBaseBackoff), def(w.MaxBackoff, DefaultMaxBackoff), attempts)
}

// Run works on due orders until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		wait := def(w.Poll, DefaultPoll)
		now := w.now()
		w.lastRun.Store(now.UnixNano())
		jobs, err := w.Store.DueSMDPOrders(ctx, now, def(w.Concurrency, DefaultConcurrency))
		if err != nil && ctx.Err() == nil {
			w.logger().Error("smdp: due orders", "err", err)
		}
		var batch sync.WaitGroup
		var unrecorded atomic.Bool
		for _, j := range jobs {
			batch.Go(func() {
				if !w.work(ctx, j) {
					unrecorded.Store(true)
				}
			})
		}
		batch.Wait()
		// An outcome the store could not take leaves its order due: it waits
		// a poll rather than being called again in a tight loop.
		if len(jobs) > 0 && !unrecorded.Load() {
			continue // more may be due
		}
		if next, ok, err := w.Store.NextSMDPOrderDue(ctx); err == nil && ok {
			if d := next.Sub(w.now()); d < wait {
				wait = max(d, 0)
			}
		}
		w.wake.Sleep(ctx, wait)
	}
}

// work makes the calls one order is due for and records their outcome; it
// reports whether the outcome was recorded.
func (w *Worker) work(ctx context.Context, j db.SMDPJob) (recorded bool) {
	log := w.logger().With("iccid", j.ICCID, "state", j.State, "step", j.Step)
	recorded = true
	// The outcome is recorded even if ctx ends meanwhile: a call that went
	// through and is not recorded would be made again after a restart.
	record := func(what string, err error) {
		if err != nil {
			log.Error("smdp: record "+what, "err", err)
			recorded = false
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if j.State == db.SMDPCancelling {
		matchingID := ""
		if j.Released {
			matchingID = j.MatchingID
		}
		err := w.observe(FuncCancelOrder, w.Client.CancelOrder(ctx, j.ICCID, matchingID, FinalUnavailable))
		var refused *StatusError
		switch {
		case err == nil:
			record("cancelled order", w.Store.SMDPOrderCancelled(rctx, j.ICCID, ""))
		case errors.As(err, &refused):
			// Downloaded meanwhile, or never allocated: nothing to cancel.
			record("cancelled order", w.Store.SMDPOrderCancelled(rctx, j.ICCID, Explain(refused.StatusCodeData)))
		default:
			record("attempt", w.retry(ctx, rctx, log, j, err))
		}
		return recorded
	}
	// A confirmOrder may have been sent before, its answer lost or the
	// portal stopped before it was recorded.
	sentBefore := j.Step == db.StepConfirm
	if j.Step == db.StepDownload {
		err := w.observe(FuncDownloadOrder, w.Client.DownloadOrder(ctx, j.ICCID))
		var refused *StatusError
		switch {
		case err == nil:
		case errors.Is(err, &StatusError{StatusCodeData: ProfileInUse}):
			// Perhaps the carrier's own, from a call whose answer was lost:
			// confirmOrder, which only succeeds on the carrier's, tells
			// (rule 4).
		case errors.As(err, &refused):
			record("refusal", w.refuse(rctx, log, j, refused))
			return recorded
		default:
			record("attempt", w.retry(ctx, rctx, log, j, err))
			return recorded
		}
		record("confirmOrder", w.Store.SMDPOrderConfirming(rctx, j.ICCID))
		if !recorded {
			return false
		}
	}
	resp, err := w.Client.ConfirmOrder(ctx, j.ICCID, j.MatchingID, true)
	if err == nil && !ValidMatchingID(strings.ToUpper(cmp.Or(resp.MatchingID, j.MatchingID))) {
		// Not an activation code a phone can use: asked again, the SM-DP+
		// answers that the portal's own MatchingID is already used.
		err = &TransportError{Function: FuncConfirmOrder, Err: fmt.Errorf("the answer's matchingId %q is not a MatchingID", resp.MatchingID)}
	}
	w.observe(FuncConfirmOrder, err)
	var refused *StatusError
	switch {
	case err == nil:
		record("released profile", w.Store.SMDPOrderReleased(rctx, j.ICCID, cmp.Or(resp.MatchingID, j.MatchingID), resp.SMDPAddress))
		log.Info("smdp: profile released")
		w.mailQueued()
	case errors.Is(err, &StatusError{StatusCodeData: MatchingIDUsed}) ||
		(sentBefore && errors.Is(err, &StatusError{StatusCodeData: ProfileInUse})):
		// Released by an earlier confirmOrder under the portal's own
		// MatchingID, which nobody else knows (rule 4).
		record("released profile", w.Store.SMDPOrderReleased(rctx, j.ICCID, j.MatchingID, ""))
		log.Info("smdp: profile released by an earlier call whose answer was lost")
		w.mailQueued()
	case errors.As(err, &refused):
		record("refusal", w.refuse(rctx, log, j, refused))
	default:
		record("attempt", w.retry(ctx, rctx, log, j, err))
	}
	return recorded
}

func (w *Worker) refuse(rctx context.Context, log *slog.Logger, j db.SMDPJob, refused *StatusError) error {
	log.Warn("smdp: refused", "err", refused)
	return w.Store.SMDPOrderRefused(rctx, j.ICCID, refused.Code(), Explain(refused.StatusCodeData))
}

// retry records a call whose outcome is unknown, unless the portal is
// shutting down: that is not the SM-DP+'s fault, and the call is made again
// at the next start.
func (w *Worker) retry(ctx, rctx context.Context, log *slog.Logger, j db.SMDPJob, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	at := w.now().Add(emails.Jitter(w.Backoff(j.Attempts + 1)))
	log.Warn("smdp: call failed, will retry", "attempt", j.Attempts+1, "retry_at", at, "err", err)
	return w.Store.SMDPOrderAttemptFailed(rctx, j.ICCID, err.Error(), at)
}

func (w *Worker) observe(function string, err error) error {
	if w.Observe != nil {
		var refused *StatusError
		result := "ok"
		switch {
		case errors.As(err, &refused):
			result = "failed"
		case err != nil:
			result = "transport"
		}
		w.Observe(function, result)
	}
	return err
}

func (w *Worker) mailQueued() {
	if w.MailQueued != nil {
		w.MailQueued()
	}
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now().UTC()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

func def[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}
