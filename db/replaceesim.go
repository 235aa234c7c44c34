package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ReplaceReasons are why an eSIM is replaced, as the customer tells it.
var ReplaceReasons = []string{"Deleted from the phone", "New or lost phone", "The QR code never worked", "Other"}

// ReplaceESIM gives the line a new eSIM, in one change: the free eSIM of the
// same IMSI profile that has waited longest takes the line's name (the
// allowance is unchanged: it is the same line), every plan that has not
// ended moves to it with its state, start, end and data used, the old eSIM
// is retired "replaced by 89…" and points at the new one, and the customer
// gets a QR email that says it replaces the previous eSIM. Ended plans stay
// with the old eSIM, as its history; so do its usage records, each charged
// where it was. The network's late records of the old eSIM, from before this
// moment, still go to the line's plans (db/rules/charge.go, rule 6). No free eSIM of the profile refuses it, with nothing
// changed.
func (s *Store) ReplaceESIM(ctx context.Context, iccid, reason string, by Login) (_ ESIM, err error) {
	defer func() { err = failed("replace eSIM", err) }()
	if !slices.Contains(ReplaceReasons, reason) {
		return ESIM{}, refuse(ErrInvalid, "reason", "Choose why the eSIM is replaced.")
	}
	var out ESIM
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		old, err := esim(ctx, tx, iccid)
		if err != nil {
			return err
		}
		if old.State != StateAllocated {
			return refuse(ErrConflict, "", "eSIM "+old.ICCID+" is "+old.State+": only a line's eSIM can be replaced.")
		}
		fresh, err := oldestFree(ctx, tx, old.IMSIProfile)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(ErrOutOfStock, "reason", fmt.Sprintf("No free profile %d eSIM is left to replace it with — ask a team lead to restock. Nothing was changed.", old.IMSIProfile))
		}
		if err != nil {
			return err
		}
		why := "replaced by " + fresh.ICCID + ": " + strings.ToLower(reason[:1]) + reason[1:]
		if old.SMDP.State == SMDPRefused {
			why += "; refused by the SM-DP+ (" + old.SMDP.StatusCode + ")"
		}
		cancelled, err := cancelAtSMDP(ctx, tx, old)
		if err != nil {
			return err
		}
		// The old eSIM goes first: the line's name is unique among a
		// subscriber's allocated eSIMs.
		if _, err := tx.ExecContext(ctx, `UPDATE esims SET state = 'retired', subscriber_id = NULL, line_name = NULL, allocated_at = NULL,
			allocated_by = NULL, retired_reason = ?, replaced_by = ?, replaced_at = ? WHERE iccid = ? AND state = 'allocated'`,
			why, fresh.ICCID, formatTime(tx.now), old.ICCID); err != nil {
			return err
		}
		if err := moveStock(ctx, tx, old.IMSIProfile, StateAllocated, StateRetired); err != nil {
			return err
		}
		if err := allocate(ctx, tx, fresh, old.SubscriberID, old.LineName, by); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE esim_plans SET iccid = ? WHERE iccid = ?
			AND (state = 'queued' OR (state = 'active' AND expires_at > ?))`, fresh.ICCID, old.ICCID, formatTime(tx.now))
		if err != nil {
			return err
		}
		moved, err := res.RowsAffected()
		if err != nil {
			return err
		}
		sub, err := changeable(ctx, tx, old.SubscriberID, false)
		if err != nil {
			return err
		}
		if err := releaseOrQR(ctx, tx, sub, old.LineName, fresh, old.ICCID); err != nil {
			return err
		}
		plans := "plans"
		if moved == 1 {
			plans = "plan"
		}
		detail := fmt.Sprintf("line %q: eSIM %s replaced by %s (%s); %d %s moved", old.LineName, old.ICCID, fresh.ICCID, reason, moved, plans)
		if cancelled != "" {
			detail += "; the old eSIM was " + cancelled
		}
		if err := audit(ctx, tx, by, "replace_esim", sub.ID, fresh.ICCID, detail); err != nil {
			return err
		}
		out, err = esimWithPlans(ctx, tx, fresh.ICCID)
		return err
	})
	return out, err
}
