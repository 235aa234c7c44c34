package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/carrier/esim-admin/db/rules"
)

// MaxLineNameLen is the longest line name, in characters (rules.MaxLineNameLen).
const MaxLineNameLen = rules.MaxLineNameLen

// CleanLineName is rules.CleanLineName with its refusal on the field
// line_name, as the forms and the API show it.
func CleanLineName(name string) (string, error) {
	clean, problem := rules.CleanLineName(name)
	if problem != "" {
		return "", refuse(ErrInvalid, "line_name", problem)
	}
	return clean, nil
}

// AddLine is an agent's request to give a subscriber a new eSIM line.
type AddLine struct {
	SubscriberID int64
	LineName     string
	PlanID       int64
	// Token is the form's one-time token: a repeated submit of the same form
	// gets the first result back instead of a second eSIM.
	Token string
	By    Login
}

// Order is what an Add line or Add plan did.
type Order struct {
	SubscriberID int64
	ICCID        string
	LineName     string
	IMSIProfile  int
	OrderNumber  string
	PlanName     string
	Email        string // where the emails about the order go
	// Replayed is set when the form had already been submitted and this is
	// the first submit's result.
	Replayed bool `json:"-"`
}

// AddLine allocates the free eSIM of the plan's IMSI profile that has waited
// longest to the subscriber, puts the plan on it, and queues the QR-code email
// and the order confirmation, all in one transaction. Every business rule is
// checked inside it, so concurrent Add lines can neither share an eSIM nor
// exceed the allowance.
func (s *Store) AddLine(ctx context.Context, req AddLine) (_ Order, err error) {
	defer func() { err = failed("add line", err) }()
	lineName, err := s.checkAddLine(ctx, req)
	if err != nil {
		return Order{}, err
	}
	var order Order
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		if done, err := replay(ctx, tx, req.Token, req.By, &order); done || err != nil {
			return err
		}
		sub, err := subscriber(ctx, tx, req.SubscriberID)
		if err != nil {
			return err
		}
		// The plan is looked up again: the catalog may have changed since.
		// Every refusal is collected, so the agent fixes the form in one go.
		var errs Errors
		if e := RefuseForStatus(sub, true); e != nil {
			errs = append(errs, e)
		}
		p, err := sellablePlan(ctx, tx, req.PlanID)
		if err := errs.add(err); err != nil {
			return err
		}
		if err := errs.add(nameTaken(ctx, tx, sub, lineName, p)); err != nil {
			return err
		}
		a, err := allowance(ctx, tx, sub.ID)
		if err != nil {
			return err
		}
		if a.Left() == 0 {
			errs = append(errs, notEligible(sub, a))
		}
		var e ESIM
		if p.ID != 0 {
			e, err = oldestFree(ctx, tx, p.IMSIProfile)
			if errors.Is(err, sql.ErrNoRows) {
				errs = append(errs, OutOfStock(p.IMSIProfile))
			} else if err != nil {
				return err
			}
		}
		if err := errs.Err(); err != nil {
			return err
		}
		if err := allocate(ctx, tx, e, sub.ID, lineName, req.By); err != nil {
			return err
		}
		linePlan, number, err := insertLinePlan(ctx, tx, e.ICCID, p, req.By)
		if err != nil {
			return err
		}
		if err := releaseOrQR(ctx, tx, sub, lineName, e, ""); err != nil {
			return err
		}
		if err := enqueueConfirmation(ctx, tx, sub, lineName, e.ICCID, p, linePlan, number); err != nil {
			return err
		}
		order = Order{SubscriberID: sub.ID, ICCID: e.ICCID, LineName: lineName, IMSIProfile: p.IMSIProfile, OrderNumber: number, PlanName: p.Name, Email: sub.Email}
		detail := fmt.Sprintf("line %q, plan %s (%s), order %s", lineName, p.Name, p.Code, number)
		if err := audit(ctx, tx, req.By, "add_line", sub.ID, e.ICCID, detail); err != nil {
			return err
		}
		return remember(ctx, tx, req.Token, req.By, order)
	})
	return order, err
}

// oldestFree is the free eSIM of the IMSI profile that has waited longest,
// the one a new line or a replacement gets; sql.ErrNoRows when none is left.
func oldestFree(ctx context.Context, tx *change, profile int) (ESIM, error) {
	e := ESIM{IMSIProfile: profile, State: StateFree}
	err := tx.QueryRowContext(ctx, `SELECT iccid, smdp_address, matching_id FROM esims
		WHERE state = 'free' AND imsi_profile = ? ORDER BY stocked_at, iccid LIMIT 1`, profile).
		Scan(&e.ICCID, &e.SMDPAddress, &e.MatchingID)
	return e, err
}

// allocate gives the free eSIM e to the subscriber's line, and counts it
// out of the free stock.
func allocate(ctx context.Context, tx *change, e ESIM, subscriberID int64, lineName string, by Login) error {
	if _, err := tx.ExecContext(ctx, `UPDATE esims SET state = 'allocated', subscriber_id = ?, line_name = ?, allocated_at = ?, allocated_by = ?
		WHERE iccid = ? AND state = 'free'`, subscriberID, lineName, formatTime(tx.now), by.ID, e.ICCID); err != nil {
		return err
	}
	return moveStock(ctx, tx, e.IMSIProfile, StateFree, StateAllocated)
}

// checkAddLine refuses, before any change, a form that could never be
// taken: a line name that will not do, or no plan chosen. The chosen plan is
// then looked up too, so that every field's refusal shows at once. It
// returns the cleaned line name.
func (s *Store) checkAddLine(ctx context.Context, req AddLine) (string, error) {
	lineName, nameErr := CleanLineName(req.LineName)
	if nameErr == nil && req.PlanID != 0 {
		return lineName, nil
	}
	var errs Errors
	if err := errs.add(nameErr); err != nil {
		return "", err
	}
	_, err := sellablePlan(ctx, s.read, req.PlanID)
	if err := errs.add(err); err != nil {
		return "", err
	}
	sub, err := subscriber(ctx, s.read, req.SubscriberID)
	if err := errs.add(err); err != nil {
		return "", err
	}
	if e := RefuseForStatus(sub, true); e != nil && sub.ID != 0 {
		errs = append(errs, e)
	}
	if sub.ID != 0 {
		a, err := allowance(ctx, s.read, sub.ID)
		if err != nil {
			return "", err
		}
		if a.Left() == 0 {
			errs = append(errs, notEligible(sub, a))
		}
	}
	return "", errs
}

// heldLinesQuery reads a subscriber's lines but one. SQLite, with no
// statistics, would rather walk every allocated eSIM in the List's covering
// index (esims_list_iccid, state first) than the subscriber's few: at a
// million eSIMs, a hundred times longer.
const heldLinesQuery = `SELECT line_name, imsi_profile FROM esims INDEXED BY esims_line_name
	WHERE subscriber_id = ? AND state = 'allocated' AND iccid <> ?`

// heldLine finds the subscriber's line, other than the eSIM except, whose
// name is the same as name to an agent's eye, and returns its IMSI profile.
// The unique index on line names compares them in SQLite's NOCASE, which
// folds ASCII letters only: the comparison that counts is rules.SameLineName.
func heldLine(ctx context.Context, q queryer, subscriberID int64, name, except string) (profile int, found bool, err error) {
	rows, err := q.QueryContext(ctx, heldLinesQuery, subscriberID, except)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var held string
		if err := rows.Scan(&held, &profile); err != nil {
			return 0, false, err
		}
		if rules.SameLineName(held, name) {
			return profile, true, nil
		}
	}
	return 0, false, rows.Err()
}

// nameTaken refuses a line name the subscriber already uses. Adding the
// plan to that line instead is suggested only when the line can take it.
func nameTaken(ctx context.Context, tx queryer, sub Subscriber, lineName string, p Plan) error {
	profile, found, err := heldLine(ctx, tx, sub.ID, lineName, "")
	if err != nil || !found {
		return err
	}
	msg := fmt.Sprintf("%s already has a line named %q. Choose another name", sub.Name, lineName)
	switch {
	case p.ID != 0 && p.IMSIProfile == profile:
		msg += fmt.Sprintf(", or add %s to that line.", p.Name)
	case p.ID != 0:
		msg += fmt.Sprintf(": that line is profile %d and cannot take %s (profile %d).", profile, p.Name, p.IMSIProfile)
	default:
		msg += "."
	}
	return refuse(ErrInvalid, "line_name", msg)
}

// OutOfStock is the refusal of a new line when no free eSIM of the plan's
// IMSI profile is left.
func OutOfStock(profile int) *Error {
	return refuse(ErrOutOfStock, "plan", fmt.Sprintf("No free profile %d eSIMs left — ask a team lead to restock.", profile))
}

func notEligible(sub Subscriber, a Allowance) *Error {
	if a.Total == 0 {
		return refuse(ErrNotEligible, "", sub.Name+" has no Unlimited All plan or Unlimited bundle, so cannot be given a complimentary eSIM.")
	}
	return refuse(ErrNotEligible, "", fmt.Sprintf("Allowance used up: %s holds %d of %d complimentary eSIMs. Each eSIM needs its own Unlimited All plan or Unlimited bundle.", sub.Name, a.Used, a.Total))
}

// sellablePlan returns a plan that can be sold now.
func sellablePlan(ctx context.Context, tx queryer, id int64) (Plan, error) {
	if id == 0 {
		return Plan{}, refuse(ErrInvalid, "plan", "Choose a plan.")
	}
	p, err := plan(ctx, tx, id)
	if err != nil {
		return Plan{}, err
	}
	if !p.Active {
		return Plan{}, refuse(ErrInvalid, "plan", p.Name+" is no longer sold. Choose another plan.")
	}
	return p, nil
}

// insertLinePlan puts a plan on an eSIM, queued until it starts, with the
// catalog's allowance and price, which the order keeps whatever the catalog
// says later (db/catalog.go, rule 1), and returns its id and order number.
func insertLinePlan(ctx context.Context, tx *change, iccid string, p Plan, by Login) (int64, string, error) {
	now := tx.now
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM esim_plans`).Scan(&id); err != nil {
		return 0, "", err
	}
	number := OrderNumber(id, now)
	_, err := tx.ExecContext(ctx, `INSERT INTO esim_plans (id, order_number, iccid, plan_id, state, added_at, added_by, data_bytes, price_cents, currency)
		VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)`, id, number, iccid, p.ID, formatTime(now), by.ID, int64(p.DataMB)*BytesPerMB, p.PriceCents, p.Currency)
	return id, number, err
}

// OrderNumber is what the customer quotes for the plan put on a line with
// this id at this time: ORD-2026-000123. The write lock held by the
// transaction makes max(id)+1 safe.
func OrderNumber(id int64, at time.Time) string {
	return fmt.Sprintf("ORD-%d-%06d", at.Year(), id)
}

// enqueueQR queues the email with the QR code that installs eSIM e, the line
// lineName of sub; replaces is the ICCID of the eSIM it replaces, if any. It
// is drafted: rendered when read or sent, not in the change (MailRenderer).
func enqueueQR(ctx context.Context, tx *change, sub Subscriber, lineName string, e ESIM, replaces string) error {
	m := QRMail{Subscriber: sub, LineName: lineName, ICCID: e.ICCID, SMDPAddress: e.SMDPAddress, MatchingID: e.MatchingID, Replaces: replaces}
	qr, err := draftEmail(EmailQR, tx.mail.QRSubject(m), m)
	if err != nil {
		return err
	}
	qr.SubscriberID, qr.ICCID, qr.To = sub.ID, e.ICCID, sub.Email
	return enqueueEmail(ctx, tx, qr)
}

// enqueueConfirmation queues the confirmation of the order number, the plan
// p put on the line as linePlan, drafted as enqueueQR's email is.
func enqueueConfirmation(ctx context.Context, tx *change, sub Subscriber, lineName, iccid string, p Plan, linePlan int64, number string) error {
	m := OrderMail{Subscriber: sub, OrderNumber: number, LineName: lineName, ICCID: iccid, Plan: p, OrderedAt: tx.now}
	msg, err := draftEmail(EmailConfirmation, tx.mail.OrderSubject(m), m)
	if err != nil {
		return err
	}
	msg.SubscriberID, msg.ICCID, msg.LinePlanID, msg.To = sub.ID, iccid, linePlan, sub.Email
	return enqueueEmail(ctx, tx, msg)
}

// replay finds the result of a form already submitted with this token.
func replay(ctx context.Context, tx *change, token string, by Login, order *Order) (bool, error) {
	if token == "" {
		return false, nil
	}
	var result []byte
	var loginID int64
	err := tx.QueryRowContext(ctx, `SELECT login_id, result FROM form_submissions WHERE token = ?`, token).Scan(&loginID, &result)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if loginID != by.ID {
		// A token is one login's: another's form, copied, neither replays that
		// login's result nor can be kept a second time.
		return false, refuse(ErrConflict, "token", "This form was already sent by someone else. It has been renewed: check it and send it again.")
	}
	if err := json.Unmarshal(result, order); err != nil {
		return false, err
	}
	order.Replayed = true
	return true, nil
}

// remember keeps the result of a submitted form under its token.
func remember(ctx context.Context, tx *change, token string, by Login, order Order) error {
	if token == "" {
		return nil
	}
	result, err := json.Marshal(order)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO form_submissions (token, login_id, result, created_at) VALUES (?, ?, ?, ?)`,
		token, by.ID, result, formatTime(tx.now))
	return err
}
