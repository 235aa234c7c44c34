//go:build unix

package main

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/dbtest"
	"github.com/carrier/esim-admin/db/demo"
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
	relay := startSlowRelay(t, mailServer.Addr, crashSMTPDelay)
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
				at := crashAttempt{subscriber: id, token: newCrashToken()}
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
	relay.Close()
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
	duplicates := 0
	for id, n := range received {
		switch _, ok := all[id]; {
		case !ok:
			t.Errorf("the mail server got %s, which is not one of the stream's emails", id)
		case n > 1:
			duplicates += n - 1
			if _, queued := queuedAtKill[id]; !queued || receivedAtKill[id] == 0 {
				t.Errorf("email %s was delivered %d times, but was not the one accepted and still queued at the kill", id, n)
			}
		}
	}
	for _, m := range mailServer.Messages() {
		id := messageID(t, m.Data)
		if to := all[id]; len(m.To) != 1 || !strings.EqualFold(m.To[0], to) {
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

// prepareCrash builds the program and has its first start, on a free
// address, create the database and load the demo data; the stream's
// subscribers and stock are added while it is stopped.
func prepareCrash(t *testing.T) (bin, addr, dbPath string, stream crashStream, check *crashCheck) {
	t.Helper()
	bin = portaltest.BuildProgram(t)
	dbPath = filepath.Join(t.TempDir(), "crash.db")
	addr = portaltest.FreeAddr(t)
	portaltest.StartProgram(t, bin, addr, dbPath, "").Stop(t)
	stream = prepareCrashStream(t, dbPath)
	return bin, addr, dbPath, stream, openCrashCheck(t, dbPath)
}

// crashStream is what the stream of Add lines works on.
type crashStream struct {
	subscribers []int64 // eligible, in id order
	planID      int64
	profile     int
}

func (s crashStream) first() int64 { return s.subscribers[0] }
func (s crashStream) last() int64  { return s.subscribers[len(s.subscribers)-1] }

// prepareCrashStream adds subscribers with an Unlimited All plan each, and
// free eSIMs of the Euro 1 plan's profile for all of them.
func prepareCrashStream(t *testing.T, dbPath string) crashStream {
	t.Helper()
	raw := dbtest.Raw(t, dbPath)
	defer raw.Close()
	var s crashStream
	if err := raw.QueryRow(`SELECT id, imsi_profile FROM plans WHERE code = 'EURO1'`).Scan(&s.planID, &s.profile); err != nil {
		t.Fatalf("the demo catalog's Euro 1 plan: %v", err)
	}
	tx, err := raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	created := now.Format("2006-01-02T15:04:05.000Z")
	// Newer than the demo's free stock, so the stream hands that out first
	// and then moves on to this delivery.
	stocked := now.Add(-24 * time.Hour).Format("2006-01-02T15:04:05.000Z")
	for i := range crashSubscribers {
		res, err := tx.Exec(`INSERT INTO subscribers (account_number, name, email, phone, created_at) VALUES (?, ?, ?, ?, ?)`,
			fmt.Sprintf("CR-%06d", i), fmt.Sprintf("Crash Subscriber %d", i), fmt.Sprintf("crash%d@example.com", i),
			fmt.Sprintf("+1555%07d", i), created)
		if err != nil {
			t.Fatalf("add subscriber: %v", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO domestic_plans (subscriber_id, name, kind, lines, since)
			VALUES (?, 'Unlimited All', 'unlimited_all', 1, ?)`, id, created); err != nil {
			t.Fatalf("add domestic plan: %v", err)
		}
		body := fmt.Sprintf("89990%013d", i)
		if _, err := tx.Exec(`INSERT INTO esims (iccid, imsi_profile, smdp_address, matching_id, state, stocked_at)
			VALUES (?, ?, 'smdp-eu.crash.example.com', ?, 'free', ?)`,
			body+string(db.LuhnDigit(body)), s.profile, fmt.Sprintf("CR-%08d", i), stocked); err != nil {
			t.Fatalf("stock an eSIM: %v", err)
		}
		s.subscribers = append(s.subscribers, id)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return s
}

// crashAttempt is one Add line of the stream.
type crashAttempt struct {
	subscriber int64
	token      string // the form's one-time token
	answered   bool   // the portal answered 303; else the kill cut the request off
}

func newCrashToken() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// crashRefusal is an answer of the portal other than the redirect to the
// profile: unlike a cut connection, never expected.
type crashRefusal struct {
	path   string
	status int
	body   string
}

func (e *crashRefusal) Error() string {
	return fmt.Sprintf("POST %s: status %d; body: %.300s", e.path, e.status, e.body)
}

// crashAddLine submits the Add line form. A *crashRefusal is an answer
// other than the redirect to the profile; any other error means no answer
// came.
func crashAddLine(a *portaltest.Client, subscriberID, planID int64, token string) error {
	path := fmt.Sprintf("/subscribers/%d/lines", subscriberID)
	r, err := a.Send(http.MethodPost, path, url.Values{
		"_csrf":     {a.CSRF},
		"token":     {token},
		"line_name": {"France"},
		"plan":      {strconv.FormatInt(planID, 10)},
	})
	if err != nil {
		return err
	}
	if r.Status != http.StatusSeeOther || r.Location() != fmt.Sprintf("/subscribers/%d", subscriberID) {
		return &crashRefusal{path: path, status: r.Status, body: string(r.Body)}
	}
	return nil
}

// crashCheck reads the database behind the program's back.
type crashCheck struct{ db *sql.DB }

func openCrashCheck(t *testing.T, dbPath string) *crashCheck {
	t.Helper()
	return &crashCheck{db: dbtest.ReadOnly(t, dbPath)}
}

func (c *crashCheck) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	return dbtest.Count(t, c.db, query, args...)
}

// free counts the free eSIMs of the stream's profile.
func (c *crashCheck) free(t *testing.T, s crashStream) int {
	t.Helper()
	return c.count(t, `SELECT count(*) FROM esims WHERE state = 'free' AND imsi_profile = ?`, s.profile)
}

// stockTaken checks that the free stock shrank by the lines allocated: no
// eSIM left it without going to a subscriber.
func (c *crashCheck) stockTaken(t *testing.T, s crashStream, freeBefore, lines int) {
	t.Helper()
	if taken := freeBefore - c.free(t, s); taken != lines {
		t.Errorf("%d eSIMs left the free stock, but %d lines were allocated", taken, lines)
	}
}

// lines maps each of the stream's subscribers who holds a line to its ICCID;
// one holding two is an error.
func (c *crashCheck) lines(t *testing.T, s crashStream) map[int64]string {
	t.Helper()
	rows, err := c.db.Query(`SELECT subscriber_id, iccid FROM esims WHERE state = 'allocated' AND subscriber_id BETWEEN ? AND ?`,
		s.first(), s.last())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	lines := map[int64]string{}
	for rows.Next() {
		var id int64
		var iccid string
		if err := rows.Scan(&id, &iccid); err != nil {
			t.Fatal(err)
		}
		if other, ok := lines[id]; ok {
			t.Errorf("subscriber %d, entitled to one eSIM, holds two: %s and %s", id, other, iccid)
		}
		lines[id] = iccid
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// invariants checks that no Add line is half done: the database is sound,
// every allocated eSIM has its plan and its two emails, and nothing points
// at an eSIM that is not allocated but the emails a replaced eSIM keeps.
func (c *crashCheck) invariants(t *testing.T, s crashStream, attempts []crashAttempt, lines map[int64]string) {
	t.Helper()
	var integrity string
	if err := c.db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check: %q, %v", integrity, err)
	}
	if n := c.count(t, `SELECT count(*) FROM pragma_foreign_key_check`); n != 0 {
		t.Errorf("foreign_key_check: %d rows point at nothing", n)
	}
	for what, query := range map[string]string{
		"allocated eSIMs without a plan": `SELECT count(*) FROM esims e WHERE state = 'allocated'
			AND NOT EXISTS (SELECT 1 FROM esim_plans p WHERE p.iccid = e.iccid)`,
		"plans on eSIMs not allocated": `SELECT count(*) FROM esim_plans p JOIN esims e USING (iccid) WHERE e.state <> 'allocated'`,
		// A replaced eSIM keeps the emails about it: they are about the
		// line its replacement holds now.
		"emails about eSIMs not allocated": `SELECT count(*) FROM outbox o JOIN esims e USING (iccid) LEFT JOIN esims r ON r.iccid = e.replaced_by
			WHERE coalesce(r.state, e.state) <> 'allocated' OR coalesce(r.subscriber_id, e.subscriber_id) <> o.subscriber_id`,
	} {
		if n := c.count(t, query); n != 0 {
			t.Errorf("%d %s", n, what)
		}
	}

	rows, err := c.db.Query(`SELECT e.iccid, e.subscriber_id,
			(SELECT count(*) FROM esim_plans p WHERE p.iccid = e.iccid AND p.plan_id = ?3),
			(SELECT count(*) FROM esim_plans p WHERE p.iccid = e.iccid),
			(SELECT count(*) FROM outbox o WHERE o.iccid = e.iccid AND o.kind = 'qr'),
			(SELECT count(*) FROM outbox o JOIN esim_plans p ON p.id = o.esim_plan_id
				WHERE o.iccid = e.iccid AND o.kind = 'confirmation' AND p.iccid = e.iccid),
			(SELECT count(*) FROM outbox o WHERE o.iccid = e.iccid),
			(SELECT count(*) FROM audit_log a WHERE a.iccid = e.iccid AND a.action = 'add_line')
		FROM esims e WHERE e.state = 'allocated' AND e.subscriber_id BETWEEN ?1 AND ?2`, s.first(), s.last(), s.planID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var iccid string
		var sub int64
		var plan, plans, qr, confirmation, mails, audits int
		if err := rows.Scan(&iccid, &sub, &plan, &plans, &qr, &confirmation, &mails, &audits); err != nil {
			t.Fatal(err)
		}
		if plan != 1 || plans != 1 || qr != 1 || confirmation != 1 || mails != 2 || audits != 1 {
			t.Errorf("eSIM %s of subscriber %d: %d plans (%d Euro 1), %d emails (%d QR, %d confirmation of its plan), %d add_line audit entries; want 1, 2 and 1",
				iccid, sub, plans, plan, mails, qr, confirmation, audits)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n := c.count(t, `SELECT count(*) FROM outbox WHERE subscriber_id BETWEEN ? AND ?`, s.first(), s.last()); n != 2*len(lines) {
		t.Errorf("%d emails for the stream's %d lines, want 2 each", n, len(lines))
	}

	// The one-time token is remembered with the allocation it made, and
	// only with it.
	remembered := 0
	for _, at := range attempts {
		var result []byte
		err := c.db.QueryRow(`SELECT result FROM form_submissions WHERE token = ?`, at.token).Scan(&result)
		if errors.Is(err, sql.ErrNoRows) {
			if iccid, ok := lines[at.subscriber]; ok {
				t.Errorf("subscriber %d holds eSIM %s, but the form's token is not remembered", at.subscriber, iccid)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		remembered++
		var order db.Order
		if err := json.Unmarshal(result, &order); err != nil {
			t.Fatalf("form_submissions result %s: %v", result, err)
		}
		if iccid := lines[at.subscriber]; order.ICCID != iccid || order.SubscriberID != at.subscriber {
			t.Errorf("token of subscriber %d remembers eSIM %s of subscriber %d; the subscriber holds %q",
				at.subscriber, order.ICCID, order.SubscriberID, iccid)
		}
	}
	if remembered != len(lines) {
		t.Errorf("%d form tokens remembered for %d lines", remembered, len(lines))
	}
}

// messageIDs maps the Message-IDs of the stream's emails in state (any state
// when empty) to their recipients.
func (c *crashCheck) messageIDs(t *testing.T, s crashStream, state string) map[string]string {
	t.Helper()
	rows, err := c.db.Query(`SELECT message_id, to_address FROM outbox
		WHERE subscriber_id BETWEEN ? AND ? AND (? = '' OR state = ?)`, s.first(), s.last(), state, state)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := map[string]string{}
	for rows.Next() {
		var id, to string
		if err := rows.Scan(&id, &to); err != nil {
			t.Fatal(err)
		}
		ids[id] = to
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
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

// slowRelay forwards SMTP connections to a mail server, holding each of the
// server's replies for a while, as a mail server under load answers.
type slowRelay struct {
	Addr string

	ln    net.Listener
	delay time.Duration
	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func startSlowRelay(t *testing.T, target string, delay time.Duration) *slowRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &slowRelay{Addr: ln.Addr().String(), ln: ln, delay: delay, conns: map[net.Conn]bool{}}
	r.wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			r.wg.Go(func() { r.relay(client, target) })
		}
	})
	t.Cleanup(r.Close)
	return r
}

func (r *slowRelay) relay(client net.Conn, target string) {
	server, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !r.track(client, server) {
		return
	}
	defer r.untrack(client, server)
	go func() {
		io.Copy(server, client)
		server.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			time.Sleep(r.delay)
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// track registers a relayed connection's two ends, or closes them if the
// relay is already closed.
func (r *slowRelay) track(conns ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		r.conns[c] = true
	}
	return true
}

func (r *slowRelay) untrack(conns ...net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range conns {
		c.Close()
		delete(r.conns, c)
	}
}

// Close stops relaying and cuts every relayed connection.
func (r *slowRelay) Close() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
	r.wg.Wait()
}
