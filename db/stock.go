package db

import (
	"context"
	"database/sql"
	"fmt"
)

// The stock counts: how many eSIMs of each IMSI profile are in each state,
// kept in esim_stock (migration 0006) by the changes that move eSIMs between
// states, inside their own transactions:
//
//   - AddLine moves one eSIM from free to allocated (moveStock);
//   - ImportInventory adds each profile's free eSIMs once per delivery
//     (addStock), not once per row;
//   - RetireESIM moves one eSIM from free to retired (moveStock);
//   - a data set loaded with raw SQL (the demo, the scale data set) counts
//     everything again when it is done (recountStock).
//
// A change that moves an eSIM to another state, or to another profile, must
// call moveStock in the same transaction; TestStockCounts compares the kept
// counts with a full count after every kind of change.

// execer is a transaction, or a change's.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// addStock adds n eSIMs of profile in state to the kept counts; n may be
// negative. A count is never a reason to refuse a change: one that drifted
// (an eSIM changed by hand in the sqlite shell) shows a wrong number in the
// stock panel, and CheckStock finds it, but Add line goes on.
func addStock(ctx context.Context, tx execer, profile int, state string, n int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO esim_stock (imsi_profile, state, count) VALUES (?, ?, ?)
		ON CONFLICT (imsi_profile, state) DO UPDATE SET count = count + excluded.count`, profile, state, n)
	if err != nil {
		return fmt.Errorf("stock count of profile %d %s: %w", profile, state, err)
	}
	return nil
}

// moveStock counts one eSIM of profile as moved from state from to state to.
func moveStock(ctx context.Context, tx execer, profile int, from, to string) error {
	if err := addStock(ctx, tx, profile, from, -1); err != nil {
		return err
	}
	return addStock(ctx, tx, profile, to, 1)
}

// recountStock makes the kept counts again from a full count of the
// inventory: for loads that insert eSIMs with raw SQL. At a million eSIMs it
// reads the table once, a fraction of a second.
func recountStock(ctx context.Context, tx execer) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM esim_stock`); err != nil {
		return fmt.Errorf("recount stock: %w", err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO esim_stock (imsi_profile, state, count)
		SELECT imsi_profile, state, count(*) FROM esims GROUP BY imsi_profile, state`)
	if err != nil {
		return fmt.Errorf("recount stock: %w", err)
	}
	return nil
}

// ProfileStock is the stock of one IMSI profile.
type ProfileStock struct {
	IMSIProfile int
	Free        int
	Allocated   int
	Retired     int
}

// StockSummary returns the free, allocated and retired eSIMs of each IMSI
// profile, from the kept counts: a few rows, whatever the inventory's size.
func (s *Store) StockSummary(ctx context.Context) (_ []ProfileStock, err error) {
	defer func() { err = failed("stock summary", err) }()
	rows, err := s.read.QueryContext(ctx, `SELECT imsi_profile, state, count FROM esim_stock`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]ProfileStock, len(IMSIProfiles))
	byProfile := make(map[int]*ProfileStock, len(IMSIProfiles))
	for i, p := range IMSIProfiles {
		out[i].IMSIProfile = p
		byProfile[p] = &out[i]
	}
	for rows.Next() {
		var profile, n int
		var state string
		if err := rows.Scan(&profile, &state, &n); err != nil {
			return nil, err
		}
		ps, ok := byProfile[profile]
		if !ok {
			continue
		}
		switch state {
		case StateFree:
			ps.Free = n
		case StateAllocated:
			ps.Allocated = n
		case StateRetired:
			ps.Retired = n
		}
	}
	return out, rows.Err()
}

// CheckStock compares the kept stock counts with a full count of the
// inventory and says where they differ; nil when they agree. restore runs
// it on a backup, the tests after every kind of change.
func (s *Store) CheckStock(ctx context.Context) error {
	return checkStock(ctx, s.read)
}

func checkStock(ctx context.Context, q queryer) error {
	rows, err := q.QueryContext(ctx, `
		SELECT imsi_profile, state, sum(kept), sum(counted) FROM (
			SELECT imsi_profile, state, count AS kept, 0 AS counted FROM esim_stock
			UNION ALL
			SELECT imsi_profile, state, 0, count(*) FROM esims GROUP BY imsi_profile, state)
		GROUP BY imsi_profile, state HAVING sum(kept) <> sum(counted) ORDER BY imsi_profile, state`)
	if err != nil {
		return fmt.Errorf("check stock counts: %w", err)
	}
	defer rows.Close()
	var diffs []string
	for rows.Next() {
		var profile, kept, counted int
		var state string
		if err := rows.Scan(&profile, &state, &kept, &counted); err != nil {
			return err
		}
		diffs = append(diffs, fmt.Sprintf("profile %d %s: kept %d, counted %d", profile, state, kept, counted))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the stock counts do not match the inventory: %v", diffs)
	}
	return nil
}
