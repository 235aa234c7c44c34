package db

import (
	"context"
	"fmt"
)

// RenameLine gives a line another name — a typo, a trip that changed — with
// the same rules as the name in Add line, and writes it to the audit log.
func (s *Store) RenameLine(ctx context.Context, iccid, name string, by Login) (_ ESIM, err error) {
	defer func() { err = failed("rename line", err) }()
	name, err = CleanLineName(name)
	if err != nil {
		return ESIM{}, err
	}
	var out ESIM
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		e, err := esim(ctx, tx, iccid)
		if err != nil {
			return err
		}
		if e.State != StateAllocated {
			return refuse(ErrConflict, "", "eSIM "+e.ICCID+" is nobody's line: there is no line to rename.")
		}
		if _, err := changeable(ctx, tx, e.SubscriberID, false); err != nil {
			return err
		}
		if e.LineName == name {
			out = e
			return nil
		}
		_, taken, err := heldLine(ctx, tx, e.SubscriberID, name, e.ICCID)
		if err != nil {
			return err
		}
		if taken {
			return refuse(ErrInvalid, "line_name", fmt.Sprintf("The customer already has a line named %q. Choose another name.", name))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE esims SET line_name = ? WHERE iccid = ?`, name, e.ICCID); err != nil {
			return err
		}
		if err := audit(ctx, tx, by, "rename_line", e.SubscriberID, e.ICCID, fmt.Sprintf("line %q renamed %q", e.LineName, name)); err != nil {
			return err
		}
		out, err = esimWithPlans(ctx, tx, e.ICCID)
		return err
	})
	return out, err
}
