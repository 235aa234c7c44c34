package db

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

const planColumns = `p.id, p.code, p.name, p.region, p.data_mb, p.validity_days, p.imsi_profile, p.price_cents, p.currency, p.active,
	(SELECT group_concat(country, ' ') FROM (SELECT country FROM plan_destinations d WHERE d.plan_id = p.id ORDER BY country))`

// planScan holds the scan targets of planColumns.
type planScan struct {
	Plan
	dest sql.NullString
}

func (ps *planScan) targets() []any {
	p := &ps.Plan
	return []any{&p.ID, &p.Code, &p.Name, &p.Region, &p.DataMB, &p.ValidityDays, &p.IMSIProfile, &p.PriceCents, &p.Currency, &p.Active, &ps.dest}
}

func (ps *planScan) plan() Plan {
	ps.Destinations = strings.Fields(ps.dest.String)
	return ps.Plan
}

func scanPlan(row interface{ Scan(...any) error }) (Plan, error) {
	var ps planScan
	err := row.Scan(ps.targets()...)
	return ps.plan(), err
}

// Plans returns the catalog, active plans only unless all is set, by region
// and price.
func (s *Store) Plans(ctx context.Context, all bool) (_ []Plan, err error) {
	defer func() { err = failed("list plans", err) }()
	rows, err := s.read.QueryContext(ctx, `SELECT `+planColumns+` FROM plans p WHERE p.active OR ? ORDER BY p.region, p.price_cents, p.name`, all)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Plan
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Plan returns one plan of the catalog, active or not.
func (s *Store) Plan(ctx context.Context, id int64) (_ Plan, err error) {
	defer func() { err = failed("load plan", err) }()
	return plan(ctx, s.read, id)
}

func plan(ctx context.Context, q queryer, id int64) (Plan, error) {
	p, err := scanPlan(q.QueryRowContext(ctx, `SELECT `+planColumns+` FROM plans p WHERE p.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Plan{}, refuse(ErrNotFound, "plan", "That plan is not in the catalog.")
	}
	return p, err
}
