package portaltest

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/carrier/esim-admin/db"
)

// Eligible is what StockEligible added: subscribers who may each get a line
// of the Euro 1 plan, and the stock for it.
type Eligible struct {
	Subscribers []int64 // in id order
	PlanID      int64   // the demo catalog's Euro 1
	Profile     int     // its IMSI profile, the stock's
}

// StockEligible adds n subscribers, each with an Unlimited All plan (one
// complimentary eSIM), and esims free eSIMs of the Euro 1 plan's profile
// stocked at stockedAt, in one transaction behind the store's back, on a
// database with the demo catalog. tag names them apart from the demo's
// ("CR" makes account CR-000001 and crash1@example.com).
func StockEligible(ctx context.Context, raw *sql.DB, tag string, n, esims int, stockedAt time.Time) (Eligible, error) {
	var e Eligible
	if err := raw.QueryRowContext(ctx, `SELECT id, imsi_profile FROM plans WHERE code = 'EURO1'`).Scan(&e.PlanID, &e.Profile); err != nil {
		return e, fmt.Errorf("the demo catalog's Euro 1 plan: %w", err)
	}
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return e, err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	for i := range n {
		res, err := tx.ExecContext(ctx, `INSERT INTO subscribers (account_number, name, email, phone, created_at) VALUES (?, ?, ?, ?, ?)`,
			fmt.Sprintf("%s-%06d", tag, i), fmt.Sprintf("%s Subscriber %d", tag, i), fmt.Sprintf("%s%d@example.com", tag, i),
			fmt.Sprintf("+1555%07d", i), now)
		if err != nil {
			return e, fmt.Errorf("add subscriber: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return e, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO domestic_plans (subscriber_id, name, kind, lines, since)
			VALUES (?, 'Unlimited All', 'unlimited_all', 1, ?)`, id, now); err != nil {
			return e, fmt.Errorf("add home plan: %w", err)
		}
		e.Subscribers = append(e.Subscribers, id)
	}
	stocked := stockedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	for i := range esims {
		body := fmt.Sprintf("89990%013d", i)
		if _, err := tx.ExecContext(ctx, `INSERT INTO esims (iccid, imsi_profile, smdp_address, matching_id, state, stocked_at)
			VALUES (?, ?, 'smdp-eu.test.example.com', ?, 'free', ?)`,
			body+string(db.LuhnDigit(body)), e.Profile, fmt.Sprintf("%s-%08d", tag, i), stocked); err != nil {
			return e, fmt.Errorf("stock an eSIM: %w", err)
		}
	}
	return e, tx.Commit()
}

// PostAddLine submits the Add line form for a line "France" of plan, as the
// form does, with its one-time token; headers as Send's (HX-Request for the
// form in place).
func (c *Client) PostAddLine(subscriberID, planID int64, token string, headers ...string) (*Response, error) {
	return c.Send(http.MethodPost, fmt.Sprintf("/subscribers/%d/lines", subscriberID), url.Values{
		"_csrf":     {c.CSRF},
		"token":     {token},
		"line_name": {"France"},
		"plan":      {strconv.FormatInt(planID, 10)},
	}, headers...)
}
