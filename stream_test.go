package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/dbtest"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// A stream of Add lines against the built program, for the tests that
// crash it (crash_test.go, crash_smdp_test.go) and back it up while it
// serves (ops_test.go): subscribers and stock added behind its back, the
// Add line form as an agent submits it, and the checks of what the stream
// left in the database.

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
// free eSIMs of the Euro 1 plan's profile for all of them, newer than the
// demo's free stock, so the stream hands that out first and then moves on
// to this delivery.
func prepareCrashStream(t *testing.T, dbPath string) crashStream {
	t.Helper()
	e, err := portaltest.StockEligible(context.Background(), dbtest.Raw(t, dbPath), "CR", crashSubscribers, crashSubscribers,
		time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return crashStream{subscribers: e.Subscribers, planID: e.PlanID, profile: e.Profile}
}

// crashAttempt is one Add line of the stream.
type crashAttempt struct {
	subscriber int64
	token      string // the form's one-time token
	answered   bool   // the portal answered 303; else the kill cut the request off
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
	r, err := a.PostAddLine(subscriberID, planID, token)
	if err != nil {
		return err
	}
	if r.Status != http.StatusSeeOther || r.Location() != fmt.Sprintf("/subscribers/%d", subscriberID) {
		return &crashRefusal{path: fmt.Sprintf("/subscribers/%d/lines", subscriberID), status: r.Status, body: string(r.Body)}
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
	return c.messageIDsWhere(t, `subscriber_id BETWEEN ? AND ? AND (? = '' OR state = ?)`, s.first(), s.last(), state, state)
}

// allMessageIDs is every email of the outbox, the stream's or not, by its
// Message-ID, with whom it goes to.
func (c *crashCheck) allMessageIDs(t *testing.T) map[string]string {
	t.Helper()
	return c.messageIDsWhere(t, `true`)
}

func (c *crashCheck) messageIDsWhere(t *testing.T, where string, args ...any) map[string]string {
	t.Helper()
	rows, err := c.db.Query(`SELECT message_id, to_address FROM outbox WHERE `+where, args...)
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
