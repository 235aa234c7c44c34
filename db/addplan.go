package db

import (
	"context"
	"fmt"
)

// AddPlan is an agent's request to top up an existing eSIM line with a plan.
type AddPlan struct {
	ICCID string
	// SubscriberID is the subscriber the form was opened for: the eSIM must
	// still be theirs.
	SubscriberID int64
	PlanID       int64
	Token        string
	By           Login
}

// ProfileMismatch is the refusal of a plan whose IMSI profile differs from the eSIM's.
func ProfileMismatch(p Plan, esimProfile int) *Error {
	return refuse(ErrProfileMismatch, "plan", fmt.Sprintf(
		"%s runs on IMSI profile %d; this eSIM is profile %d. Plans can only be added to an eSIM of the same profile.",
		p.Name, p.IMSIProfile, esimProfile))
}

// CheckLine refuses an eSIM that is not a subscriber's line: a conflict with
// its state, as for every change that needs a line.
func CheckLine(e ESIM) error {
	if e.State != StateAllocated {
		return refuse(ErrConflict, "", fmt.Sprintf("eSIM %s is %s, not a subscriber's line: plans go only on allocated eSIMs.", e.ICCID, e.State))
	}
	return nil
}

// AddPlan puts a plan on an allocated eSIM, pending activation behind the
// plans already on it, and queues the order confirmation (there is nothing
// new to install, so no QR email), in one transaction.
func (s *Store) AddPlan(ctx context.Context, req AddPlan) (_ Order, err error) {
	defer func() { err = failed("add plan", err) }()
	var order Order
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		if done, err := replay(ctx, tx, req.Token, req.By, &order); done || err != nil {
			return err
		}
		e, err := esim(ctx, tx, req.ICCID)
		if err != nil {
			return err
		}
		if err := CheckLine(e); err != nil {
			return err
		}
		var errs Errors
		if e.SubscriberID != req.SubscriberID {
			errs = append(errs, refuse(ErrInvalid, "", fmt.Sprintf("eSIM %s is not a line of this subscriber.", e.ICCID)))
		}
		p, planErr := sellablePlan(ctx, tx, req.PlanID)
		if planErr == nil && p.IMSIProfile != e.IMSIProfile {
			planErr = ProfileMismatch(p, e.IMSIProfile)
		}
		if err := errs.add(planErr); err != nil {
			return err
		}
		if err := errs.Err(); err != nil {
			return err
		}
		sub, err := changeable(ctx, tx, e.SubscriberID, true)
		if err != nil {
			return err
		}
		linePlan, number, err := insertLinePlan(ctx, tx, e.ICCID, p, req.By)
		if err != nil {
			return err
		}
		if err := enqueueConfirmation(ctx, tx, sub, e.LineName, e.ICCID, p, linePlan, number); err != nil {
			return err
		}
		order = Order{SubscriberID: sub.ID, ICCID: e.ICCID, LineName: e.LineName, IMSIProfile: e.IMSIProfile, OrderNumber: number, PlanName: p.Name, Email: sub.Email}
		if err := audit(ctx, tx, req.By, "add_plan", sub.ID, e.ICCID, fmt.Sprintf("line %q, plan %s (%s), order %s", e.LineName, p.Name, p.Code, number)); err != nil {
			return err
		}
		return remember(ctx, tx, req.Token, req.By, order)
	})
	return order, err
}
