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
// counts the free eSIMs, a read of one index entry per free eSIM.
func (s *Store) NotifyLowStock(ctx context.Context, reorderDays int) (queued int, err error) {
	defer func() { err = failed("notify low stock", err) }()
	forecasts, err := s.stockForecasts(ctx, s.Now().UTC(), reorderDays)
	if err != nil {
		return 0, err
	}
	var atRisk []StockForecast
	for _, f := range forecasts {
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

// stockForecasts forecasts every profile's stock at now from the free
// eSIMs and the allocations of the 28 whole UTC days before now.
func (s *Store) stockForecasts(ctx context.Context, now time.Time, reorderDays int) ([]StockForecast, error) {
	free, err := freeStock(ctx, s.read)
	if err != nil {
		return nil, err
	}
	today := utcDay(now)
	first := today.AddDate(0, 0, -28)
	daily := map[int][]int{}
	for _, p := range IMSIProfiles {
		daily[p] = make([]int, 28)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT substr(allocated_at, 1, 10), imsi_profile, count(*)
		FROM esims INDEXED BY esims_list_allocated
		WHERE allocated_at IS NOT NULL AND allocated_at >= ? AND allocated_at < ? GROUP BY 1, 2`, formatTime(first), formatTime(today))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var day string
		var p, n int
		if err := rows.Scan(&day, &p, &n); err != nil {
			return nil, err
		}
		t, err := time.Parse(time.DateOnly, day)
		if err != nil {
			return nil, err
		}
		if i := int(t.Sub(first).Hours() / 24); i >= 0 && i < 28 && daily[p] != nil {
			daily[p][i] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]StockForecast, len(IMSIProfiles))
	for j, p := range IMSIProfiles {
		out[j] = ForecastStock(p, free[p], daily[p], now, reorderDays)
	}
	return out, nil
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
