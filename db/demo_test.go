package db

import (
	"context"
	"testing"
)

var demoCountedTables = []string{
	"logins", "subscribers", "domestic_plans", "plans", "plan_destinations", "esims",
	"esim_plans", "outbox", "audit_log", "profile_events", "attachments",
}

func demoTableCounts(t *testing.T, s *Store) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, table := range demoCountedTables {
		counts[table] = count(t, s, `SELECT count(*) FROM `+table)
	}
	return counts
}

func TestSeedDemo(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)

	got, err := s.SeedDemo(ctx)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	if !got {
		t.Fatalf("SeedDemo on a new database = false, want true")
	}

	t.Run("free eSIMs per profile", func(t *testing.T) {
		for _, p := range IMSIProfiles {
			got := count(t, s, `SELECT count(*) FROM esims WHERE state = 'free' AND imsi_profile = ?`, p)
			if got < 60 {
				t.Errorf("free eSIMs on profile %d = %d, want at least 60", p, got)
			}
		}
	})

	t.Run("retired eSIMs", func(t *testing.T) {
		if got, want := count(t, s, `SELECT count(*) FROM esims WHERE state = 'retired'`), 3; got != want {
			t.Errorf("retired eSIMs = %d, want %d", got, want)
		}
	})

	t.Run("subscribers", func(t *testing.T) {
		if got := count(t, s, `SELECT count(*) FROM subscribers`); got < 25 {
			t.Errorf("subscribers = %d, want at least 25", got)
		}
		if got := count(t, s, `SELECT count(*) FROM subscribers s WHERE NOT EXISTS
			(SELECT 1 FROM domestic_plans d WHERE d.subscriber_id = s.id AND d.qualifies)`); got < 3 {
			t.Errorf("subscribers with no qualifying plan = %d, want at least 3", got)
		}
	})

	t.Run("Euro 1 is on profile 7", func(t *testing.T) {
		var name string
		var profile int
		err := s.read.QueryRowContext(ctx, `SELECT name, imsi_profile FROM plans WHERE code = 'EURO1'`).Scan(&name, &profile)
		if err != nil {
			t.Fatalf("plan EURO1: %v", err)
		}
		if name != "Euro 1" || profile != 7 {
			t.Errorf("plan EURO1 = %q on profile %d, want \"Euro 1\" on profile 7", name, profile)
		}
		if got := count(t, s, `SELECT count(*) FROM plan_destinations d JOIN plans p ON p.id = d.plan_id
			WHERE p.code = 'EURO1' AND d.country IN ('FR', 'DE', 'ES', 'IT')`); got != 4 {
			t.Errorf("EURO1 covers %d of FR DE ES IT, want 4", got)
		}
	})

	t.Run("Asia plans are not on profile 7", func(t *testing.T) {
		if got := count(t, s, `SELECT count(*) FROM plans WHERE region = 'Asia'`); got == 0 {
			t.Fatalf("no Asia plan")
		}
		if got := count(t, s, `SELECT count(*) FROM plans WHERE region = 'Asia' AND imsi_profile = 7`); got != 0 {
			t.Errorf("Asia plans on profile 7 = %d, want 0", got)
		}
	})

	t.Run("one plan retired from sale", func(t *testing.T) {
		if got, want := count(t, s, `SELECT count(*) FROM plans WHERE NOT active`), 1; got != want {
			t.Errorf("inactive plans = %d, want %d", got, want)
		}
		if got := count(t, s, `SELECT count(*) FROM plans`); got < 10 {
			t.Errorf("plans = %d, want at least 10", got)
		}
	})

	t.Run("every ICCID is valid", func(t *testing.T) {
		rows, err := s.read.QueryContext(ctx, `SELECT iccid FROM esims`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var iccid string
			if err := rows.Scan(&iccid); err != nil {
				t.Fatal(err)
			}
			if err := CheckICCID(iccid); err != nil {
				t.Errorf("CheckICCID(%q) = %v, want nil", iccid, err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("every plan matches its eSIM's profile", func(t *testing.T) {
		if got := count(t, s, `SELECT count(*) FROM esim_plans ep JOIN esims e ON e.iccid = ep.iccid
			JOIN plans p ON p.id = ep.plan_id WHERE p.imsi_profile <> e.imsi_profile`); got != 0 {
			t.Errorf("plans on an eSIM of another profile = %d, want 0", got)
		}
		if got := count(t, s, `SELECT count(*) FROM esim_plans ep JOIN esims e ON e.iccid = ep.iccid
			WHERE e.state <> 'allocated'`); got != 0 {
			t.Errorf("plans on an unallocated eSIM = %d, want 0", got)
		}
	})

	t.Run("no subscriber exceeds the allowance", func(t *testing.T) {
		if got := count(t, s, `SELECT count(*) FROM subscribers s WHERE
			(SELECT count(*) FROM esims e WHERE e.subscriber_id = s.id AND e.state = 'allocated') >
			(SELECT count(*) FROM domestic_plans d WHERE d.subscriber_id = s.id AND d.qualifies)`); got != 0 {
			t.Errorf("subscribers over their allowance = %d, want 0", got)
		}
		if got := count(t, s, `SELECT count(DISTINCT subscriber_id) FROM esims WHERE state = 'allocated'`); got < 8 {
			t.Errorf("subscribers holding lines = %d, want at least 8", got)
		}
	})

	t.Run("a line in every profile", func(t *testing.T) {
		for _, p := range IMSIProfiles {
			if got := count(t, s, `SELECT count(*) FROM esims WHERE state = 'allocated' AND imsi_profile = ?`, p); got == 0 {
				t.Errorf("allocated lines on profile %d = 0, want some", p)
			}
		}
	})

	t.Run("every plan state", func(t *testing.T) {
		for _, state := range []string{PlanQueued, PlanActive, PlanExpired} {
			if got := count(t, s, `SELECT count(*) FROM esim_plans WHERE state = ?`, state); got == 0 {
				t.Errorf("plans %s = 0, want some", state)
			}
		}
		if got := count(t, s, `SELECT count(*) FROM (SELECT iccid FROM esim_plans GROUP BY iccid HAVING count(*) >= 2)`); got == 0 {
			t.Errorf("lines with stacked plans = 0, want some")
		}
	})

	t.Run("plan times agree with state", func(t *testing.T) {
		now := formatTime(s.Now())
		if got := count(t, s, `SELECT count(*) FROM esim_plans WHERE state = 'active'
			AND NOT (expires_at > ? AND activated_at <= ? AND added_at < activated_at)`, now, now); got != 0 {
			t.Errorf("active plans with wrong times = %d, want 0", got)
		}
		if got := count(t, s, `SELECT count(*) FROM esim_plans WHERE state = 'expired' AND NOT (expires_at <= ?)`, now); got != 0 {
			t.Errorf("expired plans not yet ended = %d, want 0", got)
		}
		if got := count(t, s, `SELECT count(*) FROM esim_plans ep JOIN esims e ON e.iccid = ep.iccid
			WHERE ep.added_at < e.allocated_at OR e.allocated_at < e.stocked_at`); got != 0 {
			t.Errorf("plans added before their line, or lines allocated before stocked = %d, want 0", got)
		}
	})

	t.Run("free stock is newer than allocated stock", func(t *testing.T) {
		if got := count(t, s, `SELECT count(*) FROM esims f JOIN esims a ON a.imsi_profile = f.imsi_profile
			WHERE f.state = 'free' AND a.state = 'allocated' AND f.stocked_at <= a.stocked_at`); got != 0 {
			t.Errorf("free eSIMs older than an allocated one = %d, want 0", got)
		}
	})

	t.Run("emails sent", func(t *testing.T) {
		lines := count(t, s, `SELECT count(*) FROM esims WHERE state = 'allocated'`)
		if got := count(t, s, `SELECT count(*) FROM outbox WHERE kind = 'qr' AND state = 'sent'`); got != lines {
			t.Errorf("QR emails = %d, want one per line (%d)", got, lines)
		}
		orders := count(t, s, `SELECT count(*) FROM esim_plans`)
		if got := count(t, s, `SELECT count(*) FROM outbox WHERE kind = 'confirmation' AND state = 'sent'`); got != orders {
			t.Errorf("confirmations = %d, want one per plan (%d)", got, orders)
		}
	})

	t.Run("demo logins authenticate", func(t *testing.T) {
		for _, tc := range []struct {
			email, password string
			role            Role
		}{
			{DemoAgentEmail, DemoAgentPassword, RoleAgent},
			{DemoLeadEmail, DemoLeadPassword, RoleLead},
		} {
			l, err := s.Authenticate(ctx, tc.email, tc.password)
			if err != nil {
				t.Errorf("Authenticate(%q) = %v, want nil", tc.email, err)
				continue
			}
			if l.Role != tc.role {
				t.Errorf("Authenticate(%q).Role = %q, want %q", tc.email, l.Role, tc.role)
			}
		}
	})

	t.Run("seeding again changes nothing", func(t *testing.T) {
		before := demoTableCounts(t, s)
		got, err := s.SeedDemo(ctx)
		if err != nil {
			t.Fatalf("SeedDemo again: %v", err)
		}
		if got {
			t.Errorf("SeedDemo again = true, want false")
		}
		after := demoTableCounts(t, s)
		for _, table := range demoCountedTables {
			if after[table] != before[table] {
				t.Errorf("rows in %s = %d after seeding again, want %d", table, after[table], before[table])
			}
		}
	})
}

func TestSeedDemoLeavesUsedDatabase(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if _, err := s.CreateLogin(ctx, "owner@example.com", "Owner", RoleLead, "a-real-password"); err != nil {
		t.Fatalf("CreateLogin: %v", err)
	}
	got, err := s.SeedDemo(ctx)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	if got {
		t.Errorf("SeedDemo on a database with a login = true, want false")
	}
	if got, want := count(t, s, `SELECT count(*) FROM esims`), 0; got != want {
		t.Errorf("eSIMs = %d, want %d", got, want)
	}
}

func TestSeedDemoIsDeterministic(t *testing.T) {
	ctx := context.Background()
	iccids := func() []string {
		s := openTestStore(t)
		if _, err := s.SeedDemo(ctx); err != nil {
			t.Fatalf("SeedDemo: %v", err)
		}
		rows, err := s.read.QueryContext(ctx, `SELECT iccid || ' ' || matching_id || ' ' || coalesce(line_name, '') FROM esims ORDER BY iccid`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	a, b := iccids(), iccids()
	if len(a) != len(b) {
		t.Fatalf("eSIMs = %d then %d, want the same", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("eSIM %d = %q then %q, want the same", i, a[i], b[i])
		}
	}
}
