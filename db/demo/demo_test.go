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

	"golang.org/x/crypto/bcrypt"

	"github.com/carrier/esim-admin/db"
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
	s, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	s.PasswordCost = bcrypt.MinCost
	s.Mail = emails.Renderer{Brand: "Demo Carrier"}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return testStore{s, raw}
}

// count runs a query that returns one number.
func (s testStore) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.raw.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
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
		if got, want := s.count(t, `SELECT count(*) FROM esims WHERE state = 'retired'`), 3; got != want {
			t.Errorf("retired eSIMs = %d, want %d", got, want)
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

	t.Run("NoSubscriberExceedsTheAllowance", func(t *testing.T) {
		if got := s.count(t, `SELECT count(*) FROM subscribers s WHERE
			(SELECT count(*) FROM esims e WHERE e.subscriber_id = s.id AND e.state = 'allocated') >
			(SELECT count(*) FROM domestic_plans d WHERE d.subscriber_id = s.id AND d.qualifies)`); got != 0 {
			t.Errorf("subscribers over their allowance = %d, want 0", got)
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
			if !slices.Contains(regions, name) && !slices.ContainsFunc(db.Countries(), func(c db.Country) bool { return c.Name == name }) {
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
		if got := s.count(t, `SELECT count(*) FROM esim_plans WHERE state = 'pending' AND activated_at IS NOT NULL
			OR state <> 'pending' AND NOT (added_at < activated_at AND activated_at <= ? AND expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', activated_at, '+30 days'))`, at); got != 0 {
			t.Errorf("plans with times that disagree with their state = %d, want 0", got)
		}
		if got := s.count(t, `SELECT count(*) FROM esim_plans WHERE state = 'expired' AND expires_at > ?`, at); got != 0 {
			t.Errorf("expired plans not yet ended = %d, want 0", got)
		}
		if got := s.count(t, `SELECT count(*) FROM esim_plans ep JOIN esims e ON e.iccid = ep.iccid
			WHERE ep.added_at < e.allocated_at OR e.allocated_at < e.stocked_at`); got != 0 {
			t.Errorf("plans added before their line, or lines allocated before stocked = %d, want 0", got)
		}
		if got, want := s.count(t, `SELECT count(*) FROM attachments`), s.count(t, `SELECT count(*) FROM esim_plans WHERE activated_at IS NOT NULL`); got != want {
			t.Errorf("attachments = %d, want one for each activation (%d)", got, want)
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
		lines := s.count(t, `SELECT count(*) FROM esims WHERE state = 'allocated'`)
		if got := s.count(t, `SELECT count(DISTINCT iccid) FROM outbox WHERE kind = 'qr'`); got != lines {
			t.Errorf("lines with a QR email = %d, want every line (%d)", got, lines)
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
		all, err := s.EmailsForESIM(ctx, iccid)
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(all)
		var confirmations []db.Email
		for _, m := range all {
			if got, want := m.To, sub.Email; got != want {
				t.Errorf("email #%d about %s went to %s, want %s", m.ID, iccid, got, want)
			}
			switch m.Kind {
			case db.EmailQR:
				want, err := r.QRCode(db.QRMail{Subscriber: sub, LineName: e.LineName, ICCID: e.ICCID, SMDPAddress: e.SMDPAddress, MatchingID: e.MatchingID})
				if err != nil {
					t.Fatal(err)
				}
				compare(t, "QR email of "+iccid, m, want)
				compared++
			case db.EmailConfirmation:
				confirmations = append(confirmations, m)
			}
		}
		if len(confirmations) != len(e.Plans) {
			t.Fatalf("eSIM %s: %d confirmations for %d plans", iccid, len(confirmations), len(e.Plans))
		}
		for i, lp := range e.Plans {
			want, err := r.OrderConfirmation(db.OrderMail{Subscriber: sub, OrderNumber: lp.OrderNumber, LineName: e.LineName,
				ICCID: e.ICCID, Plan: lp.Plan, OrderedAt: lp.AddedAt})
			if err != nil {
				t.Fatal(err)
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
	auditTime   = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`)
	auditQuoted = regexp.MustCompile(`"[^"]*"`)
	auditEmail  = regexp.MustCompile(`[^\s(),]+@[^\s(),]+`)
	auditCode   = regexp.MustCompile(`\b[A-Z][A-Z0-9]+\b`)
	auditNumber = regexp.MustCompile(`\d+`)
)

// auditShape is an audit detail with its values taken out: times, quoted
// names, email addresses, the given names, codes and numbers.
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
	})
	must(err)
	subs, err := s.AddSubscribers(ctx, []db.NewSubscriber{{Subscriber: db.Subscriber{AccountNumber: "T-1", Name: "Cy Test", Email: "cy@example.com"},
		Home: []db.DomesticPlan{{Name: "Unlimited All", Kind: "unlimited_all"}}}})
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
	for _, kind := range []string{db.EmailPlanStarted, db.EmailDataLow, db.EmailDataUsedUp, db.EmailEndsSoon, db.EmailPlanEnded} {
		if n := s.count(t, `SELECT count(*) FROM outbox WHERE kind = ?`, kind); n == 0 {
			t.Errorf("no %s notice in the demo's email log", kind)
		}
	}
}
