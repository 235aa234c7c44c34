package db

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestStockCounts compares the kept stock counts with a full count of the
// inventory after every kind of change: the demo data, an import, Add lines
// (alone, at once, repeated and refused), a retirement, a refused import and
// the scale data set; and after the migration that first fills them.
func TestStockCounts(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	s.Mail = testMail{}
	check := func(t *testing.T, after string) {
		t.Helper()
		if err := s.CheckStock(ctx); err != nil {
			t.Fatalf("after %s: %v", after, err)
		}
	}
	if err := DemoData.Seed(ctx, s); err != nil {
		t.Fatal(err)
	}
	check(t, "the demo data")
	lead, agent := mustLogin(t, s, DemoData.LeadEmail), mustLogin(t, s, DemoData.AgentEmail)
	free := func(profile int) int {
		return count(t, s, `SELECT count FROM esim_stock WHERE imsi_profile = ? AND state = 'free'`, profile)
	}

	t.Run("Import", func(t *testing.T) {
		before := free(7)
		res, bad, err := s.ImportInventory(ctx, strings.NewReader(inventoryFile(30, 50_000)), lead)
		if err != nil || len(bad) > 0 {
			t.Fatalf("import: %v %v", err, bad)
		}
		check(t, "an import")
		if got := free(7); got != before+res.ByProfile[7] {
			t.Errorf("profile 7: %d free, want %d", got, before+res.ByProfile[7])
		}
	})
	t.Run("RefusedImport", func(t *testing.T) {
		_, bad, err := s.ImportInventory(ctx, strings.NewReader(inventoryFile(5, 50_000)), lead)
		if err != nil || len(bad) == 0 {
			t.Fatalf("import of eSIMs already in stock: %v, %d refused lines", err, len(bad))
		}
		check(t, "a refused import")
	})

	// Subscribers of their own, so the demo's allowances do not matter.
	plan := s.mustPlanOfProfile(t, 7)
	subs := make([]int64, 12)
	for i := range subs {
		subs[i] = s.mustEligibleSubscriber(t, i)
	}
	t.Run("AddLine", func(t *testing.T) {
		before := free(7)
		if _, err := s.AddLine(ctx, AddLine{SubscriberID: subs[0], LineName: "France", PlanID: plan, Token: "stock-1", By: agent}); err != nil {
			t.Fatal(err)
		}
		check(t, "an Add line")
		if got := free(7); got != before-1 {
			t.Errorf("profile 7: %d free after an Add line, want %d", got, before-1)
		}
		if _, err := s.AddLine(ctx, AddLine{SubscriberID: subs[0], LineName: "France", PlanID: plan, Token: "stock-1", By: agent}); err != nil {
			t.Fatal(err)
		}
		check(t, "a repeated submit")
		if _, err := s.AddLine(ctx, AddLine{SubscriberID: subs[0], LineName: "Spain", PlanID: plan, By: agent}); ErrorCode(err) != ErrNotEligible {
			t.Fatalf("second line for one allowance: %v", err)
		}
		check(t, "a refused Add line")
	})
	t.Run("AddLinesAtOnce", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, sub := range subs[1:] {
			wg.Go(func() {
				if _, err := s.AddLine(ctx, AddLine{SubscriberID: sub, LineName: "Italy", PlanID: plan, By: agent}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		check(t, "Add lines sharing commits")
	})
	t.Run("Retire", func(t *testing.T) {
		var iccid string
		if err := s.read.QueryRowContext(ctx, `SELECT iccid FROM esims WHERE state = 'free' AND imsi_profile = 10 LIMIT 1`).Scan(&iccid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RetireESIM(ctx, iccid, lead); err != nil {
			t.Fatal(err)
		}
		check(t, "a retirement")
		if _, err := s.RetireESIM(ctx, iccid, lead); ErrorCode(err) != ErrConflict {
			t.Fatalf("retire twice: %v", err)
		}
		check(t, "a refused retirement")
	})
	t.Run("OutOfStock", func(t *testing.T) {
		if _, err := s.write.ExecContext(ctx, `UPDATE esims SET state = 'retired' WHERE state = 'free' AND imsi_profile = 7`); err != nil {
			t.Fatal(err)
		}
		if err := recountStock(ctx, s.write); err != nil {
			t.Fatal(err)
		}
		sub := s.mustEligibleSubscriber(t, 100)
		if _, err := s.AddLine(ctx, AddLine{SubscriberID: sub, LineName: "France", PlanID: plan, By: agent}); ErrorCode(err) != ErrOutOfStock {
			t.Fatalf("Add line with no stock: %v", err)
		}
		check(t, "an Add line refused for want of stock")
	})
	t.Run("Drift", func(t *testing.T) {
		// An eSIM put back in stock by hand, in the sqlite shell.
		if _, err := s.write.ExecContext(ctx, `UPDATE esims SET state = 'free' WHERE iccid =
			(SELECT iccid FROM esims WHERE state = 'retired' AND imsi_profile = 10 LIMIT 1)`); err != nil {
			t.Fatal(err)
		}
		err := s.CheckStock(ctx)
		if err == nil || !strings.Contains(err.Error(), "profile 10 free") || !strings.Contains(err.Error(), "profile 10 retired") {
			t.Errorf("a change by hand: %v, want both counts named", err)
		}
	})
}

// TestStockMigration opens a database made before the counts were kept,
// with eSIMs in every state, and finds them counted.
func TestStockMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := DemoData.Seed(ctx, s); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE esim_stock`, `DROP INDEX outbox_queued`, `DROP INDEX outbox_failed`,
		`DELETE FROM schema_migrations WHERE version = 6`} {
		if _, err := s.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckStock(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT count(DISTINCT state) FROM esim_stock`); n != 3 {
		t.Errorf("%d states counted, want free, allocated and retired", n)
	}
}

// mustPlanOfProfile returns a sold plan of the profile.
func (s *Store) mustPlanOfProfile(t *testing.T, profile int) int64 {
	t.Helper()
	var id int64
	if err := s.read.QueryRow(`SELECT id FROM plans WHERE imsi_profile = ? AND active ORDER BY id LIMIT 1`, profile).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// mustEligibleSubscriber adds a subscriber with one Unlimited All plan.
func (s *Store) mustEligibleSubscriber(t *testing.T, n int) int64 {
	t.Helper()
	now := formatTime(s.Now())
	res, err := s.write.Exec(`INSERT INTO subscribers (account_number, name, email, phone, created_at) VALUES (?, ?, ?, '+1 555 0100', ?)`,
		fmt.Sprintf("ST-%04d", n), fmt.Sprintf("Stock Test %d", n), fmt.Sprintf("stock%d@example.com", n), now)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	if _, err := s.write.Exec(`INSERT INTO domestic_plans (subscriber_id, name, kind, since) VALUES (?, 'Unlimited All', 'unlimited_all', ?)`, id, now); err != nil {
		t.Fatal(err)
	}
	return id
}
