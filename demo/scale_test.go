package demo

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
)

func TestSeedScale(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	rep, err := SeedScale(ctx, s.Store, ScaleOptions{ESIMs: 3000, Subscribers: 300})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Free+rep.Allocated+rep.Retired != 3000 || rep.Subscribers != 300 || rep.Allocated == 0 || rep.Retired == 0 || rep.LinePlans < rep.Allocated {
		t.Errorf("report %+v", rep)
	}
	if got := s.count(t, `SELECT count(*) FROM esims WHERE iccid LIKE '8901481%'`); got != 3000 {
		t.Errorf("%d scale eSIMs, want 3000", got)
	}
	t.Run("StockCounted", func(t *testing.T) {
		if err := s.CheckStock(ctx); err != nil {
			t.Error(err)
		}
	})
	t.Run("UsageAddsUp", func(t *testing.T) {
		if err := s.CheckUsage(ctx); err != nil {
			t.Error(err)
		}
		if n := s.count(t, `SELECT count(*) FROM esim_plans WHERE state = 'used_up'`); n == 0 {
			t.Error("no plan is used up")
		}
		if n := s.count(t, `SELECT count(*) FROM esim_plans WHERE state = 'active' AND used_bytes > 0`); n == 0 {
			t.Error("no active plan has used data")
		}
	})
	t.Run("ValidICCIDs", func(t *testing.T) {
		for _, iccid := range s.strings(t, `SELECT iccid FROM esims`) {
			if err := db.CheckICCID(iccid); err != nil {
				t.Fatalf("%s: %v", iccid, err)
			}
		}
	})
	for name, query := range map[string]string{
		// Every subscriber holds no more eSIMs than qualifying plans.
		// Billing's downgrades aside (the demo has one), which keep the lines.
		"Allowance": `SELECT count(*) FROM subscribers s WHERE (SELECT count(*) FROM esims e WHERE e.subscriber_id = s.id AND e.state = 'allocated')
			> (SELECT count(*) FROM domestic_plans d WHERE d.subscriber_id = s.id AND d.qualifies)
			AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.subscriber_id = s.id AND a.action = 'billing_update')`,
		"StockedBeforeAllocated": `SELECT count(*) FROM esims WHERE allocated_at < stocked_at`,
		"PlanProfile": `SELECT count(*) FROM esim_plans ep JOIN esims e ON e.iccid = ep.iccid JOIN plans p ON p.id = ep.plan_id
			WHERE p.imsi_profile <> e.imsi_profile`,
		// A plan added before its eSIM was allocated moved to it with Replace
		// eSIM: it was ordered on the eSIM this one replaced.
		"PlanAfterAllocation": `SELECT count(*) FROM esim_plans ep JOIN esims e ON e.iccid = ep.iccid WHERE ep.added_at < e.allocated_at
			AND NOT EXISTS (SELECT 1 FROM outbox o JOIN esims r ON r.iccid = o.iccid
				WHERE o.kind = 'confirmation' AND o.esim_plan_id = ep.id AND o.queued_at = ep.added_at AND r.replaced_by = e.iccid)`,
		"PlansOnlyOnLines":    `SELECT count(*) FROM esim_plans ep JOIN esims e ON e.iccid = ep.iccid WHERE e.state <> 'allocated'`,
		"LinesWithoutPlans":   `SELECT count(*) FROM esims e WHERE e.state = 'allocated' AND NOT EXISTS (SELECT 1 FROM esim_plans ep WHERE ep.iccid = e.iccid)`,
		"AllocatedInThePast":  `SELECT count(*) FROM esims WHERE allocated_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
		"ExpiredPlansAreOver": `SELECT count(*) FROM esim_plans WHERE state = 'expired' AND expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
		"SeveralAllocators":   `SELECT count(DISTINCT allocated_by) < 5 FROM esims`,
	} {
		t.Run(name, func(t *testing.T) {
			if n := s.count(t, `SELECT coalesce((`+query+`), 0)`); n != 0 {
				t.Errorf("%d violations", n)
			}
		})
	}
	t.Run("LineNames", func(t *testing.T) {
		regions := s.strings(t, `SELECT DISTINCT region FROM plans`)
		for _, name := range s.strings(t, `SELECT DISTINCT line_name FROM esims WHERE iccid LIKE '8901481%' AND state = 'allocated'`) {
			place := strings.TrimRight(strings.TrimRight(name, "0123456789"), " ")
			if !slices.Contains(regions, place) && !slices.ContainsFunc(rules.Countries(), func(c rules.Country) bool { return c.Name == place }) {
				t.Errorf("line %q is named after neither a country nor a region", name)
			}
			if clean, err := db.CleanLineName(name); err != nil || clean != name {
				t.Errorf("line %q is not a name Add line takes: %v", name, err)
			}
		}
	})
	t.Run("IndexesBack", func(t *testing.T) {
		schema := func(s testStore) string {
			var all string
			s.raw.QueryRow(`SELECT group_concat(name || ':' || coalesce(sql, ''), char(10)) FROM (SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name)`).Scan(&all)
			return all
		}
		if got, want := schema(s), schema(openTestStore(t)); got != want {
			t.Errorf("indexes after the load:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("Twice", func(t *testing.T) {
		_, err := SeedScale(ctx, s.Store, ScaleOptions{ESIMs: 10, Subscribers: 1})
		if err == nil || !strings.Contains(err.Error(), "already") {
			t.Errorf("second run: %v, want a refusal", err)
		}
	})
	t.Run("NotDemo", func(t *testing.T) {
		real := openTestStore(t)
		if _, err := real.CreateLogin(ctx, "ana@carrier.example", "Ana", db.RoleLead, "a long password"); err != nil {
			t.Fatal(err)
		}
		_, err := SeedScale(ctx, real.Store, ScaleOptions{ESIMs: 10, Subscribers: 1})
		if err == nil || !strings.Contains(err.Error(), "not a demo database") {
			t.Errorf("scale data into a real database: %v, want a refusal", err)
		}
	})
}
