package db

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// billingState is subscriber 1 of the fixture as billing would send it,
// with one Unlimited All plan, at asOf.
func billingState(asOf time.Time) BillingSubscriber {
	return BillingSubscriber{AccountNumber: "ac-000001", Name: "Subscriber 1", Email: "sub1@example.com", Phone: "+1 555 0100",
		Status: StatusActive, AsOf: asOf, HomePlans: []HomePlan{{BillingID: "HP-1", Name: "Unlimited All", Kind: "unlimited_all", Lines: 1}}}
}

func syncBilling(t *testing.T, s *Store, b ...BillingSubscriber) []SyncResult {
	t.Helper()
	r, err := s.SyncSubscribers(context.Background(), b, 0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSyncSubscribersOutcomes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 3)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f.s.Now = func() time.Time { return now }
	if _, err := f.s.write.ExecContext(ctx, `INSERT INTO api_clients (id, name, scopes, key_hash, key_last4, created_at) VALUES (7, 'Billing', 'subscribers', x'00', '0000', '2026-01-01T00:00:00.000Z')`); err != nil {
		t.Fatal(err)
	}
	t0 := now.Add(-time.Hour)
	audits := func() int { return count(t, f.s, `SELECT count(*) FROM audit_log WHERE api_client_id = 7`) }

	newSub := BillingSubscriber{AccountNumber: "AC-9", Name: "Nora  Berg", Email: "nora@example.com", Phone: "0047 912 34 567", Status: StatusActive, AsOf: t0}
	steps := []struct {
		name    string
		state   BillingSubscriber
		outcome string
		changes []string
		audits  int // entries written by the step
	}{
		{"a new account is created", newSub, SyncCreated, nil, 1},
		{"the same state again changes nothing", newSub, SyncUnchanged, nil, 0},
		{"the fixture's subscriber, first sent: the home plan held is billing's, which gives it its id", billingState(t0), SyncUnchanged, nil, 0},
		{"a newer state with nothing new is unchanged", billingState(t0.Add(time.Minute)), SyncUnchanged, nil, 0},
		{"an older state is stale and ignored", func() BillingSubscriber {
			b := billingState(t0.Add(-time.Hour))
			b.Status = StatusClosed
			return b
		}(), SyncStale, nil, 0},
		{"a suspension and a new email", func() BillingSubscriber {
			b := billingState(t0.Add(2 * time.Minute))
			b.Status, b.Email = StatusSuspended, "new1@example.com"
			return b
		}(), SyncUpdated, []string{"email changed", "status active → suspended"}, 1},
	}
	for _, st := range steps {
		before := audits()
		rs, err := f.s.SyncSubscribers(ctx, []BillingSubscriber{st.state}, 7)
		if err != nil {
			t.Fatal(err)
		}
		r := rs[0]
		if r.Outcome != st.outcome || !slices.Equal(r.Changes, st.changes) {
			t.Errorf("%s: outcome %s %q, want %s %q", st.name, r.Outcome, r.Changes, st.outcome, st.changes)
		}
		if got := audits() - before; got != st.audits {
			t.Errorf("%s: %d audit entries, want %d", st.name, got, st.audits)
		}
	}
	sub, err := f.s.SubscriberByAccount(ctx, "ac-9")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Name != "Nora Berg" || sub.Phone != "+4791234567" || sub.AccountNumber != "AC-9" {
		t.Errorf("new subscriber kept as %+v, want the name's spaces, the phone and the account number normalised", sub)
	}
	if n := count(t, f.s, `SELECT count(*) FROM domestic_plans WHERE subscriber_id = ? AND billing_id = 'HP-1'`, f.subs[0]); n != 1 {
		t.Errorf("the held home plan took billing's id %d times, want once", n)
	}
	one, _ := f.s.Subscriber(ctx, f.subs[0])
	if one.Status != StatusSuspended || one.Email != "new1@example.com" || !one.BillingChangedAt.Equal(now) || !one.BillingAsOf.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("subscriber 1 = %+v", one)
	}
	// The search index follows a rename at once.
	b := billingState(t0.Add(3 * time.Minute))
	b.Name = "Zebediah Quill"
	syncBilling(t, f.s, b)
	found, err := f.s.SearchSubscribers(ctx, "ebediah", 10)
	if err != nil || len(found) != 1 || found[0].ID != f.subs[0] {
		t.Errorf("search for the new name found %v, %v", found, err)
	}
}

func TestSyncSubscribersRefusesEveryBadRecord(t *testing.T) {
	f := newFixture(t, 1, 1)
	now := f.s.Now()
	good := billingState(now)
	bad := BillingSubscriber{AccountNumber: "A B", Name: "", Email: "nobody", Phone: "12", Status: "gone", AsOf: now.Add(time.Hour),
		HomePlans: []HomePlan{{BillingID: "X", Name: "Plan", Kind: "gold", Lines: 0}, {BillingID: "X", Name: "Plan 2", Kind: "other", Lines: 1}}}
	_, err := f.s.SyncSubscribers(context.Background(), []BillingSubscriber{good, bad, good}, 0)
	var fields []string
	for _, e := range Refusals(err) {
		fields = append(fields, e.Field)
	}
	want := []string{"subscribers[1].account_number", "subscribers[1].name", "subscribers[1].email", "subscribers[1].phone",
		"subscribers[1].status", "subscribers[1].as_of", "subscribers[1].home_plans[0].kind", "subscribers[1].home_plans[0].lines",
		"subscribers[1].home_plans[1].id", "subscribers[2].account_number"}
	if !slices.Equal(fields, want) {
		t.Errorf("refused fields\n %q\nwant\n %q", fields, want)
	}
	if n := count(t, f.s, `SELECT count(*) FROM domestic_plans WHERE billing_id IS NOT NULL`); n != 0 {
		t.Errorf("a refused batch wrote %d home plans", n)
	}
}

// The allowance follows the home plans, and billing's status decides what
// agents may still do: table-driven over what billing sends after the
// subscriber got a line.
func TestBillingRulesForAgents(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name             string
		change           func(*BillingSubscriber)
		addLine, addPlan string // "" when allowed, else a piece of the refusal
		rename, replace  string
		over             string
	}{
		{name: "a second qualifying plan allows a second line", change: func(b *BillingSubscriber) {
			b.HomePlans = append(b.HomePlans, HomePlan{BillingID: "HP-2", Name: "Unlimited bundle", Kind: "unlimited_bundle", Lines: 3})
		}},
		{name: "a downgrade keeps the line and refuses a new one", change: func(b *BillingSubscriber) {
			b.HomePlans[0].Kind = "other"
		}, addLine: "no Unlimited All plan", over: "1 line, 0 qualifying plans: no new line until a qualifying plan is added"},
		{name: "suspended: no new line or plan, the line goes on", change: func(b *BillingSubscriber) {
			b.Status = StatusSuspended
			b.HomePlans = append(b.HomePlans, HomePlan{BillingID: "HP-2", Name: "Unlimited All", Kind: "unlimited_all", Lines: 1})
		}, addLine: "suspended in billing", addPlan: "suspended in billing"},
		{name: "closed: read-only history", change: func(b *BillingSubscriber) {
			b.Status = StatusClosed
			b.HomePlans = append(b.HomePlans, HomePlan{BillingID: "HP-2", Name: "Unlimited All", Kind: "unlimited_all", Lines: 1})
		}, addLine: "closed in billing", addPlan: "closed in billing", rename: "closed in billing", replace: "closed in billing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1, 3)
			order, err := f.addLine(f.subs[0], "France", "EURO1")
			if err != nil {
				t.Fatal(err)
			}
			b := billingState(f.s.Now())
			tc.change(&b)
			r := syncBilling(t, f.s, b)[0]
			if r.OverAllowance != tc.over {
				t.Errorf("over allowance %q, want %q", r.OverAllowance, tc.over)
			}
			check := func(what string, err error, want string) {
				t.Helper()
				switch {
				case want == "" && err != nil:
					t.Errorf("%s refused: %v", what, err)
				case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("%s: %v, want a refusal with %q", what, err, want)
				}
			}
			_, err = f.addLine(f.subs[0], "Japan", "ASIA1")
			check("add line", err, tc.addLine)
			_, err = f.s.AddPlan(ctx, AddPlan{SubscriberID: f.subs[0], ICCID: order.ICCID, PlanID: f.plans["EURO1"].ID, By: f.agent})
			check("add plan", err, tc.addPlan)
			_, err = f.s.RenameLine(ctx, order.ICCID, "Spain", f.agent)
			check("rename", err, tc.rename)
			_, err = f.s.ReplaceESIM(ctx, order.ICCID, ReplaceReasons[0], f.agent)
			check("replace", err, tc.replace)
			// The line's plan runs on whatever billing says.
			lines, err := f.s.Lines(ctx, f.subs[0])
			if err != nil || len(lines) == 0 || lines[0].Plans[0].State == PlanCancelled {
				t.Errorf("the line after billing's change: %v, %v", lines, err)
			}
			if tc.over != "" {
				over, err := f.s.OverAllowance(ctx, 10)
				if err != nil || len(over) != 1 || over[0].ID != f.subs[0] {
					t.Errorf("over allowance list = %v, %v", over, err)
				}
			}
		})
	}
}

func TestChangedEmailIsWhereTheNextEmailsGo(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 3)
	order, err := f.addLine(f.subs[0], "France", "EURO1")
	if err != nil {
		t.Fatal(err)
	}
	b := billingState(f.s.Now())
	b.Email = "moved@example.com"
	syncBilling(t, f.s, b)
	if _, err := f.s.AddPlan(ctx, AddPlan{SubscriberID: f.subs[0], ICCID: order.ICCID, PlanID: f.plans["EURO1"].ID, By: f.agent}); err != nil {
		t.Fatal(err)
	}
	emails, err := f.s.EmailsForSubscriber(ctx, f.subs[0])
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, e := range emails {
		to = append(to, e.To)
	}
	slices.Sort(to)
	want := []string{"moved@example.com", "sub1@example.com", "sub1@example.com"}
	if !slices.Equal(to, want) {
		t.Errorf("emails went to %q, want %q: the order's two to the old address, the top-up's to the new", to, want)
	}
}

func TestCheckClosing(t *testing.T) {
	for _, tc := range []struct {
		closing, held, allow int
		ok                   bool
	}{
		{0, 0, 0, true},
		{2, 100, 0, true},
		{3, 100, 0, false},
		{3, 100, 3, true},
		{3, 100, 4, false},
		{20_000, 1_000_000, 0, true},
		{20_001, 1_000_000, 0, false},
	} {
		err := CheckClosing(tc.closing, tc.held, tc.allow)
		if (err == nil) != tc.ok {
			t.Errorf("closing %d of %d, allowing %d: %v, want ok=%v", tc.closing, tc.held, tc.allow, err, tc.ok)
		}
	}
}

func TestCloseAccountsSkipsNewerStates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 2, 1)
	now := f.s.Now()
	syncBilling(t, f.s, billingState(now))
	n, err := f.s.CloseAccounts(ctx, []string{"AC-000001", "AC-000002", "AC-404"}, now.Add(-time.Hour), 0)
	if err != nil || n != 1 {
		t.Fatalf("closed %d, %v; want 1: account 1 has a newer state than the export", n, err)
	}
	two, _ := f.s.Subscriber(ctx, f.subs[1])
	one, _ := f.s.Subscriber(ctx, f.subs[0])
	if two.Status != StatusClosed || one.Status != StatusActive {
		t.Errorf("statuses %s, %s", one.Status, two.Status)
	}
}

func TestAPIClients(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0, 0)
	if _, _, err := f.s.AddAPIClient(ctx, " ", []string{"everything"}, f.agent); len(Refusals(err)) != 2 {
		t.Errorf("a nameless client with an unknown scope: %v, want two refusals", err)
	}
	c, key, err := f.s.AddAPIClient(ctx, "Billing", []string{ScopeSubscribers, ScopeSubscribers}, f.agent)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "esim_") || c.KeyLast4 != key[len(key)-4:] || !slices.Equal(c.Scopes, []string{ScopeSubscribers}) {
		t.Errorf("client %+v with key %s", c, key)
	}
	// The key is nowhere in the database: not in the file, not in its WAL.
	for _, file := range []string{f.path, f.path + "-wal"} {
		if body, err := os.ReadFile(file); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		} else if bytes.Contains(body, []byte(key)) || bytes.Contains(body, []byte(key[len("esim_"):])) {
			t.Errorf("the key itself is stored in %s", file)
		}
	}
	got, err := f.s.APIClientByKey(ctx, key)
	if err != nil || got.ID != c.ID || !got.Can(ScopeSubscribers) || got.Can(ScopeNetwork) {
		t.Errorf("client by key = %+v, %v", got, err)
	}
	if _, err := f.s.APIClientByKey(ctx, key+"x"); ErrorCode(err) != ErrNotFound {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := f.s.RevokeAPIClient(ctx, c.ID, f.agent); err != nil {
		t.Fatal(err)
	}
	if got, err := f.s.APIClientByKey(ctx, key); err != nil || !got.Revoked() {
		t.Errorf("revoked client = %+v, %v", got, err)
	}
	if _, err := f.s.RevokeAPIClient(ctx, 999, f.agent); ErrorCode(err) != ErrNotFound {
		t.Errorf("revoking no client: %v", err)
	}
	entries := mustAudit(t, f.s, AuditFilter{})
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, "add_api_client") || !slices.Contains(actions, "revoke_api_client") {
		t.Errorf("audit actions %q", actions)
	}
}

// indexed reports whether the search index holds the subscriber's row by
// the middle of their email, which only the trigram index finds.
func indexed(t *testing.T, s *Store, part string) bool {
	t.Helper()
	var n int
	if err := s.read.QueryRowContext(context.Background(), `SELECT count(*) FROM subscriber_search WHERE subscriber_search MATCH ?`,
		searchMatch(part)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func loadState(account, name, email string) BillingSubscriber {
	return BillingSubscriber{AccountNumber: account, Name: name, Email: email, Status: StatusActive,
		AsOf: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
}

// A first load leaves the search index to its end; what the portal held
// before stays in step meanwhile, and the catch-up indexes the rest.
func TestFirstLoadDefersTheSearchIndex(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 0)
	deferred, err := f.s.DeferSearchIndex(ctx)
	if err != nil || !deferred {
		t.Fatalf("DeferSearchIndex on a new portal = %v, %v; want a first load", deferred, err)
	}
	syncBilling(t, f.s, loadState("BX-1", "Ada Loaded", "ada.zqloaded@example.com"))
	if indexed(t, f.s, "zqloaded") {
		t.Error("a subscriber of the first load was indexed row by row")
	}
	// The fixture's subscriber, held before the load, is renamed meanwhile.
	renamed := billingState(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	renamed.Email = "sub1.zqrenamed@example.com"
	syncBilling(t, f.s, renamed)
	if !indexed(t, f.s, "zqrenamed") {
		t.Error("a subscriber held before the load is not found by the email billing changed during it")
	}
	// A second import while the first runs shares its deferral.
	if deferred, err := f.s.DeferSearchIndex(ctx); err != nil || !deferred {
		t.Fatalf("DeferSearchIndex during a load = %v, %v; want the load's deferral", deferred, err)
	}
	if err := f.s.CatchUpSearchIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if !indexed(t, f.s, "zqloaded") {
		t.Error("the first load's subscriber is not indexed after the catch-up")
	}
	if n := count(t, f.s, `SELECT count(*) FROM subscriber_search_pending`); n != 0 {
		t.Errorf("%d deferrals left after the catch-up", n)
	}
	// From then on the triggers index every change at once.
	syncBilling(t, f.s, loadState("BX-2", "Bo After", "bo.zqafter@example.com"))
	if !indexed(t, f.s, "zqafter") {
		t.Error("a subscriber created after the load is not indexed at once")
	}
}

// A load into a portal that holds subscribers already keeps the index in
// step row by row, so what billing creates meanwhile is found at once; a
// catch-up spans several changes when the load is larger than one.
func TestSearchIndexDeferralBounds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0, 0)
	deferred, err := f.s.DeferSearchIndex(ctx)
	if err != nil || !deferred {
		t.Fatalf("DeferSearchIndex = %v, %v; want a first load", deferred, err)
	}
	var batch []BillingSubscriber
	for i := range firstLoadBelow {
		batch = append(batch, loadState(fmt.Sprintf("BX-%d", i), fmt.Sprintf("Load %d", i), fmt.Sprintf("load%d.zqbulk@example.com", i)))
		if len(batch) == MaxBillingBatch {
			syncBilling(t, f.s, batch...)
			batch = batch[:0]
		}
	}
	syncBilling(t, f.s, loadState("BX-LAST", "Last Loaded", "last.zqlast@example.com"))
	if err := f.s.catchUpSearchIndex(ctx, 3000); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"load0.zqbulk", "load4999.zqbulk", "load9999.zqbulk", "zqlast"} {
		if !indexed(t, f.s, part) {
			t.Errorf("%s is not indexed after a catch-up in changes of 3,000", part)
		}
	}
	if n := count(t, f.s, `SELECT count(*) FROM subscriber_search WHERE subscriber_search MATCH 'zqbulk'`); n != firstLoadBelow {
		t.Errorf("%d of the %d loaded subscribers are indexed", n, firstLoadBelow)
	}
	if deferred, err := f.s.DeferSearchIndex(ctx); err != nil || deferred {
		t.Fatalf("DeferSearchIndex with %d subscribers held = %v, %v; want no deferral", firstLoadBelow+1, deferred, err)
	}
	syncBilling(t, f.s, loadState("BX-NIGHTLY", "Nightly New", "nightly.zqnew@example.com"))
	if !indexed(t, f.s, "zqnew") {
		t.Error("a subscriber created by a load into a full portal is not indexed at once")
	}
}

// A state writes only the details that changed: a column written with its
// own value would rewrite its index entries, and a name, email or phone the
// subscriber's search index row, for nothing.
func TestSyncWritesOnlyChangedDetails(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 0)
	for _, q := range []string{
		`CREATE TEMP TABLE written (col TEXT)`,
		`CREATE TEMP TRIGGER written_name AFTER UPDATE OF name ON main.subscribers BEGIN INSERT INTO written VALUES ('name'); END`,
		`CREATE TEMP TRIGGER written_email AFTER UPDATE OF email ON main.subscribers BEGIN INSERT INTO written VALUES ('email'); END`,
		`CREATE TEMP TRIGGER written_phone AFTER UPDATE OF phone ON main.subscribers BEGIN INSERT INTO written VALUES ('phone'); END`,
		`CREATE TEMP TRIGGER written_status AFTER UPDATE OF status ON main.subscribers BEGIN INSERT INTO written VALUES ('status'); END`,
	} {
		if _, err := f.s.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	syncBilling(t, f.s, billingState(t0))
	steps := []struct {
		name    string
		change  func(*BillingSubscriber)
		written []string
	}{
		// The fixture's phone, written with spaces, is kept normalised
		// with the first change.
		{"a new home plan", func(b *BillingSubscriber) {
			b.HomePlans = append(b.HomePlans, HomePlan{BillingID: "HP-2", Name: "Prepaid", Kind: "other", Lines: 1})
		}, []string{"phone"}},
		{"a home plan renamed only", func(b *BillingSubscriber) {
			b.HomePlans = append(b.HomePlans, HomePlan{BillingID: "HP-2", Name: "Prepaid 5 GB", Kind: "other", Lines: 1})
		}, nil},
		{"a suspension", func(b *BillingSubscriber) { b.Status = StatusSuspended }, []string{"status"}},
		{"a new email", func(b *BillingSubscriber) { b.Status, b.Email = StatusSuspended, "new@example.com" }, []string{"email"}},
		{"a new name and phone", func(b *BillingSubscriber) {
			b.Status, b.Email, b.Name, b.Phone = StatusSuspended, "new@example.com", "Subscriber One", "+1 555 0199"
		}, []string{"name", "phone"}},
	}
	for i, st := range steps {
		if _, err := f.s.write.ExecContext(ctx, `DELETE FROM temp.written`); err != nil {
			t.Fatal(err)
		}
		b := billingState(t0.Add(time.Duration(i+1) * time.Minute))
		st.change(&b)
		if r := syncBilling(t, f.s, b); r[0].Outcome != SyncUpdated {
			t.Fatalf("%s: %s, want updated", st.name, r[0].Outcome)
		}
		var written []string
		rows, err := f.s.write.QueryContext(ctx, `SELECT col FROM temp.written ORDER BY col`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			rows.Scan(&c)
			written = append(written, c)
		}
		rows.Close()
		if !slices.Equal(written, st.written) {
			t.Errorf("%s: wrote %v, want %v", st.name, written, st.written)
		}
		sub, err := f.s.SubscriberByAccount(ctx, b.AccountNumber)
		if err != nil {
			t.Fatal(err)
		}
		if sub.Name != b.Name || sub.Email != b.Email || sub.Phone != NormalPhone(b.Phone) || sub.Status != b.Status {
			t.Errorf("%s: holds %q %q %q %q", st.name, sub.Name, sub.Email, sub.Phone, sub.Status)
		}
	}
}
