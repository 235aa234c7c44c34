//go:build unix

package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// The crash test's stream: enough eligible subscribers that the stream
// never runs dry before the kill, each entitled to one eSIM.
const (
	crashSubscribers = 300
	crashAgents      = 8
	// The program is killed once this many Add lines have answered...
	crashKillAfter = 50
	// ...and the outbox worker has delivered this many emails, so that the
	// kill finds both delivered and queued emails; crashKillCap bounds the wait.
	crashKillAfterSent = 5
	crashKillCap       = 200
	// crashSMTPDelay holds each reply of the first run's mail server, so the
	// worker falls behind the Add lines and emails are queued at the kill.
	crashSMTPDelay = 5 * time.Millisecond
	// crashDrainTimeout bounds the restarted worker's delivery of the backlog.
	crashDrainTimeout = 30 * time.Second
)

// TestCrashDuringAddLines kills the program with SIGKILL in the middle of a
// stream of Add lines, as a crash or an OOM kill would, and restarts it. Each
// Add line must have happened whole or not at all: every allocated eSIM has
// its plan, its QR email and its order confirmation. Emails queued at the
// kill go out after the restart, each once; only the emails the worker may
// have had in hand between the mail server's acceptance and marking them
// sent (up to emails.DefaultConcurrency) may go out twice.
//
// With SIGKILL the operating system keeps what the process wrote, so this
// tests the transactions' atomicity and the outbox's recovery, not fsync:
// a power cut would need a VM or a faulty file system.
func TestCrashDuringAddLines(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real program; skipped with -short")
	}
	started := time.Now()
	bin, addr, dbPath, stream, check := prepareCrash(t)
	freeBefore := check.free(t, stream)

	mailServer := smtptest.Start(t)
	relay := portaltest.StartProxy(t, mailServer.Addr)
	relay.Slow(crashSMTPDelay)
	run1 := portaltest.StartProgram(t, bin, addr, dbPath, relay.Addr)
	transport := &http.Transport{MaxIdleConnsPerHost: crashAgents}
	t.Cleanup(transport.CloseIdleConnections)
	agents := make([]*portaltest.Client, crashAgents)
	var wg sync.WaitGroup
	signInErrs := make([]error, crashAgents)
	for i := range agents {
		wg.Go(func() {
			agents[i], signInErrs[i] = portaltest.SignedIn("http://"+addr, transport, demo.AgentEmail, demo.AgentPassword)
		})
	}
	wg.Wait()
	if err := errors.Join(signInErrs...); err != nil {
		t.Fatalf("sign in: %v", err)
	}

	// The stream: every agent adds lines, one subscriber after another,
	// until the program is killed under them.
	work := make(chan int64, len(stream.subscribers))
	for _, id := range stream.subscribers {
		work <- id
	}
	close(work)
	var (
		ok, inflight   atomic.Int64
		killed         atomic.Bool
		inflightAtKill int64
		mu             sync.Mutex
		attempts       []crashAttempt
		streamErrs     []error
	)
	streamDone := make(chan struct{})
	var killer sync.WaitGroup
	killer.Go(func() {
		// When the emails are what the kill waits for, it comes right after
		// the mail server has accepted one: the relay still holds the
		// server's 250, so the worker has not marked the email sent, the
		// hardest moment for the outbox. Otherwise it lands between emails.
		for ok.Load() < crashKillCap &&
			(ok.Load() < crashKillAfter || len(mailServer.Messages()) < crashKillAfterSent || inflight.Load() < crashAgents/2) {
			select {
			case <-streamDone:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
		killed.Store(true)
		inflightAtKill = inflight.Load()
		if err := run1.Kill(); err != nil {
			t.Errorf("SIGKILL: %v", err)
		}
	})
	for _, a := range agents {
		wg.Go(func() {
			for id := range work {
				if killed.Load() {
					return
				}
				at := crashAttempt{subscriber: id, token: rand.Text()}
				inflight.Add(1)
				err := crashAddLine(a, id, stream.planID, at.token)
				inflight.Add(-1)
				var refused *crashRefusal
				switch {
				case err == nil:
					at.answered = true
				case errors.As(err, &refused) || !killed.Load():
					// Before the kill every Add line must succeed; a real
					// answer after it too.
					mu.Lock()
					streamErrs = append(streamErrs, err)
					mu.Unlock()
					return
				}
				mu.Lock()
				attempts = append(attempts, at)
				mu.Unlock()
				if !at.answered {
					return // the program is gone
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	close(streamDone)
	killer.Wait()
	if err := errors.Join(streamErrs...); err != nil {
		t.Fatalf("Add line stream: %v", err)
	}
	if !killed.Load() {
		t.Fatalf("the stream of %d subscribers ended before the kill", len(stream.subscribers))
	}
	run1.WaitKilled(t)
	relay.Stop()
	transport.CloseIdleConnections()

	// What the crash left on disk.
	var answered, unanswered []crashAttempt
	for _, at := range attempts {
		if at.answered {
			answered = append(answered, at)
		} else {
			unanswered = append(unanswered, at)
		}
	}
	linesAtKill := check.lines(t, stream)
	check.invariants(t, stream, attempts, linesAtKill)
	check.stockTaken(t, stream, freeBefore, len(linesAtKill))
	for _, at := range answered {
		if _, ok := linesAtKill[at.subscriber]; !ok {
			t.Errorf("subscriber %d: Add line answered 303, but after the crash there is no line", at.subscriber)
		}
	}
	committedUnanswered := 0
	for _, at := range unanswered {
		if _, ok := linesAtKill[at.subscriber]; ok {
			committedUnanswered++
		}
	}
	if len(answered) > len(linesAtKill) || len(linesAtKill) > len(attempts) {
		t.Errorf("%d Add lines answered, %d sent in all, but %d lines allocated", len(answered), len(attempts), len(linesAtKill))
	}
	sentAtKill := check.messageIDs(t, stream, db.EmailSent)
	queuedAtKill := check.messageIDs(t, stream, db.EmailQueued)
	if len(queuedAtKill) == 0 {
		t.Fatalf("no email was queued at the kill (%d sent): the test did not test delivery after a restart; slow the first mail server down", len(sentAtKill))
	}
	receivedAtKill := receivedByID(t, mailServer.Messages())
	for id := range sentAtKill {
		if receivedAtKill[id] == 0 {
			t.Errorf("email %s is marked sent but the mail server never accepted it", id)
		}
	}

	// The restart, with a mail server that answers at once. Add lines whose
	// answer the kill swallowed are submitted again, with their one-time
	// token, as an agent reloading the form would: the committed ones must
	// come back as they were, the others happen now.
	run2 := portaltest.StartProgram(t, bin, addr, dbPath, mailServer.Addr)
	for _, at := range unanswered {
		if err := crashAddLine(agents[0], at.subscriber, stream.planID, at.token); err != nil {
			t.Fatalf("after the restart, submitting again: %v", err)
		}
	}
	linesAfter := check.lines(t, stream)
	for _, at := range attempts {
		before, hadLine := linesAtKill[at.subscriber]
		switch after, ok := linesAfter[at.subscriber]; {
		case !ok:
			t.Errorf("subscriber %d has no line after the restart and the resubmit", at.subscriber)
		case hadLine && after != before:
			t.Errorf("subscriber %d: resubmitting the form moved the line from eSIM %s to %s", at.subscriber, before, after)
		}
	}
	if len(linesAfter) != len(attempts) {
		t.Errorf("%d lines for %d Add lines submitted", len(linesAfter), len(attempts))
	}
	check.invariants(t, stream, attempts, linesAfter)
	check.stockTaken(t, stream, freeBefore, len(linesAfter))

	// The restarted worker delivers the backlog.
	all := check.messageIDs(t, stream, "")
	if len(all) != 2*len(linesAfter) {
		t.Fatalf("%d emails in the outbox for %d lines, want 2 each", len(all), len(linesAfter))
	}
	deadline := time.Now().Add(crashDrainTimeout)
	for {
		// The stream's: the demo data holds an email waiting for a retry.
		queued := check.count(t, `SELECT count(*) FROM outbox WHERE state = 'queued' AND subscriber_id BETWEEN ? AND ?`,
			stream.first(), stream.last())
		received := receivedByID(t, mailServer.Messages())
		missing := 0
		for id := range all {
			if received[id] == 0 {
				missing++
			}
		}
		if queued == 0 && missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v after the restart: %d emails still queued, %d of %d never reached the mail server",
				crashDrainTimeout, queued, missing, len(all))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := check.count(t, `SELECT count(*) FROM outbox WHERE state <> 'sent' AND subscriber_id BETWEEN ? AND ?`,
		stream.first(), stream.last()); n != 0 {
		t.Errorf("%d of the stream's emails are not marked sent", n)
	}
	run2.Stop(t)

	// Each email went out once, but for the one the worker had in hand at
	// the kill: accepted by the server, not yet marked sent.
	received := receivedByID(t, mailServer.Messages())
	// Besides the stream's, the portal may send what it sends anyway: the
	// demo's email waiting for a retry, a team lead's daily low-stock alert
	// as the stream takes stock. Those are in the outbox too, and go once.
	outbox := check.allMessageIDs(t)
	duplicates := 0
	for id, n := range received {
		switch _, ok := all[id]; {
		case !ok && outbox[id] == "":
			t.Errorf("the mail server got %s, which is not in the outbox", id)
		case !ok && n > 1:
			t.Errorf("email %s, not the stream's, was delivered %d times", id, n)
		case !ok:
		case n > 1:
			duplicates += n - 1
			if _, queued := queuedAtKill[id]; !queued || receivedAtKill[id] == 0 {
				t.Errorf("email %s was delivered %d times, but was not the one accepted and still queued at the kill", id, n)
			}
		}
	}
	for _, m := range mailServer.Messages() {
		id := messageID(t, m.Data)
		if to := outbox[id]; len(m.To) != 1 || !strings.EqualFold(m.To[0], to) {
			t.Errorf("email %s went to %v, want %s", id, m.To, to)
		}
	}
	// The worker delivers up to emails.DefaultConcurrency at once, so at
	// most that many can be between the server's 250 and the row's update
	// when the process dies.
	if duplicates > emails.DefaultConcurrency {
		t.Errorf("%d emails delivered twice; at most the %d in hand at the kill may be", duplicates, emails.DefaultConcurrency)
	}
	// Neither run of the program logged customer data.
	portaltest.CheckLog(t, check.db, run1.Out.String()+run2.Out.String())

	t.Logf("%d Add lines answered before SIGKILL (%d in flight at the kill, %d of them committed without an answer); "+
		"%d lines allocated at the kill, %d after resubmitting; emails: %d sent before the kill, %d queued at it, "+
		"%d delivered in all, %d duplicate(s); %v in all",
		len(answered), inflightAtKill, committedUnanswered, len(linesAtKill), len(linesAfter),
		len(sentAtKill), len(queuedAtKill), len(mailServer.Messages()), duplicates, time.Since(started).Round(time.Millisecond))
}

// receivedByID counts the messages the mail server took by Message-ID.
func receivedByID(t *testing.T, msgs []smtptest.Received) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, m := range msgs {
		n[messageID(t, m.Data)]++
	}
	return n
}

func messageID(t *testing.T, data []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse a received email: %v", err)
	}
	id := m.Header.Get("Message-Id")
	if id == "" {
		t.Fatalf("a received email has no Message-Id")
	}
	return id
}
