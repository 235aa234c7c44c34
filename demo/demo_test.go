package demo

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/dbtest"
	"github.com/carrier/esim-admin/db/rules"
	"github.com/carrier/esim-admin/emails"
)

// testStore is a store on a fresh database file, with the real email
// renderer, and a connection of its own to look at the rows behind it.
type testStore struct {
	*db.Store
	raw *sql.DB
}

func openTestStore(t *testing.T) testStore {
	t.Helper()
	path := filepath.Join(t.TempDir(), "demo.db")
	s := dbtest.OpenFile(t, path)
	s.Mail = emails.Renderer{Brand: "Demo Carrier"}
	return testStore{s, dbtest.ReadOnly(t, path)}
}

// count runs a query that returns one number.
func (s testStore) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	return dbtest.Count(t, s.raw, query, args...)
}

// strings runs a query that returns one text column.
func (s testStore) strings(t *testing.T, query string, args ...any) []string {
	t.Helper()
	rows, err := s.raw.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var countedTables = []string{
	"logins", "subscribers", "domestic_plans", "plans", "plan_destinations", "esims",
	"esim_plans", "outbox", "audit_log", "profile_events", "attachments",
}

func (s testStore) tableCounts(t *testing.T) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, table := range countedTables {
		counts[table] = s.count(t, `SELECT count(*) FROM `+table)
	}
	return counts
}

// seeded is a store with the demo data set, loaded at a fixed time.
func seeded(t *testing.T) (testStore, time.Time) {
	t.Helper()
	s := openTestStore(t)
	now := time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	got, err := Seed(context.Background(), s.Store)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	if !got {
		t.Fatalf("Seed on a new database = false, want true")
	}
	return s, now
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	s, now := seeded(t)
	at := db.FormatTime(now)

	t.Run("ClockSetBack", func(t *testing.T) {
		if got := s.Now(); !got.Equal(now) {
			t.Errorf("the store's clock reads %s after Seed, want its own %s", got, now)
		}
	})

	t.Run("FreeESIMsPerProfile", func(t *testing.T) {
		for _, p := range db.IMSIProfiles {
			got := s.count(t, `SELECT count(*) FROM esims WHERE state = 'free' AND imsi_profile = ?`, p)
			if got < 60 {
				t.Errorf("free eSIMs on profile %d = %d, want at least 60", p, got)
			}
		}
	})

	t.Run("RetiredESIMs", func(t *testing.T) {
		if got, want := s.count(t, `SELECT count(*) FROM esims WHERE state = 'retired' AND replaced_by IS NULL`), 3; got != want {
			t.Errorf("eSIMs retired from stock = %d, want %d", got, want)
		}
		if got, want := s.count(t, `SELECT count(*) FROM esims WHERE state = 'retired' AND replaced_by IS NOT NULL`), 1; got != want {
			t.Errorf("eSIMs retired by Replace eSIM = %d, want %d", got, want)
		}
	})

	t.Run("Subscribers", func(t *testing.T) {
		if got := s.count(t, `SELECT count(*) FROM subscribers`); got < 25 {
			t.Errorf("subscribers = %d, want at least 25", got)
		}
		if got := s.count(t, `SELECT count(*) FROM subscribers s WHERE NOT EXISTS
			(SELECT 1 FROM domestic_plans d WHERE d.subscriber_id = s.id AND d.qualifies)`); got < 3 {
			t.Errorf("subscribers with no qualifying plan = %d, want at least 3", got)
		}
	})

	t.Run("Euro1IsOnProfile7", func(t *testing.T) {
		var name string
		var profile int
		if err := s.raw.QueryRow(`SELECT name, imsi_profile FROM plans WHERE code = 'EURO1'`).Scan(&name, &profile); err != nil {
			t.Fatalf("plan EURO1: %v", err)
		}
		if name != "Euro 1" || profile != 7 {
			t.Errorf("plan EURO1 = %q on profile %d, want \"Euro 1\" on profile 7", name, profile)
		}
		if got := s.count(t, `SELECT count(*) FROM plan_destinations d JOIN plans p ON p.id = d.plan_id
			WHERE p.code = 'EURO1' AND d.country IN ('FR', 'DE', 'ES', 'IT')`); got != 4 {
			t.Errorf("EURO1 covers %d of FR DE ES IT, want 4", got)
		}
	})

	t.Run("AsiaPlansAreNotOnProfile7", func(t *testing.T) {
		if got := s.count(t, `SELECT count(*) FROM plans WHERE region = 'Asia'`); got == 0 {
			t.Fatalf("no Asia plan")
		}
		if got := s.count(t, `SELECT count(*) FROM plans WHERE region = 'Asia' AND imsi_profile = 7`); got != 0 {
			t.Errorf("Asia plans on profile 7 = %d, want 0", got)
		}
	})

	t.Run("OnePlanWithdrawn", func(t *testing.T) {
		if got, want := s.count(t, `SELECT count(*) FROM plans WHERE NOT active`), 1; got != want {
			t.Errorf("inactive plans = %d, want %d", got, want)
		}
		if got := s.count(t, `SELECT count(*) FROM esim_plans ep JOIN plans p ON p.id = ep.plan_id WHERE NOT p.active`); got == 0 {
			t.Errorf("no line holds the plan taken off sale")
		}
		if got := s.count(t, `SELECT count(*) FROM plans`); got < 10 {
			t.Errorf("plans = %d, want at least 10", got)
		}
	})

	t.Run("ValidICCIDs", func(t *testing.T) {
		for _, iccid := range s.strings(t, `SELECT iccid FROM esims`) {
			if err := db.CheckICCID(iccid); err != nil {
				t.Errorf("CheckICCID(%q) = %v, want nil", iccid, err)
			}
		}
	})

	t.Run("PlansMatchTheirESIMsProfile", func(t *testing.T) {
		if got := s.count(t, `SELECT count(*) FROM esim_plans ep JOIN esims e ON e.iccid = ep.iccid
			JOIN plans p ON p.id = ep.plan_id WHERE p.imsi_profile <> e.imsi_profile`); got != 0 {
			t.Errorf("plans on an eSIM of another profile = %d, want 0", got)
		}
		if got := s.count(t, `SELECT count(*) FROM esim_plans ep JOIN esims e ON e.iccid = ep.iccid
			WHERE e.state <> 'allocated'`); got != 0 {
			t.Errorf("plans on an unallocated eSIM = %d, want 0", got)
		}
	})

	t.Run("OnlyABillingDowngradeExceedsTheAllowance", func(t *testing.T) {
		// Every line was allowed when it was given; billing's downgrade of
		// one customer afterwards shows the state it leaves.
		if got := s.count(t, `SELECT count(*) FROM subscribers s WHERE
			(SELECT count(*) FROM esims e WHERE e.subscriber_id = s.id AND e.state = 'allocated') >
			(SELECT count(*) FROM domestic_plans d WHERE d.subscriber_id = s.id AND d.qualifies)
			AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.subscriber_id = s.id AND a.action = 'billing_update' AND a.detail LIKE '%no new line%')`); got != 0 {
			t.Errorf("subscribers over their allowance without a downgrade in billing = %d, want 0", got)
		}
		if got := s.count(t, `SELECT count(*) FROM subscribers WHERE status = 'suspended'`) * s.count(t, `SELECT count(*) FROM subscribers WHERE status = 'closed'`) *
			s.count(t, `SELECT count(*) FROM audit_log WHERE detail LIKE '%no new line until a qualifying plan is added%'`); got == 0 {
			t.Error("the demo lacks a suspended account, a closed one or one over its allowance")
		}
		if got := s.count(t, `SELECT count(DISTINCT subscriber_id) FROM esims WHERE state = 'allocated'`); got < 8 {
			t.Errorf("subscribers holding lines = %d, want at least 8", got)
		}
	})

	t.Run("ALineInEveryProfile", func(t *testing.T) {
		for _, p := range db.IMSIProfiles {
			if got := s.count(t, `SELECT count(*) FROM esims WHERE state = 'allocated' AND imsi_profile = ?`, p); got == 0 {
				t.Errorf("allocated lines on profile %d = 0, want some", p)
			}
		}
	})

	t.Run("LinesNamedAsAgentsDo", func(t *testing.T) {
		regions := s.strings(t, `SELECT DISTINCT region FROM plans`)
		for _, name := range s.strings(t, `SELECT line_name FROM esims WHERE state = 'allocated'`) {
			if !slices.Contains(regions, name) && !slices.ContainsFunc(rules.Countries(), func(c rules.Country) bool { return c.Name == name }) {
				t.Errorf("line %q is named after neither a country nor a region", name)
			}
		}
	})

	t.Run("EveryPlanState", func(t *testing.T) {
		for state, query := range map[string]string{
			db.PlanQueued:  `SELECT count(*) FROM esim_plans WHERE activated_at IS NULL`,
			db.PlanActive:  `SELECT count(*) FROM esim_plans WHERE activated_at <= ?1 AND expires_at > ?1`,
			db.PlanExpired: `SELECT count(*) FROM esim_plans WHERE expires_at <= ?1`,
		} {
			if got := s.count(t, query, at); got == 0 {
				t.Errorf("plans %s = 0, want some", state)
			}
		}
		if got := s.count(t, `SELECT count(*) FROM (SELECT iccid FROM esim_plans GROUP BY iccid HAVING count(*) >= 2)`); got == 0 {
			t.Errorf("lines with stacked plans = 0, want some")
		}
	})

	// The stored state of a plan may lag its end, as in the portal: only an
	// attachment sweeps it, and everything reads expires_at.
	t.Run("PlanTimesAgreeWithState", func(t *testing.T) {
		if got := s.count(t, `SELECT count(*) FROM esim_plans WHERE state NOT IN ('queued', 'cancelled')
			AND NOT (added_at < activated_at AND activated_at <= ? AND expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', activated_at, '+30 days'))`, at); got != 0 {
			t.Errorf("plans with times that disagree with their state = %d, want 0", got)
		}
		if got := s.count(t, `SELECT count(*) FROM esim_plans WHERE state = 'expired' AND expires_at > ?`, at); got != 0 {
			t.Errorf("expired plans not yet ended = %d, want 0", got)
		}
		// A plan added before its eSIM was allocated moved to it with the
		// line: it was ordered on the eSIM this one replaced.
		if got := s.count(t, `SELECT count(*) FROM esim_plans ep JOIN esims e ON e.iccid = ep.iccid
			WHERE ep.added_at < e.allocated_at AND NOT EXISTS (SELECT 1 FROM outbox o JOIN esims r ON r.iccid = o.iccid
				WHERE o.kind = 'confirmation' AND o.esim_plan_id = ep.id AND o.queued_at = ep.added_at AND r.replaced_by = e.iccid)
			OR e.allocated_at < e.stocked_at`); got != 0 {
			t.Errorf("plans added before their line, or lines allocated before stocked = %d, want 0", got)
		}
		// Every activation came from an attachment at its time, on the eSIM
		// the plan was on then: its own, or the one it replaced. The only
		// attachments that start nothing are those of a replacement eSIM,
		// whose plan was already running.
		if got := s.count(t, `SELECT count(*) FROM esim_plans ep WHERE ep.activated_at IS NOT NULL AND NOT EXISTS
			(SELECT 1 FROM attachments a WHERE a.attached_at = ep.activated_at
				AND (a.iccid = ep.iccid OR a.iccid IN (SELECT iccid FROM esims WHERE replaced_by = ep.iccid)))`); got != 0 {
			t.Errorf("activations with no attachment = %d, want 0", got)
		}
		if got := s.count(t, `SELECT count(*) FROM attachments a WHERE NOT EXISTS
			(SELECT 1 FROM esim_plans ep WHERE ep.activated_at = a.attached_at
				AND (ep.iccid = a.iccid OR ep.iccid = (SELECT replaced_by FROM esims WHERE iccid = a.iccid)))
			AND NOT EXISTS (SELECT 1 FROM esims r WHERE r.replaced_by = a.iccid)`); got != 0 {
			t.Errorf("attachments that started nothing, not on a replacement eSIM = %d, want 0", got)
		}
	})

	t.Run("FreeStockIsNewerThanAllocatedStock", func(t *testing.T) {
		if got := s.count(t, `SELECT count(*) FROM esims f JOIN esims a ON a.imsi_profile = f.imsi_profile
			WHERE f.state = 'free' AND a.state = 'allocated' AND f.stocked_at <= a.stocked_at`); got != 0 {
			t.Errorf("free eSIMs older than an allocated one = %d, want 0", got)
		}
	})

	t.Run("EveryInstallState", func(t *testing.T) {
		for _, state := range []string{"", db.ProfileInstalled, db.ProfileEnabled, db.ProfileDisabled} {
			if got := s.count(t, `SELECT count(*) FROM esims WHERE state = 'allocated' AND coalesce(profile_state, '') = ?`, state); got == 0 {
				t.Errorf("lines with profile state %q = 0, want some", state)
			}
		}
	})

	t.Run("Emails", func(t *testing.T) {
		lines := s.count(t, `SELECT count(*) FROM esims WHERE state = 'allocated' OR replaced_by IS NOT NULL`)
		if got := s.count(t, `SELECT count(DISTINCT iccid) FROM outbox WHERE kind = 'qr'`); got != lines {
			t.Errorf("eSIMs with a QR email = %d, want every eSIM that is or was a line (%d)", got, lines)
		}
		if got, want := s.count(t, `SELECT count(*) FROM outbox WHERE kind = 'confirmation'`), s.count(t, `SELECT count(*) FROM esim_plans`); got != want {
			t.Errorf("confirmations = %d, want one per plan (%d)", got, want)
		}
		if got := s.count(t, `SELECT count(*) FROM outbox WHERE state = 'sent' AND NOT (sent_at > queued_at AND sent_at <= ?)`, at); got != 0 {
			t.Errorf("emails sent out of time = %d, want 0", got)
		}
		if got := s.count(t, `SELECT count(*) FROM outbox WHERE state = 'failed' AND last_error <> ''`); got != 1 {
			t.Errorf("failed emails = %d, want 1", got)
		}
		// Queued after failed attempts, and not due for a while: a mail
		// server started with the demo does not get it in the first minutes.
		if got := s.count(t, `SELECT count(*) FROM outbox WHERE state = 'queued' AND attempts > 1 AND next_attempt_at > ?`,
			db.FormatTime(now.Add(10*time.Minute))); got != 1 {
			t.Errorf("emails waiting for a retry = %d, want 1", got)
		}
		if got := s.count(t, `SELECT count(*) FROM outbox WHERE state = 'queued'`); got != 1 {
			t.Errorf("queued emails = %d, want only the one waiting for a retry", got)
		}
	})

	t.Run("DemoLoginsAuthenticate", func(t *testing.T) {
		for _, tc := range []struct {
			email, password string
			role            db.Role
		}{
			{AgentEmail, AgentPassword, db.RoleAgent},
			{LeadEmail, LeadPassword, db.RoleLead},
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

	t.Run("SeedingAgainChangesNothing", func(t *testing.T) {
		before := s.tableCounts(t)
		got, err := Seed(ctx, s.Store)
		if err != nil {
			t.Fatalf("Seed again: %v", err)
		}
		if got {
			t.Errorf("Seed again = true, want false")
		}
		after := s.tableCounts(t)
		for _, table := range countedTables {
			if after[table] != before[table] {
				t.Errorf("rows in %s = %d after seeding again, want %d", table, after[table], before[table])
			}
		}
	})
}

// The demo's emails are the portal's: rendered again from the facts of each
// order with the renderer the portal uses, they come out the same.
func TestSeedEmailsAreThePortals(t *testing.T) {
	ctx := context.Background()
	s, _ := seeded(t)
	r := s.Mail
	compare := func(t *testing.T, what string, got db.Email, want db.Message) {
		t.Helper()
		if got.Message.Subject != want.Subject {
			t.Errorf("%s: subject %q, the portal's %q", what, got.Message.Subject, want.Subject)
		}
		if got.Message.Text != want.Text {
			t.Errorf("%s: text\n%s\nthe portal's\n%s", what, got.Message.Text, want.Text)
		}
		if got.Message.HTML != want.HTML {
			t.Errorf("%s: the HTML differs from the portal's", what)
		}
	}
	iccids := s.strings(t, `SELECT iccid FROM esims WHERE state = 'allocated' ORDER BY iccid`)
	compared := 0
	for _, iccid := range iccids {
		e, err := s.ESIM(ctx, iccid)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := s.Subscriber(ctx, e.SubscriberID)
		if err != nil {
			t.Fatal(err)
		}
		// The line's eSIMs, the first it had first: a replaced eSIM keeps
		// the emails about it, and the plans that had ended on it.
		chain := []db.ESIM{e}
		for chain[len(chain)-1].Replaces != "" {
			c, err := s.ESIM(ctx, chain[len(chain)-1].Replaces)
			if err != nil {
				t.Fatal(err)
			}
			chain = append(chain, c)
		}
		slices.Reverse(chain)
		var confirmations []db.Email
		var plans []db.LinePlan
		since := map[string]time.Time{} // when each eSIM of the line got its QR email
		for _, c := range chain {
			plans = append(plans, c.Plans...)
			all, err := s.EmailsForESIM(ctx, c.ICCID)
			if err != nil {
				t.Fatal(err)
			}
			slices.Reverse(all)
			for _, listed := range all {
				m, err := s.EmailByID(ctx, listed.ID) // whole: a list has an unsent email's subject only
				if err != nil {
					t.Fatal(err)
				}
				if got, want := m.To, sub.Email; got != want {
					t.Errorf("email #%d about %s went to %s, want %s", m.ID, c.ICCID, got, want)
				}
				switch m.Kind {
				case db.EmailQR:
					want, err := r.QRCode(db.QRMail{Subscriber: sub, LineName: e.LineName, ICCID: c.ICCID, SMDPAddress: c.SMDPAddress,
						MatchingID: c.MatchingID, Replaces: c.Replaces})
					if err != nil {
						t.Fatal(err)
					}
					compare(t, "QR email of "+c.ICCID, m, want)
					compared++
					if _, ok := since[c.ICCID]; !ok {
						since[c.ICCID] = m.QueuedAt
					}
				case db.EmailConfirmation:
					confirmations = append(confirmations, m)
				}
			}
		}
		if len(confirmations) != len(plans) {
			t.Fatalf("line %s: %d confirmations for %d plans", iccid, len(confirmations), len(plans))
		}
		slices.SortFunc(confirmations, func(a, b db.Email) int { return int(a.ID - b.ID) })
		slices.SortFunc(plans, func(a, b db.LinePlan) int { return int(a.ID - b.ID) })
		for i, lp := range plans {
			if got := s.count(t, `SELECT esim_plan_id FROM outbox WHERE id = ?`, confirmations[i].ID); int64(got) != lp.ID {
				t.Errorf("confirmation #%d is about plan %d, want %s (%d)", confirmations[i].ID, got, lp.OrderNumber, lp.ID)
			}
			// It names the eSIM the line had when the plan was ordered.
			var orderedOn string
			for _, c := range chain {
				if !since[c.ICCID].After(lp.AddedAt) {
					orderedOn = c.ICCID
				}
			}
			want, err := r.OrderConfirmation(db.OrderMail{Subscriber: sub, OrderNumber: lp.OrderNumber, LineName: e.LineName,
				ICCID: orderedOn, Plan: lp.Plan, OrderedAt: lp.AddedAt})
			if err != nil {
				t.Fatal(err)
			}
			if confirmations[i].ICCID != orderedOn {
				t.Errorf("the confirmation of %s is about eSIM %s, want %s", lp.OrderNumber, confirmations[i].ICCID, orderedOn)
			}
			compare(t, "confirmation of "+lp.OrderNumber, confirmations[i], want)
			compared++
		}
	}
	if compared < 2*len(iccids) {
		t.Errorf("compared %d emails of %d lines, want at least two a line", compared, len(iccids))
	}
}

// The demo's audit entries are the portal's: each has the shape of the entry
// the same operation writes in a database of the test's own.
func TestSeedAuditIsThePortals(t *testing.T) {
	ctx := context.Background()
	demo, _ := seeded(t)
	real := openTestStore(t)
	realChanges(t, real)
	shapes := func(s testStore) map[string][]string {
		var names []string
		plans, err := s.Plans(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plans {
			names = append(names, p.Name)
		}
		logins, err := s.Logins(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range logins {
			names = append(names, l.Name)
		}
		for _, c := range rules.Countries() {
			names = append(names, c.Name)
		}
		out := map[string][]string{}
		rows, err := s.raw.Query(`SELECT action, detail FROM audit_log ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var action, detail string
			if err := rows.Scan(&action, &detail); err != nil {
				t.Fatal(err)
			}
			if sh := auditShape(detail, names); !slices.Contains(out[action], sh) {
				out[action] = append(out[action], sh)
			}
		}
		return out
	}
	got, want := shapes(demo), shapes(real)
	if len(got) < 6 {
		t.Errorf("the demo's audit log has %d kinds of entry (%v), want more", len(got), got)
	}
	for action, gotShapes := range got {
		if want[action] == nil {
			t.Errorf("the demo writes %s entries, which the test does not make itself: add one to realChanges", action)
			continue
		}
		for _, sh := range gotShapes {
			if !slices.Contains(want[action], sh) {
				t.Errorf("a demo %s entry reads %q, the portal's %q", action, sh, want[action])
			}
		}
	}
}

var (
	auditTime   = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z|\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC`)
	auditQuoted = regexp.MustCompile(`"[^"]*"`)
	auditEmail  = regexp.MustCompile(`[^\s(),]+@[^\s(),]+`)
	auditCode   = regexp.MustCompile(`\b[A-Z][A-Z0-9]+\b`)
	auditNumber = regexp.MustCompile(`\d+`)
)

// auditShape is an audit detail with its values taken out: times, quoted
// names, email addresses, the given names (plans, people, countries), codes
// and numbers.
func auditShape(detail string, names []string) string {
	d := auditTime.ReplaceAllString(detail, "T")
	d = auditQuoted.ReplaceAllString(d, `"Q"`)
	d = auditEmail.ReplaceAllString(d, "E")
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		d = strings.ReplaceAll(d, n, "N")
	}
	d = auditCode.ReplaceAllString(d, "C")
	return auditNumber.ReplaceAllString(d, "9")
}

// realChanges makes, through the store, one of each change the demo makes.
func realChanges(t *testing.T, s testStore) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	lead, err := s.CreateLogin(ctx, "ana@carrier.example", "Ana Silva", db.RoleLead, "a long password")
	must(err)
	agent, err := s.AddLogin(ctx, "ben@carrier.example", "Ben Okoro", db.RoleAgent, "another long one", lead)
	must(err)
	must(s.ChangePassword(ctx, agent, "his own long one"))
	plans, err := s.AddToCatalog(ctx, []db.Plan{
		{Code: "EU1", Name: "Europe Lite", Region: "Europe", DataMB: 1000, IMSIProfile: 7, Active: true, Destinations: []string{"FR", "DE"}},
		{Code: "EU3", Name: "Europe Max", Region: "Europe", DataMB: 3000, IMSIProfile: 7, Active: true, Destinations: []string{"FR", "DE"}},
	}, lead)
	must(err)
	subs, err := s.AddSubscribers(ctx, []db.NewSubscriber{{Subscriber: db.Subscriber{AccountNumber: "T-1", Name: "Cy Test", Email: "cy@example.com"},
		Home: []db.DomesticPlan{{Name: "Unlimited bundle — 2 lines", Kind: "unlimited_bundle", Lines: 2}}},
		{Subscriber: db.Subscriber{AccountNumber: "T-2", Name: "Di Test", Email: "di@example.com"}, Home: []db.DomesticPlan{{Name: "Unlimited All", Kind: "unlimited_all"}}},
		{Subscriber: db.Subscriber{AccountNumber: "T-3", Name: "Ed Test", Email: "ed@example.com"}, Home: []db.DomesticPlan{{Name: "Unlimited All", Kind: "unlimited_all"}}},
	})
	must(err)
	var file strings.Builder
	file.WriteString(strings.Join(db.InventoryHeader, ",") + "\n")
	var iccids []string
	for i, profile := range []int{2, 7, 7, 10} {
		iccid := demoICCID(profile, 9_000_000+i)
		iccids = append(iccids, iccid)
		fmt.Fprintf(&file, "%s,%d,smdp.test.example.com,T-%d\n", iccid, profile, i)
	}
	_, bad, err := s.ImportInventory(ctx, strings.NewReader(file.String()), lead)
	must(err)
	if len(bad) > 0 {
		t.Fatalf("import: %v", bad)
	}
	_, err = s.RetireESIM(ctx, iccids[0], lead)
	must(err)
	o, err := s.AddLine(ctx, db.AddLine{SubscriberID: subs[0].ID, LineName: "France", PlanID: plans[0].ID, By: agent})
	must(err)
	_, err = s.AddPlan(ctx, db.AddPlan{ICCID: o.ICCID, SubscriberID: subs[0].ID, PlanID: plans[1].ID, By: agent})
	must(err)
	_, err = s.Attach(ctx, db.Attach{ICCID: o.ICCID, MCC: "208", AttachedAt: s.Now()})
	must(err)
	_, err = s.RecordUsage(ctx, []db.UsageReport{{ID: "t-1", ICCID: o.ICCID, Country: "FR", Bytes: 1000 * db.BytesPerMB,
		Start: s.Now(), End: s.Now()}}, db.Login{})
	must(err)
	_, err = s.ResendQR(ctx, o.ICCID, agent)
	must(err)
	_, err = s.ReplaceESIM(ctx, o.ICCID, "New or lost phone", agent)
	must(err)
	client, _, err := s.AddAPIClient(ctx, "Billing", []string{db.ScopeSubscribers}, lead)
	must(err)
	// Billing's first word on a subscriber takes the home plans the portal
	// holds as they are, then changes what it changes.
	state := func(account, name, status string, plan db.HomePlan) db.BillingSubscriber {
		return db.BillingSubscriber{AccountNumber: account, Name: name, Email: strings.ToLower(strings.Fields(name)[0]) + "@example.com",
			Status: status, AsOf: s.Now(), HomePlans: []db.HomePlan{plan}}
	}
	all := db.HomePlan{BillingID: "HP-9", Name: "Unlimited All", Kind: "unlimited_all", Lines: 1}
	_, err = s.SyncSubscribers(ctx, []db.BillingSubscriber{
		state("T-1", "Cy Test", db.StatusActive, db.HomePlan{BillingID: "HP-1", Name: "Essentials 15 GB", Kind: "other", Lines: 1}),
		state("T-2", "Di Test", db.StatusSuspended, all),
		state("T-3", "Ed Test", db.StatusClosed, all),
	}, client.ID)
	must(err)
	repriced := plans[0]
	repriced.PriceCents += 100
	_, err = s.SavePlan(ctx, repriced, lead)
	must(err)
	_, err = s.WithdrawPlan(ctx, plans[1].Code, lead)
	must(err)
}

func TestSeedLeavesUsedDatabase(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if _, err := s.CreateLogin(ctx, "owner@example.com", "Owner", db.RoleLead, "a-real-password"); err != nil {
		t.Fatalf("CreateLogin: %v", err)
	}
	got, err := Seed(ctx, s.Store)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	if got {
		t.Errorf("Seed on a database with a login = true, want false")
	}
	if got, want := s.count(t, `SELECT count(*) FROM esims`), 0; got != want {
		t.Errorf("eSIMs = %d, want %d", got, want)
	}
}

func TestSeedNeedsTheMailRenderer(t *testing.T) {
	s := openTestStore(t)
	s.Mail = nil
	if _, err := Seed(context.Background(), s.Store); err == nil {
		t.Fatal("Seed without a mail renderer succeeded")
	}
	if empty, err := s.Empty(context.Background()); err != nil || !empty {
		t.Errorf("Seed without a mail renderer wrote data")
	}
}

func TestSeedIsDeterministic(t *testing.T) {
	esims := func() []string {
		s, _ := seeded(t)
		return s.strings(t, `SELECT iccid || ' ' || matching_id || ' ' || coalesce(line_name, '') FROM esims ORDER BY iccid`)
	}
	a, b := esims(), esims()
	if !slices.Equal(a, b) {
		t.Errorf("two loads of the demo data set differ:\n%q\n%q", a, b)
	}
}

// TestSeedShowsDataInEveryState: a new user sees plans partly used, used up
// with nothing after, a top-up queued behind an active plan, data no plan
// took, and every kind of notice — and the data adds up.
func TestSeedShowsDataInEveryState(t *testing.T) {
	s, _ := seeded(t)
	if err := s.CheckUsage(context.Background()); err != nil {
		t.Error(err)
	}
	for name, query := range map[string]string{
		"PartlyUsed": `SELECT count(*) FROM esim_plans WHERE state = 'active' AND used_bytes BETWEEN 1 AND data_bytes - 1`,
		"UsedUp":     `SELECT count(*) FROM esim_plans WHERE state = 'used_up'`,
		"RunningLow": `SELECT count(*) FROM esim_plans WHERE state = 'active' AND used_bytes * 100 >= data_bytes * 80`,
		"QueuedTopUp": `SELECT count(*) FROM esim_plans q WHERE q.state = 'queued'
			AND EXISTS (SELECT 1 FROM esim_plans a WHERE a.iccid = q.iccid AND a.state = 'active' AND a.id < q.id)`,
		"EndedWithDataLeft": `SELECT count(*) FROM esim_plans WHERE state = 'expired' AND used_bytes < data_bytes`,
		"Uncovered":         `SELECT count(*) FROM usage_records WHERE uncovered_bytes > 0`,
	} {
		if n := s.count(t, query); n == 0 {
			t.Errorf("%s: no demo plan shows it", name)
		}
	}
	if n := s.count(t, `SELECT count(*) FROM plans p WHERE sold <> (SELECT count(*) FROM esim_plans WHERE plan_id = p.id)`); n != 0 {
		t.Errorf("%d plans whose kept count of orders is not their orders", n)
	}
	// Euro 3 was repriced: orders before kept the price they were sold at.
	for cents, want := range map[int]bool{1700: true, 1900: true} {
		n := s.count(t, `SELECT count(*) FROM esim_plans ep JOIN plans p ON p.id = ep.plan_id WHERE p.code = 'EURO3' AND ep.price_cents = ?`, cents)
		if (n > 0) != want {
			t.Errorf("%d Euro 3 orders at %d cents", n, cents)
		}
	}
	if n := s.count(t, `SELECT count(*) FROM plans WHERE code = 'EURO3' AND price_cents = 1900`); n != 1 {
		t.Error("Euro 3 is not at its new price")
	}
	for _, kind := range []string{db.EmailPlanStarted, db.EmailDataLow, db.EmailDataUsedUp, db.EmailEndsSoon, db.EmailPlanEnded} {
		if n := s.count(t, `SELECT count(*) FROM outbox WHERE kind = ?`, kind); n == 0 {
			t.Errorf("no %s notice in the demo's email log", kind)
		}
	}
}

// TestSeedShowsAReplacedESIM: a customer who lost the phone had the line's
// eSIM replaced in the demo's past. The new eSIM is the same subscriber's,
// under the same line name, carries the plan that was running with the data
// used on the old one and since, and is installed; the old one is retired,
// points at it and keeps its history; the List finds it as replaced.
func TestSeedShowsAReplacedESIM(t *testing.T) {
	ctx := context.Background()
	s, now := seeded(t)
	olds := s.strings(t, `SELECT iccid FROM esims WHERE state = 'retired' AND replaced_by IS NOT NULL`)
	if len(olds) != 1 {
		t.Fatalf("replaced eSIMs %q, want one", olds)
	}
	old, err := s.ESIM(ctx, olds[0])
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.ESIM(ctx, old.ReplacedBy)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.State != db.StateAllocated || fresh.Replaces != old.ICCID {
		t.Fatalf("the replacement %s is %s and replaces %q, want allocated, replacing %s", fresh.ICCID, fresh.State, fresh.Replaces, old.ICCID)
	}
	if fresh.IMSIProfile != old.IMSIProfile {
		t.Errorf("the replacement is on profile %d, the old eSIM on %d", fresh.IMSIProfile, old.IMSIProfile)
	}
	if want := "replaced by " + fresh.ICCID + ": new or lost phone"; old.RetiredReason != want {
		t.Errorf("the old eSIM was retired %q, want %q", old.RetiredReason, want)
	}

	// The old eSIM was the same subscriber's line, of the same name: its QR
	// email went to them, and the audit entry says so.
	if got := s.count(t, `SELECT count(*) FROM outbox WHERE iccid = ? AND kind = 'qr' AND subscriber_id <> ?`, old.ICCID, fresh.SubscriberID); got != 0 {
		t.Errorf("QR emails of the old eSIM to another subscriber = %d, want 0", got)
	}
	if got := s.count(t, `SELECT count(*) FROM outbox WHERE iccid = ? AND kind = 'qr' AND subscriber_id = ?`, old.ICCID, fresh.SubscriberID); got == 0 {
		t.Errorf("the old eSIM never had a QR email to the subscriber of the new one")
	}
	details := s.strings(t, `SELECT detail FROM audit_log WHERE action = 'replace_esim' AND iccid = ? AND subscriber_id = ?`, fresh.ICCID, fresh.SubscriberID)
	if want := fmt.Sprintf("line %q: eSIM %s replaced by %s (New or lost phone); 1 plan moved", fresh.LineName, old.ICCID, fresh.ICCID); !slices.Equal(details, []string{want}) {
		t.Errorf("the replacement's audit entries %q, want [%q]", details, want)
	}
	lines, err := s.Lines(ctx, fresh.SubscriberID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(lines, func(l db.ESIM) bool { return l.ICCID == fresh.ICCID }) ||
		slices.ContainsFunc(lines, func(l db.ESIM) bool { return l.ICCID == old.ICCID }) {
		t.Errorf("the subscriber's lines do not hold the new eSIM instead of the old")
	}

	// The running plan moved, with the data used on both phones.
	if len(fresh.Plans) != 1 || fresh.Plans[0].StateAt(now) != db.PlanActive || fresh.Plans[0].AddedAt.After(fresh.AllocatedAt) {
		t.Fatalf("plans on the new eSIM %+v, want the one that ran on the old one", fresh.Plans)
	}
	moved := fresh.Plans[0].ID
	for _, iccid := range []string{old.ICCID, fresh.ICCID} {
		if got := s.count(t, `SELECT count(*) FROM usage_charges c JOIN usage_records u ON u.id = c.usage_record
			WHERE u.iccid = ? AND c.esim_plan_id = ?`, iccid, moved); got == 0 {
			t.Errorf("no usage of eSIM %s charged to the moved plan", iccid)
		}
	}
	if got := s.count(t, `SELECT count(*) FROM usage_records WHERE iccid = ? AND end_at > ?`, old.ICCID, db.FormatTime(fresh.AllocatedAt)); got != 0 {
		t.Errorf("usage records of the old eSIM after it was replaced = %d, want 0: the phone was lost", got)
	}
	if got := s.count(t, `SELECT coalesce(sum(uncovered_bytes), 0) FROM usage_records WHERE iccid IN (?, ?)`, old.ICCID, fresh.ICCID); got != 0 {
		t.Errorf("uncovered bytes on the line = %d, want 0", got)
	}

	// The new phone installed the new eSIM from its QR email, and attached.
	if fresh.ProfileState != db.ProfileEnabled || fresh.LastAttachment == nil || fresh.QRSentAt.IsZero() {
		t.Errorf("the new eSIM: profile %q, last attachment %v, QR email sent %s; want enabled, attached, sent",
			fresh.ProfileState, fresh.LastAttachment, fresh.QRSentAt)
	}
	if d := rules.Diagnose(fresh, now); !d.OK() {
		t.Errorf("Why no data? on the new eSIM leads with %+v, want all good", d.Lead())
	}

	for _, iccid := range []string{old.ICCID, fresh.ICCID} {
		events, err := s.Timeline(ctx, iccid)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(events, func(ev db.TimelineEvent) bool { return ev.Kind == db.TimelineReplaced }) {
			t.Errorf("the timeline of %s does not show the replacement", iccid)
		}
	}

	f, err := db.ParseListFilter(db.ListFilterInput{Retired: db.RetiredReplaced})
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.ESIMList(ctx, f, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, row := range page.Rows {
		listed = append(listed, row.ICCID)
	}
	if !slices.Equal(listed, []string{old.ICCID}) {
		t.Errorf("the List of eSIMs retired as replaced holds %q, want [%s]", listed, old.ICCID)
	}
	if err := s.CheckStock(ctx); err != nil {
		t.Error(err)
	}
}
