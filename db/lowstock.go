package db

import (
	"context"
	"fmt"
	"time"
)

// The daily low-stock email to team leads: when the stock forecast
// (insights.go) says an IMSI profile runs out within the reorder lead time,
// every team lead hears it, once a day for each such profile, through the
// outbox. It goes to a login, not to a subscriber: the outbox row has
// login_id and imsi_profile instead of a subscriber (migration 0007).

// EmailLowStock is the outbox kind of the low-stock email to team leads.
const EmailLowStock = "low_stock"

// LowStockMail is what the low-stock email to a team lead says.
type LowStockMail struct {
	Lead     Login
	Forecast StockForecast
	At       time.Time // when it is queued
}

// NotifyLowStock queues the low-stock email to every team lead about each
// IMSI profile whose stock is forecast to run out within reorderDays
// (ForecastStock), once per lead, profile and UTC day: the outbox's unique
// index outbox_low_stock_once says so, whatever restarts and races. It
// returns how many emails it queued. The scheduler calls it once a day; it
// reads the forecasts as Insights shows them, so the email and the page
// cannot disagree.
func (s *Store) NotifyLowStock(ctx context.Context, reorderDays int) (queued int, err error) {
	defer func() { err = failed("notify low stock", err) }()
	in, err := s.Insights(ctx)
	if err != nil {
		return 0, err
	}
	var atRisk []StockForecast
	for _, f := range in.Forecasts(reorderDays) {
		if f.AtRisk {
			atRisk = append(atRisk, f)
		}
	}
	if len(atRisk) == 0 {
		return 0, nil
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		queued = 0
		leads, err := activeLeads(ctx, tx)
		if err != nil {
			return err
		}
		day := tx.now.UTC().Format(time.DateOnly)
		for _, f := range atRisk {
			for _, l := range leads {
				// The look first only spares rendering a duplicate; the
				// unique index is what makes it once.
				var sent bool
				if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE kind = 'low_stock'
					AND login_id = ? AND imsi_profile = ? AND substr(queued_at, 1, 10) = ?)`, l.ID, f.IMSIProfile, day).Scan(&sent); err != nil {
					return err
				}
				if sent {
					continue
				}
				msg, err := tx.mail.LowStock(LowStockMail{Lead: l, Forecast: f, At: tx.now})
				if err != nil {
					return fmt.Errorf("render low-stock email: %w", err)
				}
				now := formatTime(tx.now)
				res, err := tx.ExecContext(ctx, `INSERT INTO outbox (kind, login_id, imsi_profile, to_address, subject, text_body, html_body,
						message_id, next_attempt_at, queued_at)
					VALUES ('low_stock', ?, ?, ?, ?, ?, ?, ?, ?, ?)
					ON CONFLICT DO NOTHING`,
					l.ID, f.IMSIProfile, l.Email, msg.Subject, msg.Text, msg.HTML, newMessageID(), now, now)
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				queued += int(n)
			}
		}
		return nil
	})
	return queued, err
}

// activeLeads are the team leads who can sign in.
func activeLeads(ctx context.Context, q queryer) ([]Login, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, email, name, role FROM logins WHERE role = 'lead' AND disabled_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Login
	for rows.Next() {
		var l Login
		if err := rows.Scan(&l.ID, &l.Email, &l.Name, &l.Role); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
