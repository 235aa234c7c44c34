package emails_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/dbtest"
	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/logtest"
)

// outbox keeps emails in memory the way the store's outbox table does; the
// store's own tests cover the SQL.
type outbox struct {
	mu     sync.Mutex
	emails []db.Email
	now    func() time.Time
}

func newOutbox() *outbox { return &outbox{now: func() time.Time { return time.Now().UTC() }} }

func (o *outbox) add(e db.Email) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e.State, e.NextAttemptAt, e.QueuedAt = db.EmailQueued, o.now(), o.now()
	o.emails = append(o.emails, e)
}

func (o *outbox) get(id int64) db.Email {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.emails {
		if e.ID == id {
			return e
		}
	}
	return db.Email{}
}

func (o *outbox) DueEmails(_ context.Context, now time.Time, limit int) ([]db.Email, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var due []db.Email
	for _, e := range o.emails {
		if e.State == db.EmailQueued && !e.NextAttemptAt.After(now) && len(due) < limit {
			due = append(due, e)
		}
	}
	return due, nil
}

func (o *outbox) NextEmailDue(context.Context) (time.Time, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var next time.Time
	found := false
	for _, e := range o.emails {
		if e.State == db.EmailQueued && (!found || e.NextAttemptAt.Before(next)) {
			next, found = e.NextAttemptAt, true
		}
	}
	return next, found, nil
}

func (o *outbox) update(id int64, f func(*db.Email)) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range o.emails {
		if o.emails[i].ID == id {
			f(&o.emails[i])
			return nil
		}
	}
	return errors.New("no such email")
}

func (o *outbox) MarkEmailSent(_ context.Context, sent db.Email, at time.Time) error {
	return o.update(sent.ID, func(e *db.Email) {
		e.State, e.SentAt, e.LastError = db.EmailSent, at, ""
		e.Attempts++
	})
}

func (o *outbox) MarkEmailAttemptFailed(_ context.Context, id int64, reason string, retryAt time.Time) error {
	return o.update(id, func(e *db.Email) {
		e.Attempts++
		e.LastError = reason
		if retryAt.IsZero() {
			e.State, e.NextAttemptAt = db.EmailFailed, o.now()
		} else {
			e.NextAttemptAt = retryAt
		}
	})
}

// runWorker runs w until the test ends.
func runWorker(t *testing.T, w *emails.Worker) {
	t.Helper()
	if w.Logger == nil {
		w.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("worker did not stop")
		}
	})
}

// waitState waits until the email reaches state.
func waitState(t *testing.T, o *outbox, id int64, state string) db.Email {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e := o.get(id)
		if e.State == state {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("email %d is %s after %d attempts (%s), want %s", id, e.State, e.Attempts, e.LastError, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fastWorker(o *outbox, s emails.Mailer) *emails.Worker {
	return &emails.Worker{
		Store: o, Sender: s, MaxAttempts: 8,
		BaseBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Poll: 20 * time.Millisecond,
	}
}

func TestWorker(t *testing.T) {
	t.Run("RecoversAfterFailures", func(t *testing.T) {
		srv := smtptest.Start(t)
		srv.FailNext(3)
		o := newOutbox()
		e := qrEmail(t)
		o.add(e)
		runWorker(t, fastWorker(o, newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: time.Second})))

		got := waitState(t, o, e.ID, db.EmailSent)
		if got.Attempts != 4 {
			t.Errorf("attempts: got %d, want 4", got.Attempts)
		}
		msgs := srv.WaitFor(t, 1, 5*time.Second)
		time.Sleep(100 * time.Millisecond) // room for a duplicate to show up
		if n := len(srv.Messages()); n != 1 {
			t.Fatalf("server accepted %d messages, want 1", n)
		}
		if n := srv.Attempts(); n != 4 {
			t.Errorf("server saw %d deliveries, want 4", n)
		}
		h, _ := parseMessage(t, msgs[0].Data)
		if got := h.Get("Message-Id"); got != e.MessageID {
			t.Errorf("Message-Id: got %q, want the stored %q", got, e.MessageID)
		}
	})

	t.Run("FailsAfterMaxAttempts", func(t *testing.T) {
		srv := smtptest.Start(t)
		srv.FailNext(1000)
		o := newOutbox()
		e := confirmationEmail(t)
		o.add(e)
		w := fastWorker(o, newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: time.Second}))
		w.MaxAttempts = 3
		runWorker(t, w)

		got := waitState(t, o, e.ID, db.EmailFailed)
		if got.Attempts != 3 {
			t.Errorf("attempts: got %d, want 3", got.Attempts)
		}
		if got.LastError == "" {
			t.Error("no reason recorded")
		}
		time.Sleep(100 * time.Millisecond)
		if n := srv.Attempts(); n != 3 {
			t.Errorf("server saw %d deliveries, want 3", n)
		}
	})

	t.Run("RejectedRecipientFailsAtOnce", func(t *testing.T) {
		srv := smtptest.Start(t)
		o := newOutbox()
		e := confirmationEmail(t)
		srv.RejectRecipient(e.To)
		o.add(e)
		runWorker(t, fastWorker(o, newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: time.Second})))

		if got := waitState(t, o, e.ID, db.EmailFailed); got.Attempts != 1 {
			t.Errorf("attempts: got %d, want 1", got.Attempts)
		}
	})

	t.Run("ResumesAfterRestart", func(t *testing.T) {
		srv := smtptest.Start(t)
		srv.FailNext(2)
		o := newOutbox()
		e := confirmationEmail(t)
		o.add(e)
		sender := newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: time.Second})

		first := fastWorker(o, sender)
		first.BaseBackoff, first.MaxBackoff = time.Hour, time.Hour
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); first.Run(ctx) }()
		for o.get(e.ID).Attempts < 1 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done

		// The next worker finds the email where the first left it: one attempt
		// made, the next one due in an hour.
		o.update(e.ID, func(e *db.Email) { e.NextAttemptAt = o.now() })
		runWorker(t, fastWorker(o, sender))
		if got := waitState(t, o, e.ID, db.EmailSent); got.Attempts != 3 {
			t.Errorf("attempts: got %d, want 3", got.Attempts)
		}
		h, _ := parseMessage(t, srv.WaitFor(t, 1, 5*time.Second)[0].Data)
		if got := h.Get("Message-Id"); got != e.MessageID {
			t.Errorf("Message-Id: got %q, want the stored %q", got, e.MessageID)
		}
	})

	t.Run("Notify", func(t *testing.T) {
		srv := smtptest.Start(t)
		o := newOutbox()
		w := fastWorker(o, newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: time.Second}))
		w.Poll = time.Hour
		runWorker(t, w)
		time.Sleep(50 * time.Millisecond) // let the worker find the outbox empty and sleep

		e := confirmationEmail(t)
		o.add(e)
		w.Notify()
		w.Notify() // never blocks
		waitState(t, o, e.ID, db.EmailSent)
		srv.WaitFor(t, 1, 5*time.Second)
	})

	t.Run("SendsEveryDueEmail", func(t *testing.T) {
		srv := smtptest.Start(t)
		o := newOutbox()
		for i := range 45 {
			e := confirmationEmail(t)
			e.ID = int64(100 + i)
			e.MessageID = fmt.Sprintf("<%d@esim-admin>", e.ID)
			o.add(e)
		}
		runWorker(t, fastWorker(o, newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: time.Second})))
		srv.WaitFor(t, 45, 10*time.Second)
	})
}

// TestWorkerUnconfirmed delivers to a server that takes each message and
// never confirms it: each email goes once, is failed with a reason that says
// it may have arrived, and is not sent again by itself.
func TestWorkerUnconfirmed(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{HangAfterData: true})
	o := newOutbox()
	e := qrEmail(t)
	o.add(e)
	runWorker(t, fastWorker(o, newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: time.Second, DataReplyTimeout: 100 * time.Millisecond})))
	got := waitState(t, o, e.ID, db.EmailFailed)
	if got.Attempts != 1 || !strings.Contains(got.LastError, "may have been delivered") {
		t.Errorf("after %d attempts: %q; want 1, saying it may have been delivered", got.Attempts, got.LastError)
	}
	time.Sleep(300 * time.Millisecond) // several backoffs of the fast worker: room for a resend
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("the server got the email %d times, want once", n)
	}
}

// TestWorkerConcurrent delivers to a server that never greets: the emails
// are tried a few at a time, never more than Concurrency, each once per
// attempt.
func TestWorkerConcurrent(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{Silent: true})
	o := newOutbox()
	for i := range 12 {
		e := confirmationEmail(t)
		e.ID = int64(100 + i)
		o.add(e)
	}
	sender := &inFlight{Mailer: newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: time.Minute, GreetingTimeout: 300 * time.Millisecond})}
	w := fastWorker(o, sender)
	w.Concurrency = 3
	w.BaseBackoff, w.MaxBackoff = time.Hour, time.Hour
	start := time.Now()
	runWorker(t, w)
	for i := range 12 {
		waitAttempts(t, o, int64(100+i), 1)
	}
	took := time.Since(start)
	if got := sender.most(); got != 3 {
		t.Errorf("up to %d emails were being sent at once, want the worker's 3", got)
	}
	if got := srv.MaxConnections(); got < 3 {
		t.Errorf("the server had up to %d connections at once, want 3", got)
	}
	// One at a time, 12 emails would take 12 greeting timeouts.
	if took > 8*300*time.Millisecond {
		t.Errorf("12 emails tried in %s, want about 4 greeting timeouts", took)
	}
	for i := range 12 {
		if e := o.get(int64(100 + i)); e.Attempts != 1 || !strings.Contains(e.LastError, "greeting") {
			t.Errorf("email %d: %d attempts, %q; want 1 that timed out at the greeting", e.ID, e.Attempts, e.LastError)
		}
	}
}

// TestWorkerSlowServer delivers 21 emails to a mail server that never
// answers one of them: that one holds its own slot for as long as the sender
// waits (the real 10 minutes), is sent once, and the 20 others go through
// the other slots meanwhile while the worker keeps looking at the outbox.
func TestWorkerSlowServer(t *testing.T) {
	srv := smtptest.Start(t)
	const stuck = "stuck@example.com"
	srv.HangAfterDataOn(func(r smtptest.Received) bool { return slices.Contains(r.To, stuck) })
	o := newOutbox()
	for i := range 21 {
		e := confirmationEmail(t)
		e.ID = int64(100 + i)
		e.MessageID = fmt.Sprintf("<%d@esim-admin>", e.ID)
		if i == 0 {
			e.To = stuck
		} else {
			e.To = fmt.Sprintf("customer%d@example.com", i)
		}
		o.add(e)
	}
	w := fastWorker(o, newSender(t, emails.SMTPConfig{Addr: srv.Addr}))
	runWorker(t, w)

	srv.WaitFor(t, 21, 30*time.Second)
	for i := 1; i < 21; i++ {
		waitState(t, o, int64(100+i), db.EmailSent)
	}
	// The worker goes on looking at the outbox, where the stuck email is
	// still due, and leaves it to its one delivery.
	looked, deadline := w.Status().LastRun, time.Now().Add(10*time.Second)
	for w.Status().LastRun.Equal(looked) {
		if time.Now().After(deadline) {
			t.Fatal("the worker stopped looking at the outbox while one delivery waits")
		}
		runtime.Gosched()
	}
	if e := o.get(100); e.State != db.EmailQueued || e.Attempts != 0 {
		t.Errorf("the unanswered email is %s after %d attempts, want still being delivered", e.State, e.Attempts)
	}
	if got := len(w.Status().Delivering); got != 1 {
		t.Errorf("%d deliveries under way, want the unanswered one", got)
	}
	if n := srv.Attempts(); n != 21 {
		t.Errorf("the server saw %d deliveries of 21 emails, want each once", n)
	}
}

// inFlight counts the emails being sent at once.
type inFlight struct {
	emails.Mailer
	mu           sync.Mutex
	now, highest int
}

func (f *inFlight) Send(ctx context.Context, e db.Email) error {
	f.mu.Lock()
	f.now++
	f.highest = max(f.highest, f.now)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.now--
		f.mu.Unlock()
	}()
	return f.Mailer.Send(ctx, e)
}

func (f *inFlight) most() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.highest
}

// waitAttempts waits until the email has had n attempts.
func waitAttempts(t *testing.T, o *outbox, id int64, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for o.get(id).Attempts < n {
		if time.Now().After(deadline) {
			t.Fatalf("email %d: %d attempts after 10 s, want %d", id, o.get(id).Attempts, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWorkerBackoff(t *testing.T) {
	w := &emails.Worker{BaseBackoff: 30 * time.Second, MaxBackoff: 30 * time.Minute}
	want := []time.Duration{
		30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		30 * time.Minute, 30 * time.Minute,
	}
	for i, d := range want {
		if got := w.Backoff(i + 1); got != d {
			t.Errorf("Backoff(%d): got %v, want %v", i+1, got, d)
		}
	}
	if got := w.Backoff(1000); got != 30*time.Minute {
		t.Errorf("Backoff(1000): got %v, want the 30m cap", got)
	}
	if got := (&emails.Worker{}).Backoff(1); got != emails.DefaultBaseBackoff {
		t.Errorf("default Backoff(1): got %v, want %v", got, emails.DefaultBaseBackoff)
	}
}

// The worker runs against the real store: an empty outbox is polled without
// error and the worker stops with its context.
func TestWorkerStore(t *testing.T) {
	ctx := context.Background()
	store := dbtest.Open(t)
	var _ emails.Outbox = store

	var logs logtest.Buffer
	srv := smtptest.Start(t)
	w := fastWorker(nil, newSender(t, emails.SMTPConfig{Addr: srv.Addr}))
	w.Store = store
	w.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	runCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	w.Run(runCtx)
	if logs.Len() > 0 {
		t.Errorf("worker logged errors:\n%s", logs.String())
	}
}

func TestWorkerLastRun(t *testing.T) {
	srv := smtptest.Start(t)
	w := fastWorker(newOutbox(), newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: time.Second}))
	if !w.Status().LastRun.IsZero() {
		t.Fatal("a worker that never ran has a last run")
	}
	before := time.Now()
	runWorker(t, w)
	deadline := time.Now().Add(5 * time.Second)
	for w.Status().LastRun.Before(before) {
		if time.Now().After(deadline) {
			t.Fatal("the worker runs but its last run did not move")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// staleOutbox hands its second look at the outbox a list read while the
// first email was still being delivered, and returns it only once that
// delivery is over: the store's reads can see the outbox as it was a moment
// before.
type staleOutbox struct {
	*outbox
	w       *emails.Worker
	looks   atomic.Int32
	reading chan struct{} // closed when the second look has read
}

func (o *staleOutbox) DueEmails(ctx context.Context, now time.Time, limit int) ([]db.Email, error) {
	due, err := o.outbox.DueEmails(ctx, now, limit)
	if o.looks.Add(1) == 2 {
		close(o.reading)
		for len(o.w.Status().Delivering) > 0 { // the delivery ends and frees its slot
			runtime.Gosched()
		}
	}
	return due, err
}

// gatedSender delivers email 1 once the second look has read the outbox.
type gatedSender struct {
	reading <-chan struct{}
	sends   atomic.Int32
}

func (s *gatedSender) Send(ctx context.Context, e db.Email) error {
	if e.ID == 1 {
		<-s.reading
	}
	s.sends.Add(1)
	return nil
}

// An email whose delivery ends while the worker is reading the outbox is
// not delivered again from what that read saw.
func TestWorkerStaleRead(t *testing.T) {
	o := &staleOutbox{outbox: newOutbox(), reading: make(chan struct{})}
	o.add(db.Email{ID: 1, Kind: db.EmailQR, To: "a@example.com"})
	s := &gatedSender{reading: o.reading}
	w := fastWorker(o.outbox, s)
	w.Store, o.w = o, w
	runWorker(t, w)
	waitState(t, o.outbox, 1, db.EmailSent)
	for o.looks.Load() < 4 || len(w.Status().Delivering) > 0 {
		runtime.Gosched()
	}
	if n := s.sends.Load(); n != 1 {
		t.Errorf("email 1 was delivered %d times, want once", n)
	}
}

// TestWorkerUnwrittenEmail queues an email whose draft the store could not
// render ahead of one it could: the first fails with its reason and never
// reaches the server, and the second is delivered all the same.
func TestWorkerUnwrittenEmail(t *testing.T) {
	srv := smtptest.Start(t)
	o := newOutbox()
	broken := qrEmail(t)
	broken.Message, broken.Unwritten = db.Message{}, errors.New("template: qr: no such field")
	o.add(broken)
	fine := confirmationEmail(t)
	fine.ID = 2
	o.add(fine)
	w := fastWorker(o, newSender(t, emails.SMTPConfig{Addr: srv.Addr}))
	w.MaxAttempts = 2
	runWorker(t, w)
	waitState(t, o, fine.ID, db.EmailSent)
	got := waitState(t, o, broken.ID, db.EmailFailed)
	if got.Attempts != 2 || !strings.Contains(got.LastError, "could not be written: template: qr: no such field") {
		t.Errorf("unwritten email failed after %d attempts with %q; want 2, saying it could not be written and why", got.Attempts, got.LastError)
	}
	if msgs := srv.Messages(); len(msgs) != 1 {
		t.Errorf("the server got %d messages, want only the one that could be written", len(msgs))
	}
}
