package db

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Provisioning at the SM-DP+ (GSMA ES2+), with an SM-DP+ configured
// (Store.SMDP). The rules:
//
//  1. Add line and Replace eSIM allocate the eSIM as always and, in the same
//     change, queue an SM-DP+ order for it under a MatchingID of the
//     portal's own, instead of the QR email: the QR email waits for the
//     SM-DP+ to release the profile.
//  2. The provisioning worker calls downloadOrder, then confirmOrder with
//     releaseFlag true and that MatchingID. The step is written before the
//     first confirmOrder is sent, so the worker knows, after a lost answer
//     or a crash, that the SM-DP+ may have released the profile.
//  3. A call whose outcome is unknown (timeout, broken connection, HTTP
//     5xx) is tried again with backoff, for as long as it takes: the line
//     says "Waiting for the SM-DP+ — 3 tries, next at 14:05".
//  4. A call that finds its own work done is a success: a downloadOrder
//     answered "profile already in use" goes on to confirmOrder (which only
//     succeeds on a profile allocated to the carrier); a confirmOrder
//     answered "MatchingID already used" means the profile is released
//     under the portal's MatchingID, which nobody else knows; and so does
//     "profile already in use" when a confirmOrder may have been sent before.
//  5. Any other Failed answer is final: the order is refused, the line says
//     what the SM-DP+ said in an agent's words, and Replace eSIM retires the
//     eSIM with that reason and gives the line another one.
//  6. When the SM-DP+ releases the profile, the eSIM takes the MatchingID
//     and SM-DP+ address of the answer (the inventory's address when the
//     answer has none), and its QR email is queued, in one change.
//  7. Replace eSIM cancels the old eSIM's order (cancelOrder, Unavailable)
//     when its profile was ordered and never downloaded; an eSIM installed
//     on a phone has nothing to cancel.

// Steps of a queued SM-DP+ order.
const (
	StepDownload = "download" // downloadOrder has not gone through
	StepConfirm  = "confirm"  // a confirmOrder may have been sent
)

// SMDPJob is an order the provisioning worker has to work on.
type SMDPJob struct {
	ICCID      string
	State      string // SMDPQueued or SMDPCancelling
	Step       string
	MatchingID string
	Attempts   int
	// Released is set when the SM-DP+ released the profile under
	// MatchingID: a cancelOrder names it then, and only then.
	Released bool
}

// matchingIDs are the portal's own: "AP-" and 16 characters of base32,
// which uses only what a MatchingID may (0-9, A-Z and -).
var matchingIDs = base32.StdEncoding.WithPadding(base32.NoPadding)

func newMatchingID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return "AP-" + matchingIDs.EncodeToString(b)
}

// releaseOrQR is what follows the allocation of eSIM e to a line: with an
// SM-DP+, an order for its profile, which queues the QR email once the
// profile is released (rule 1); without, the QR email with the inventory's
// activation code.
func releaseOrQR(ctx context.Context, tx *change, sub Subscriber, lineName string, e ESIM, replaces string) error {
	if !tx.smdp {
		return enqueueQR(ctx, tx, sub, lineName, e, replaces)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO smdp_orders (iccid, state, matching_id, next_attempt_at, queued_at) VALUES (?, 'queued', ?, ?, ?)`,
		e.ICCID, newMatchingID(), formatTime(tx.now), formatTime(tx.now))
	return err
}

// cancelAtSMDP takes back the order of an eSIM leaving its line (rule 7),
// and says what became of it for the audit log, "" when there was no order.
func cancelAtSMDP(ctx context.Context, tx *change, e ESIM) (string, error) {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM smdp_orders WHERE iccid = ?`, e.ICCID).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	// A queued order may have reached the SM-DP+ even before its first
	// answer was recorded (a crash): it is cancelled too, and an SM-DP+
	// that never saw it says so.
	switch {
	case state == SMDPRefused || state == SMDPCancelled || state == SMDPCancelling:
		return "", nil
	case e.ProfileState != "":
		return "downloaded to a phone: nothing to cancel at the SM-DP+", nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE smdp_orders SET state = 'cancelling', attempts = 0, last_error = NULL, next_attempt_at = ? WHERE iccid = ?`,
		formatTime(tx.now), e.ICCID)
	return "its order at the SM-DP+ is being cancelled", err
}

// DueSMDPOrders returns up to limit orders due for a call at now, oldest first.
func (s *Store) DueSMDPOrders(ctx context.Context, now time.Time, limit int) (_ []SMDPJob, err error) {
	defer func() { err = failed("due SM-DP+ orders", err) }()
	rows, err := s.read.QueryContext(ctx, `SELECT iccid, state, step, matching_id, attempts, released_at IS NOT NULL FROM smdp_orders
		WHERE state IN ('queued', 'cancelling') AND next_attempt_at <= ? ORDER BY next_attempt_at, iccid LIMIT ?`, formatTime(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SMDPJob
	for rows.Next() {
		var j SMDPJob
		if err := rows.Scan(&j.ICCID, &j.State, &j.Step, &j.MatchingID, &j.Attempts, &j.Released); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// NextSMDPOrderDue returns when the next order is due, or false when none waits.
func (s *Store) NextSMDPOrderDue(ctx context.Context) (_ time.Time, _ bool, err error) {
	defer func() { err = failed("next SM-DP+ order due", err) }()
	var next nullTime
	err = s.read.QueryRowContext(ctx, `SELECT min(next_attempt_at) FROM smdp_orders WHERE state IN ('queued', 'cancelling')`).Scan(&next)
	return next.Time, next.Valid, err
}

// SMDPOrderStats are the figures of the provisioning metrics.
type SMDPOrderStats struct {
	Waiting   int           // orders waiting for the SM-DP+ (to release or to cancel)
	OldestAge time.Duration // how long the oldest of them has waited
	Refused   int
}

// SMDPOrderStats counts the orders waiting and refused.
func (s *Store) SMDPOrderStats(ctx context.Context) (_ SMDPOrderStats, err error) {
	defer func() { err = failed("SM-DP+ order stats", err) }()
	var st SMDPOrderStats
	var oldest nullTime
	err = s.read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM smdp_orders WHERE state IN ('queued', 'cancelling')),
		(SELECT min(queued_at) FROM smdp_orders WHERE state IN ('queued', 'cancelling')),
		(SELECT count(*) FROM smdp_orders WHERE state = 'refused')`).Scan(&st.Waiting, &oldest, &st.Refused)
	if oldest.Valid {
		st.OldestAge = max(s.Now().Sub(oldest.Time), 0)
	}
	return st, err
}

// SMDPOrderConfirming records that downloadOrder went through and a
// confirmOrder is about to be sent (rule 2).
func (s *Store) SMDPOrderConfirming(ctx context.Context, iccid string) (err error) {
	defer func() { err = failed("record confirmOrder", err) }()
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		_, err := tx.ExecContext(ctx, `UPDATE smdp_orders SET step = 'confirm' WHERE iccid = ? AND state = 'queued'`, iccid)
		return err
	})
}

// SMDPOrderAttemptFailed records a call whose outcome is unknown: it is
// tried again at retryAt (rule 3).
func (s *Store) SMDPOrderAttemptFailed(ctx context.Context, iccid, reason string, retryAt time.Time) (err error) {
	defer func() { err = failed("record SM-DP+ attempt", err) }()
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		_, err := tx.ExecContext(ctx, `UPDATE smdp_orders SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
			WHERE iccid = ? AND state IN ('queued', 'cancelling')`, reason, formatTime(retryAt), iccid)
		return err
	})
}

// SMDPOrderReleased records the SM-DP+'s release of the profile under
// matchingID at smdpAddress ("" keeps the inventory's), and queues the QR
// email with that activation code, in one change (rule 6). An eSIM that
// left its line meanwhile gets no email.
func (s *Store) SMDPOrderReleased(ctx context.Context, iccid, matchingID, smdpAddress string) (err error) {
	defer func() { err = failed("record released profile", err) }()
	matchingID = strings.ToUpper(strings.TrimSpace(matchingID))
	if msg := checkMatchingID(matchingID); msg != "" {
		return fmt.Errorf("the SM-DP+ answered a MatchingID that is not one: %s", msg)
	}
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		res, err := tx.ExecContext(ctx, `UPDATE smdp_orders SET state = 'released', matching_id = ?, last_error = NULL, released_at = ?
			WHERE iccid = ? AND state = 'queued'`, matchingID, formatTime(tx.now), iccid)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE esims SET matching_id = ?, smdp_address = coalesce(nullif(?, ''), smdp_address) WHERE iccid = ?`,
			matchingID, strings.ToLower(strings.TrimSpace(smdpAddress)), iccid); err != nil {
			return err
		}
		e, err := esim(ctx, tx, iccid)
		if err != nil || e.State != StateAllocated {
			return err
		}
		sub, err := subscriber(ctx, tx, e.SubscriberID)
		if err != nil {
			return err
		}
		return enqueueQR(ctx, tx, sub, e.LineName, e, e.Replaces)
	})
}

// SMDPOrderRefused records a Failed answer, final (rule 5): code is its
// subjectCode/reasonCode, said what it means to an agent.
func (s *Store) SMDPOrderRefused(ctx context.Context, iccid, code, said string) (err error) {
	defer func() { err = failed("record SM-DP+ refusal", err) }()
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		var subscriberID sql.NullInt64
		err := tx.QueryRowContext(ctx, `UPDATE smdp_orders SET state = 'refused', status_code = ?, refusal = ?, last_error = NULL
			WHERE iccid = ? AND state = 'queued' RETURNING (SELECT subscriber_id FROM esims WHERE iccid = ?)`, code, said, iccid, iccid).Scan(&subscriberID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, Login{}, "smdp_refused", subscriberID.Int64, iccid, code+": "+said)
	})
}

// SMDPOrderCancelled records the end of a cancelled order; said is what the
// SM-DP+ answered when it had nothing to cancel, "" when it cancelled.
func (s *Store) SMDPOrderCancelled(ctx context.Context, iccid, said string) (err error) {
	defer func() { err = failed("record cancelled order", err) }()
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		_, err := tx.ExecContext(ctx, `UPDATE smdp_orders SET state = 'cancelled', last_error = NULL, refusal = nullif(?, '')
			WHERE iccid = ? AND state = 'cancelling'`, said, iccid)
		return err
	})
}

// unreleased refuses to send the QR email of an eSIM whose profile the
// SM-DP+ has not released: its activation code would not work yet.
func unreleased(e ESIM) *Error {
	switch e.SMDP.State {
	case SMDPQueued:
		return refuse(ErrConflict, "", "The SM-DP+ has not released eSIM "+e.ICCID+" yet: its QR email goes out as soon as it does.")
	case SMDPRefused:
		return refuse(ErrConflict, "", "The SM-DP+ refused eSIM "+e.ICCID+": "+e.SMDP.Refusal+".")
	}
	return nil
}

// DownloadProgress is the SM-DP+'s report of a notification point of a
// profile's download (ES2+ handleDownloadProgressInfo).
type DownloadProgress struct {
	ICCID string
	Point int
	// Status is the point's functionExecutionStatus.status; Code its
	// subjectCode/reasonCode on a failure.
	Status, Code string
	// Failure is set when the point failed; Said is what the failure means
	// to an agent.
	Failure bool
	Said    string
	At      time.Time
}

// DownloadProgressResult is what a report changed.
type DownloadProgressResult struct {
	Duplicate bool
	// Profile is the profile event a download (point 3) or an installation
	// (point 4) became; nil for the other points.
	Profile *ProfileEventResult
}

// RecordDownloadProgress records a report of the SM-DP+ once, in one change:
//   - point 3 (download) and 4 (installation) passed become the profile
//     events downloaded and installed, as /api/v1/profile-events records
//     them (an older report never undoes a newer one);
//   - a failure at points 1 to 99 (point 2 is always one) is the line's
//     install error, with what it means, until a newer report of the phone;
//   - point 1 passed and points 100 and up go on the timeline only.
//
// An unknown ICCID is ErrNotFound; an eSIM that is nobody's line is
// ErrConflict, and nothing is recorded.
func (s *Store) RecordDownloadProgress(ctx context.Context, p DownloadProgress) (_ DownloadProgressResult, err error) {
	defer func() { err = failed("record download progress", err) }()
	if err := CheckICCID(p.ICCID); err != nil {
		return DownloadProgressResult{}, err
	}
	at, err := s.checkReportTime("timestamp", p.At)
	if err != nil {
		return DownloadProgressResult{}, err
	}
	p.At = at
	failure := p.Failure || p.Point == 2
	said := ""
	if failure && p.Point < 100 {
		said = cmp.Or(p.Said, "the phone could not install the eSIM")
	}
	var out DownloadProgressResult
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		e, err := reportedESIM(ctx, tx, p.ICCID)
		if err != nil {
			return err
		}
		if refusal := checkStocked("timestamp", p.At, e); refusal != nil {
			return refusal
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO smdp_notifications (iccid, point, status, status_code, message, at, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (iccid, point, status, at) DO NOTHING`,
			p.ICCID, p.Point, p.Status, p.Code, said, formatTime(p.At), formatTime(tx.now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			out.Duplicate = true
			return err
		}
		event := map[int]string{3: ProfileDownloaded, 4: ProfileInstalled}[p.Point]
		if failure || event == "" {
			return nil
		}
		r, err := recordProfileEvent(ctx, tx, ProfileEvent{ICCID: p.ICCID, Event: event, At: p.At})
		out.Profile = &r
		return err
	})
	return out, err
}
