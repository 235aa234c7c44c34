package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/carrier/esim-admin/db/rules"
)

// Notices: what the customer hears about a plan after the order. Which
// notice is due when is a rule of package rules (db/rules/notices.go); the
// store queues the notices in the change that makes them due, and the
// scheduler (NotifyDue) those that time makes due.
//
// Each goes out at most once per plan and kind: the outbox has a unique
// index on (plan, kind), so duplicate reports, retries, restarts and races
// can only try to queue it again, and the insert does nothing. A subscriber
// who asked for no notices gets none of these; the QR and confirmation
// emails always go.

// noticeKinds is the condition of the outbox's once-per-plan index, word for
// word: a query that repeats it can use the index.
const noticeKinds = `kind IN ('plan_started', 'data_low', 'data_used_up', 'ends_soon', 'plan_ended')`

// NoticeSettings are when the time- and data-based notices go out.
type NoticeSettings struct {
	LowPercent int           // Data running low at this share of the data used
	EndsSoon   time.Duration // Ends soon this long before a plan's end
}

// DefaultNotices are the settings unless configured otherwise.
var DefaultNotices = NoticeSettings{LowPercent: 80, EndsSoon: 72 * time.Hour}

// PlanMail is what a notice about a plan says.
type PlanMail struct {
	Kind       string // an Email… notice kind
	Subscriber Subscriber
	LineName   string
	ICCID      string
	Plan       LinePlan // as it is after the change
	// Country is where the plan started, for Plan started.
	Country string
	// Current is the plan that carries the line's data after the change, for
	// Data used up and Ended; nil when none does.
	Current *LinePlan
	// Queued are the plans still waiting on the line.
	Queued []LinePlan
	// LowPercent is the threshold a Data running low notice is about.
	LowPercent int
	// At is when the notice is queued.
	At time.Time
	// Reason is why a cancelled plan was cancelled.
	Reason string
}

// noticeLine is what a notice needs of the line beyond its plans.
type noticeLine struct {
	sub      Subscriber
	lineName string
	iccid    string
	plans    []LinePlan
}

func loadNoticeLine(ctx context.Context, q queryer, iccid string) (noticeLine, error) {
	l := noticeLine{iccid: iccid}
	err := q.QueryRowContext(ctx, `SELECT s.id, s.account_number, s.name, s.email, s.phone, s.plan_notices, e.line_name
		FROM esims e JOIN subscribers s ON s.id = e.subscriber_id WHERE e.iccid = ?`, iccid).
		Scan(&l.sub.ID, &l.sub.AccountNumber, &l.sub.Name, &l.sub.Email, &l.sub.Phone, &l.sub.PlanNotices, &l.lineName)
	if err != nil {
		return l, err
	}
	plans, err := linePlans(ctx, q, `WHERE ep.iccid = ?`, iccid)
	l.plans = plans[iccid]
	return l, err
}

// queueNotice queues one notice about the plan of the line, once, and
// reports whether it did: nothing happens when the subscriber asked for no
// notices or it was queued before. The look first only spares rendering a
// duplicate; the outbox's unique index is what makes it once.
func queueNotice(ctx context.Context, tx *change, l noticeLine, m PlanMail) (bool, error) {
	if !l.sub.PlanNotices {
		return false, nil
	}
	var sent bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE esim_plan_id = ? AND kind = ? AND `+noticeKinds+`)`,
		m.Plan.ID, m.Kind).Scan(&sent); err != nil || sent {
		return false, err
	}
	m.Subscriber, m.LineName, m.ICCID = l.sub, l.lineName, l.iccid
	m.LowPercent, m.At = tx.notices.LowPercent, tx.now
	now := ESIM{Plans: l.plans}.PlanNow(tx.now)
	if now != nil && now.ID != m.Plan.ID {
		m.Current = now
	}
	for _, lp := range l.plans {
		if lp.State == PlanQueued {
			m.Queued = append(m.Queued, lp)
		}
	}
	msg, err := tx.mail.PlanNotice(m)
	if err != nil {
		return false, fmt.Errorf("render %s notice: %w", m.Kind, err)
	}
	err = enqueueEmail(ctx, tx, Email{Kind: m.Kind, SubscriberID: l.sub.ID, ICCID: l.iccid, LinePlanID: m.Plan.ID,
		To: l.sub.Email, Message: msg})
	return err == nil, err
}

// dueBatch bounds the plans one scheduler change handles; the scheduler goes
// on with the next change until none are due.
const dueBatch = 500

// NotifyDue sends the time-based notices that are due at the store's clock —
// Ends soon, then Ended — and marks the plans whose 30 days are over as
// expired. It returns how many notices it queued. The portal calls it from
// a ticker; it looks only at the plans in its two small indexes, so a tick
// with nothing due costs two index seeks.
func (s *Store) NotifyDue(ctx context.Context) (queued int, err error) {
	defer func() { err = failed("notify due", err) }()
	for {
		var handled, n int
		err := s.inTx(ctx, func(ctx context.Context, tx *change) error {
			var err error
			handled, n, err = notifyDue(ctx, tx)
			return err
		})
		if err != nil {
			return queued, err
		}
		queued += n
		if handled < dueBatch {
			return queued, nil
		}
	}
}

// notifyDue is one change of NotifyDue: it handles up to dueBatch plans.
func notifyDue(ctx context.Context, tx *change) (handled, queued int, err error) {
	type due struct {
		id    int64
		iccid string
	}
	pick := func(query string, args ...any) ([]due, error) {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.iccid); err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		return out, rows.Err()
	}
	now := formatTime(tx.now)
	remind, err := pick(`SELECT id, iccid FROM esim_plans INDEXED BY esim_plans_to_remind
		WHERE state = 'active' AND reminded = 0 AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
		formatTime(tx.now.Add(tx.notices.EndsSoon)), dueBatch)
	if err != nil {
		return 0, 0, err
	}
	end, err := pick(`SELECT id, iccid FROM esim_plans INDEXED BY esim_plans_to_end
		WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at LIMIT ?`, now, dueBatch-len(remind))
	if err != nil {
		return 0, 0, err
	}
	send := func(d due, kind string, ok func(LinePlan) bool) error {
		l, err := loadNoticeLine(ctx, tx, d.iccid)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the eSIM is nobody's line any more
		}
		if err != nil {
			return err
		}
		for _, lp := range l.plans {
			if lp.ID == d.id && ok(lp) {
				done, err := queueNotice(ctx, tx, l, PlanMail{Kind: kind, Plan: lp})
				if done {
					queued++
				}
				return err
			}
		}
		return nil
	}
	for _, d := range remind {
		if err := send(d, EmailEndsSoon, func(lp LinePlan) bool { return rules.EndsSoonDue(lp, tx.now) }); err != nil {
			return 0, 0, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE esim_plans SET reminded = 1 WHERE id = ?`, d.id); err != nil {
			return 0, 0, err
		}
	}
	for _, d := range end {
		if _, err := tx.ExecContext(ctx, `UPDATE esim_plans SET state = 'expired', reminded = 1 WHERE id = ?`, d.id); err != nil {
			return 0, 0, err
		}
		if err := send(d, EmailPlanEnded, func(LinePlan) bool { return true }); err != nil {
			return 0, 0, err
		}
	}
	return len(remind) + len(end), queued, nil
}

// SetPlanNotices turns the subscriber's plan notices on or off, at their
// request, and writes it to the audit log.
func (s *Store) SetPlanNotices(ctx context.Context, subscriberID int64, on bool, by Login) (err error) {
	defer func() { err = failed("set plan notices", err) }()
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		res, err := tx.ExecContext(ctx, `UPDATE subscribers SET plan_notices = ? WHERE id = ? AND plan_notices <> ?`, on, subscriberID, on)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if _, err := subscriber(ctx, tx, subscriberID); err != nil {
				return err
			}
			return nil // already so
		}
		detail := "plan notices off, at the customer's request"
		if on {
			detail = "plan notices on, at the customer's request"
		}
		return audit(ctx, tx, by, "set_plan_notices", subscriberID, "", detail)
	})
}
