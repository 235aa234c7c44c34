package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/carrier/esim-admin/db/rules"
)

// CancelReasons are the reasons an agent picks from to cancel a plan.
var CancelReasons = []string{"Trip cancelled", "Wrong plan chosen", "Ordered twice", "Customer changed their mind", "Other"}

// MaxCancelNote is the longest note to a cancellation, in characters.
const MaxCancelNote = 200

// CancelPlan is an agent's request to cancel a plan on a line.
type CancelPlan struct {
	ICCID  string
	PlanID int64 // the esim_plans id
	Reason string
	Note   string
	By     Login
}

// CancelPlan cancels a plan that has not started: nothing has used it. Its
// state becomes cancelled, the customer gets the confirmation of it (an order
// email: it goes whatever the notice setting), and it is audited, in one
// change. A plan that has started, by a connection or by usage, cannot be
// cancelled (ErrConflict): whichever of a first usage record and a cancel
// reaches the store first decides, and the other sees its outcome.
func (s *Store) CancelPlan(ctx context.Context, req CancelPlan) (_ LinePlan, err error) {
	defer func() { err = failed("cancel plan", err) }()
	var errs Errors
	req.Note = strings.TrimSpace(req.Note)
	if !slices.Contains(CancelReasons, req.Reason) {
		errs = append(errs, refuse(ErrInvalid, "reason", "Choose why the plan is cancelled."))
	}
	switch {
	case req.Reason == "Other" && req.Note == "":
		errs = append(errs, refuse(ErrInvalid, "note", "Say why in the note: the reason is Other."))
	case utf8.RuneCountInString(req.Note) > MaxCancelNote:
		errs = append(errs, refuse(ErrInvalid, "note", fmt.Sprintf("The note is too long: at most %d characters.", MaxCancelNote)))
	case strings.IndexFunc(req.Note, unprintable) >= 0:
		errs = append(errs, refuse(ErrInvalid, "note", "The note can only contain printable text."))
	}
	if err := errs.Err(); err != nil {
		return LinePlan{}, err
	}
	var out LinePlan
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		e, err := esim(ctx, tx, req.ICCID)
		if err != nil {
			return err
		}
		if e.State != StateAllocated {
			return refuse(ErrConflict, "", "eSIM "+e.ICCID+" is nobody's line: there is no plan to cancel.")
		}
		plans, err := linePlans(ctx, tx, `WHERE ep.iccid = ?`, e.ICCID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(plans[e.ICCID], func(lp LinePlan) bool { return lp.ID == req.PlanID })
		if i < 0 {
			return refuse(ErrNotFound, "", "No such plan on this line.")
		}
		lp := plans[e.ICCID][i]
		switch lp.State {
		case PlanCancelled:
			return refuse(ErrConflict, "", fmt.Sprintf("%s (order %s) is already cancelled.", lp.Plan.Name, lp.OrderNumber))
		case PlanQueued:
		default:
			return refuse(ErrConflict, "", fmt.Sprintf("%s (order %s) started on %s: a plan that has started cannot be cancelled.",
				lp.Plan.Name, lp.OrderNumber, rules.DateTime(lp.ActivatedAt)))
		}
		why := req.Reason
		if req.Note != "" {
			why += ": " + req.Note
		}
		res, err := tx.ExecContext(ctx, `UPDATE esim_plans SET state = 'cancelled', ended_at = ?, cancel_reason = ?
			WHERE id = ? AND state = 'queued'`, formatTime(tx.now), why, lp.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(err, errors.New("the plan changed under the change"))
		}
		lp.State, lp.EndedAt = PlanCancelled, tx.now
		l, err := loadNoticeLine(ctx, tx, e.ICCID)
		if err != nil {
			return err
		}
		msg, err := tx.mail.PlanNotice(PlanMail{Kind: EmailPlanCancelled, Subscriber: l.sub, LineName: l.lineName, ICCID: e.ICCID,
			Plan: lp, At: tx.now, Reason: req.Reason})
		if err != nil {
			return fmt.Errorf("render cancellation: %w", err)
		}
		if err := enqueueEmail(ctx, tx, Email{Kind: EmailPlanCancelled, SubscriberID: l.sub.ID, ICCID: e.ICCID, LinePlanID: lp.ID,
			To: l.sub.Email, Message: msg}); err != nil {
			return err
		}
		out = lp
		return audit(ctx, tx, req.By, "cancel_plan", l.sub.ID, e.ICCID, fmt.Sprintf("plan %s, order %s: %s", lp.Plan.Name, lp.OrderNumber, why))
	})
	return out, err
}

// unprintable is a character a person cannot see or that breaks a line:
// control and format characters (bidi overrides, zero-width ones) and the
// line and paragraph separators.
func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}
