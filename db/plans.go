package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

const planColumns = `p.id, p.code, p.name, p.region, p.data_mb, p.validity_days, p.imsi_profile, p.price_cents, p.active,
	(SELECT group_concat(country, ' ') FROM (SELECT country FROM plan_destinations d WHERE d.plan_id = p.id ORDER BY country))`

// planScan holds the scan targets of planColumns.
type planScan struct {
	Plan
	dest sql.NullString
}

func (ps *planScan) targets() []any {
	p := &ps.Plan
	return []any{&p.ID, &p.Code, &p.Name, &p.Region, &p.DataMB, &p.ValidityDays, &p.IMSIProfile, &p.PriceCents, &p.Active, &ps.dest}
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

// AddToCatalog adds plans to the catalog with their destinations, in one
// change, and returns them with their ids. The portal's screens never change
// the catalog: it comes from the carrier's product systems, and this is how
// a data set such as the demo's gets one. Every plan needs a code not in the
// catalog yet, a name, a region, data, one of IMSIProfiles and destinations
// the portal knows (KnownCountry); its validity is 30 days. Active is kept as
// given.
func (s *Store) AddToCatalog(ctx context.Context, plans []Plan) (_ []Plan, err error) {
	defer func() { err = failed("add to catalog", err) }()
	var errs Errors
	out := make([]Plan, len(plans))
	for i, p := range plans {
		if p.ValidityDays == 0 {
			p.ValidityDays = 30
		}
		p.Destinations = slices.Sorted(slices.Values(p.Destinations))
		out[i] = p
		what := "plan " + p.Code
		switch {
		case p.Code == "" || p.Name == "" || p.Region == "":
			errs = append(errs, refuse(ErrInvalid, "", what+" needs a code, a name and a region"))
		case p.DataMB <= 0 || p.PriceCents < 0:
			errs = append(errs, refuse(ErrInvalid, "", what+" needs its data and a price"))
		case p.ValidityDays != 30:
			errs = append(errs, refuse(ErrInvalid, "", what+": plans last 30 days"))
		case !ValidIMSIProfile(p.IMSIProfile):
			errs = append(errs, refuse(ErrInvalid, "", fmt.Sprintf("%s: IMSI profile must be 2, 7 or 10, not %d", what, p.IMSIProfile)))
		case len(p.Destinations) == 0:
			errs = append(errs, refuse(ErrInvalid, "", what+" needs its destinations"))
		}
		for _, c := range p.Destinations {
			if !KnownCountry(c) {
				errs = append(errs, refuse(ErrInvalid, "", fmt.Sprintf("%s: unknown destination %q: give ISO 3166-1 alpha-2 codes such as DE", what, c)))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		for i := range out {
			p := &out[i]
			err := tx.QueryRowContext(ctx, `INSERT INTO plans (code, name, region, data_mb, validity_days, imsi_profile, price_cents, active)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING RETURNING id`,
				p.Code, p.Name, p.Region, p.DataMB, p.ValidityDays, p.IMSIProfile, p.PriceCents, p.Active).Scan(&p.ID)
			if errors.Is(err, sql.ErrNoRows) {
				return refuse(ErrConflict, "", "Plan "+p.Code+" is already in the catalog.")
			}
			if err != nil {
				return fmt.Errorf("plan %s: %w", p.Code, err)
			}
			for _, c := range p.Destinations {
				if _, err := tx.ExecContext(ctx, `INSERT INTO plan_destinations (plan_id, country) VALUES (?, ?)`, p.ID, c); err != nil {
					return fmt.Errorf("destination %s of plan %s: %w", c, p.Code, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WithdrawPlan takes a plan off sale: the lines that hold it keep it, and Add
// line and Add plan no longer offer it. Like AddToCatalog, it stands in for
// the carrier's product systems, which own the catalog.
func (s *Store) WithdrawPlan(ctx context.Context, id int64) (err error) {
	defer func() { err = failed(fmt.Sprintf("withdraw plan %d", id), err) }()
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		res, err := tx.ExecContext(ctx, `UPDATE plans SET active = 0 WHERE id = ?`, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return refuse(ErrNotFound, "plan", "That plan is not in the catalog.")
		}
		return nil
	})
}
