package db

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

const mb = BytesPerMB

// use reports one usage record on the line, moving the clock to its end if
// the clock is behind.
func (l *lifecycle) use(t *testing.T, id, country string, bytes int64, from, to time.Time) UsageResult {
	t.Helper()
	if to.After(l.now) {
		l.now = to
	}
	res, err := l.s.RecordUsage(context.Background(), []UsageReport{{ID: id, ICCID: l.iccid, Country: country, Bytes: bytes, Start: from, End: to}}, Login{})
	if err != nil {
		t.Fatalf("usage %s: %v", id, err)
	}
	return res[0]
}

// data reads "EURO1:used_up 3000/3000 EURO1:active 500/3000" in MB at the
// clock's time.
func (l *lifecycle) data(t *testing.T) string {
	t.Helper()
	e, err := l.s.ESIM(context.Background(), l.iccid)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range e.Plans {
		out = append(out, fmt.Sprintf("%s:%s %d/%d", p.Plan.Code, p.StateAt(l.now), p.UsedBytes/mb, p.DataBytes/mb))
	}
	return strings.Join(out, " ")
}

func (l *lifecycle) plan(t *testing.T, i int) LinePlan {
	t.Helper()
	e, err := l.s.ESIM(context.Background(), l.iccid)
	if err != nil {
		t.Fatal(err)
	}
	return e.Plans[i]
}

func checkUsage(t *testing.T, s *Store) {
	t.Helper()
	if err := s.CheckUsage(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestUsageRules walks the rules at the top of db/rules/charge.go, one case each, on a
// profile 7 line at a fixed clock. Every plan of the fixture has 3000 MB;
// Euro 1 covers FR DE ES, Euro Plus (5000 MB) DE and GB.
func TestUsageRules(t *testing.T) {
	t0 := lifecycleBase.Add(2 * time.Hour)
	min := time.Minute
	day := 24 * time.Hour
	type step func(t *testing.T, l *lifecycle)
	use := func(id, country string, mbs int64, from, to time.Time, want string) step {
		return func(t *testing.T, l *lifecycle) {
			t.Helper()
			if got := describe(l.use(t, id, country, mbs*mb, from, to)); got != want {
				t.Errorf("%s: %s\n  want %s", id, got, want)
			}
		}
	}
	attach := func(country string, at time.Time) step {
		return func(t *testing.T, l *lifecycle) { l.attach(t, country, at) }
	}
	addPlan := func(code string, at time.Time) step {
		return func(t *testing.T, l *lifecycle) {
			l.now = at
			o, err := l.s.AddPlan(context.Background(), AddPlan{ICCID: l.iccid, SubscriberID: l.subs[0], PlanID: l.plans[code].ID, By: l.agent})
			if err != nil {
				t.Fatal(err)
			}
			l.orders = append(l.orders, o.OrderNumber)
		}
	}
	usedUpAt := func(i int, want time.Time) step {
		return func(t *testing.T, l *lifecycle) {
			if got := l.plan(t, i).EndedAt; !got.Equal(want) {
				t.Errorf("plan %d used up at %s, want %s", i, got, want)
			}
		}
	}
	startedAt := func(i int, want time.Time) step {
		return func(t *testing.T, l *lifecycle) {
			if got := l.plan(t, i).ActivatedAt; !got.Equal(want) {
				t.Errorf("plan %d started at %s, want %s", i, got, want)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		plans []string
		steps []step
		want  string // the plans' data at the end
	}{
		{"WithinTheAllowance", []string{"EURO1"}, []step{
			use("r1", "FR", 1000, t0, t0.Add(15*min), "1000→1 started 1"),
			use("r2", "DE", 500, t0.Add(time.Hour), t0.Add(time.Hour+15*min), "500→1"),
			startedAt(0, t0),
		}, "EURO1:active 1500/3000"},
		{"UsageStartsTheOldestQueuedPlan", []string{"EUROPLUS", "EURO1", "EURO1"}, []step{
			use("r1", "FR", 10, t0, t0, "10→2 started 2"),
		}, "EUROPLUS:queued 0/5000 EURO1:active 10/3000 EURO1:queued 0/3000"},
		{"ARecordCrossingTheAllowance", []string{"EURO1", "EURO1"}, []step{
			use("r1", "FR", 2000, t0, t0.Add(10*min), "2000→1 started 1"),
			// 1000 MB left: reached halfway through the second record.
			use("r2", "FR", 2000, t0.Add(time.Hour), t0.Add(time.Hour+20*min), "1000→1 1000→2 started 2 used up 1"),
			usedUpAt(0, t0.Add(time.Hour+10*min)),
			startedAt(1, t0.Add(time.Hour+10*min)),
		}, "EURO1:used_up 3000/3000 EURO1:active 1000/3000"},
		{"OneRecordUsesUpTwoPlans", []string{"EURO1", "EURO1", "EURO1"}, []step{
			use("r1", "ES", 7000, t0, t0.Add(70*min), "3000→1 3000→2 1000→3 started 1 2 3 used up 1 2"),
			usedUpAt(0, t0.Add(30*min)),
			startedAt(1, t0.Add(30*min)),
			usedUpAt(1, t0.Add(60*min)),
			startedAt(2, t0.Add(60*min)),
		}, "EURO1:used_up 3000/3000 EURO1:used_up 3000/3000 EURO1:active 1000/3000"},
		{"UsedUpWithNothingQueued", []string{"EURO1"}, []step{
			use("r1", "FR", 3500, t0, t0.Add(35*min), "3000→1 started 1 used up 1 uncovered 500 (ORD-2026-000001 is used up and no plan is queued for FR)"),
		}, "EURO1:used_up 3000/3000"},
		{"AnUncoveredCountry", []string{"EURO1"}, []step{
			use("r1", "JP", 200, t0, t0.Add(15*min), "uncovered 200 (no plan covers JP)"),
		}, "EURO1:queued 0/3000"},
		{"UsageBeforeThePlanWasAdded", []string{"EURO1"}, []step{
			use("r1", "FR", 100, lifecycleBase.Add(-2*time.Hour), lifecycleBase.Add(-time.Hour), "uncovered 100 (no queued plan covers FR)"),
			// Straddling the moment it was added: the half after it starts the plan.
			use("r2", "FR", 600, lifecycleBase.Add(-30*min), lifecycleBase.Add(30*min), "300→1 started 1 uncovered 300 (no queued plan covers FR)"),
			startedAt(0, lifecycleBase),
		}, "EURO1:active 300/3000"},
		{"APlanExpiringWithDataLeft", []string{"EURO1", "EURO1"}, []step{
			use("r1", "FR", 100, t0, t0, "100→1 started 1"),
			use("r2", "FR", 600, t0.Add(30*day-30*min), t0.Add(30*day+30*min), "300→1 300→2 started 2"),
			startedAt(1, t0.Add(30*day)),
		}, "EURO1:expired 400/3000 EURO1:active 300/3000"},
		{"DuplicatesChangeNothing", []string{"EURO1"}, []step{
			use("r1", "FR", 100, t0, t0, "100→1 started 1"),
			use("r1", "FR", 100, t0, t0, "duplicate"),
			use("r1", "FR", 999, t0.Add(time.Hour), t0.Add(time.Hour), "duplicate"),
		}, "EURO1:active 100/3000"},
		{"ALateRecordGoesToThePlanActiveAtItsTime", []string{"EURO1", "EURO1"}, []step{
			use("r1", "FR", 100, t0, t0, "100→1 started 1"),
			use("r3", "FR", 100, t0.Add(day), t0.Add(day), "100→1"),
			use("r2", "FR", 100, t0.Add(time.Hour), t0.Add(time.Hour), "100→1"),
		}, "EURO1:active 300/3000 EURO1:queued 0/3000"},
		{"ALateRecordFromBeforeTheStart", []string{"EURO1"}, []step{
			use("r2", "FR", 100, t0.Add(day), t0.Add(day), "100→1 started 1"),
			use("r1", "FR", 100, t0, t0, "uncovered 100 (older than the activation of ORD-2026-000001 at 2026-12-02T10:00:00.000Z)"),
		}, "EURO1:active 100/3000"},
		{"ALateRecordNeverMovesAStart", []string{"EURO1", "EURO1"}, []step{
			use("r1", "FR", 3500, t0, t0.Add(35*min), "3000→1 500→2 started 1 2 used up 1"),
			// Before the first plan was used up: it had data then, none now,
			// and the second plan started after: the bytes are uncovered.
			use("late", "FR", 100, t0.Add(10*min), t0.Add(10*min), "uncovered 100 (older than the activation of ORD-2026-000002 at 2026-12-01T10:30:00.000Z)"),
			// Straddling the second plan's start: the part after it is charged.
			use("late2", "FR", 200, t0.Add(20*min), t0.Add(40*min), "100→2 uncovered 100 (older than the activation of ORD-2026-000002 at 2026-12-01T10:30:00.000Z)"),
			startedAt(1, t0.Add(30*min)),
		}, "EURO1:used_up 3000/3000 EURO1:active 600/3000"},
		{"ATopUpAfterTheDataRanOut", []string{"EURO1"}, []step{
			use("r1", "FR", 3000, t0, t0.Add(30*min), "3000→1 started 1 used up 1"),
			use("r2", "FR", 50, t0.Add(time.Hour), t0.Add(time.Hour), "uncovered 50 (ORD-2026-000001 is used up and no plan is queued for FR)"),
			addPlan("EURO1", t0.Add(2*time.Hour)),
			use("r3", "FR", 50, t0.Add(2*time.Hour+min), t0.Add(2*time.Hour+min), "50→2 started 2"),
		}, "EURO1:used_up 3000/3000 EURO1:active 50/3000"},
		{"AnAttachAfterAPlanWasUsedUp", []string{"EURO1"}, []step{
			use("r1", "FR", 3000, t0, t0.Add(30*min), "3000→1 started 1 used up 1"),
			addPlan("EURO1", t0.Add(time.Hour)),
			attach("FR", t0.Add(2*time.Hour)), // the used-up plan no longer covers it
			startedAt(1, t0.Add(2*time.Hour)),
		}, "EURO1:used_up 3000/3000 EURO1:active 0/3000"},
		{"ThePlanThatEndsFirstIsCharged", []string{"EURO1", "EUROPLUS"}, []step{
			attach("GB", t0),                // Euro Plus starts first, so ends first
			attach("FR", t0.Add(time.Hour)), // Euro 1 starts later
			use("r1", "DE", 100, t0.Add(2*time.Hour), t0.Add(2*time.Hour), "100→2"),
			use("r2", "FR", 100, t0.Add(2*time.Hour), t0.Add(2*time.Hour), "100→1"),
		}, "EURO1:active 100/3000 EUROPLUS:active 100/5000"},
		{"AZeroByteRecordStartsNothing", []string{"EURO1"}, []step{
			use("r1", "FR", 0, t0, t0.Add(min), ""),
		}, "EURO1:queued 0/3000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLifecycle(t, tc.plans...)
			for _, s := range tc.steps {
				s(t, l)
			}
			if got := l.data(t); got != tc.want {
				t.Errorf("plans = %s\n  want %s", got, tc.want)
			}
			checkUsage(t, l.s)
		})
	}
}

// describe reads a result as "1000→1 1000→2 started 2 used up 1 uncovered
// 5", with plans by their place in the line's queue (1 is the first added).
func describe(r UsageResult) string {
	if r.Duplicate {
		return "duplicate"
	}
	place := func(order string) string {
		var n int
		fmt.Sscanf(order, "ORD-2026-%d", &n)
		return fmt.Sprint(n)
	}
	var parts []string
	for _, c := range r.Charges {
		parts = append(parts, fmt.Sprintf("%d→%s", c.Bytes/mb, place(c.OrderNumber)))
	}
	if len(r.Started) > 0 {
		s := "started"
		for _, e := range r.Started {
			s += " " + place(e.OrderNumber)
		}
		parts = append(parts, s)
	}
	if len(r.UsedUp) > 0 {
		s := "used up"
		for _, e := range r.UsedUp {
			s += " " + place(e.OrderNumber)
		}
		parts = append(parts, s)
	}
	if r.Uncovered > 0 {
		parts = append(parts, fmt.Sprintf("uncovered %d (%s)", r.Uncovered/mb, r.Reason))
	}
	return strings.Join(parts, " ")
}

func TestUsageOfALineThatIsNobodys(t *testing.T) {
	f := newFixture(t, 1, 2)
	ctx := context.Background()
	var free string
	if err := f.s.read.QueryRow(`SELECT iccid FROM esims WHERE state = 'free' LIMIT 1`).Scan(&free); err != nil {
		t.Fatal(err)
	}
	res, err := f.s.RecordUsage(ctx, []UsageReport{{ID: "x", ICCID: free, Country: "FR", Bytes: 5 * mb, Start: f.s.Now(), End: f.s.Now()}}, Login{})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Uncovered != 5*mb || !strings.Contains(res[0].Reason, "free") {
		t.Errorf("result = %+v, want all uncovered: the eSIM is free", res[0])
	}
	checkUsage(t, f.s)
}

// TestUsageRefusesTheWholeBatch: one bad record and nothing is recorded;
// every bad record is named by its index.
func TestUsageRefusesTheWholeBatch(t *testing.T) {
	l := newLifecycle(t, "EURO1")
	unknownICCID := "894400000000000000"
	unknownICCID += string(LuhnDigit(unknownICCID))
	now := l.now
	good := UsageReport{ID: "ok", ICCID: l.iccid, Country: "FR", Bytes: mb, Start: now.Add(-time.Minute), End: now}
	bad := func(change func(*UsageReport)) UsageReport {
		r := good
		r.ID = fmt.Sprintf("bad-%p", &r)
		change(&r)
		return r
	}
	reports := []UsageReport{
		good,
		bad(func(r *UsageReport) { r.ICCID = unknownICCID }),                      // 1: unknown
		bad(func(r *UsageReport) { r.Bytes = -1 }),                                // 2
		bad(func(r *UsageReport) { r.Bytes = MaxUsageBytes + 1 }),                 // 3
		bad(func(r *UsageReport) { r.Start, r.End = now, now.Add(-time.Second) }), // 4
		bad(func(r *UsageReport) { r.Start = now.Add(-25 * time.Hour) }),          // 5
		bad(func(r *UsageReport) { r.End = now.Add(6 * time.Minute) }),            // 6
		bad(func(r *UsageReport) { r.Country, r.MCC = "", "999" }),                // 7
		bad(func(r *UsageReport) { r.Country = "XX" }),                            // 8
		bad(func(r *UsageReport) { r.ID = "" }),                                   // 9
		bad(func(r *UsageReport) { r.Start = time.Time{} }),                       // 10
	}
	_, err := l.s.RecordUsage(context.Background(), reports, Login{})
	got := Refusals(err).ByField()
	for _, field := range []string{"records[2].bytes", "records[3].bytes", "records[4].end", "records[5].end",
		"records[6].end", "records[7].mcc", "records[8].country", "records[9].id", "records[10].start"} {
		if got[field] == "" {
			t.Errorf("no refusal for %s; got %v", field, got)
		}
	}
	if n := count(t, l.s, `SELECT count(*) FROM usage_records`); n != 0 {
		t.Errorf("%d records recorded from a refused batch", n)
	}
	// With the checks passing, the unknown ICCID is refused in the change.
	_, err = l.s.RecordUsage(context.Background(), reports[:2], Login{})
	if got := Refusals(err).ByField()["records[1].iccid"]; got == "" {
		t.Errorf("unknown ICCID not refused: %v", err)
	}
	if n := count(t, l.s, `SELECT count(*) FROM usage_records`); n != 0 {
		t.Errorf("%d records recorded from a refused batch", n)
	}
}

// TestUsageRacesAddPlan: usage batches and Add plans on one line at once;
// whatever order they land in, no byte is lost or counted twice.
func TestUsageRacesAddPlan(t *testing.T) {
	l := newLifecycle(t, "EURO1")
	l.now = lifecycleBase.Add(time.Hour)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range 5 {
				var batch []UsageReport
				for r := range 20 {
					at := lifecycleBase.Add(time.Duration(w*100+b*20+r) * time.Second)
					batch = append(batch, UsageReport{ID: fmt.Sprintf("w%d-b%d-r%d", w, b, r), ICCID: l.iccid, Country: "FR",
						Bytes: 17 * mb, Start: at, End: at.Add(time.Second)})
				}
				if _, err := l.s.RecordUsage(ctx, batch, Login{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.s.AddPlan(ctx, AddPlan{ICCID: l.iccid, SubscriberID: l.subs[0], PlanID: l.plans["EURO1"].ID, By: l.agent}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := count(t, l.s, `SELECT coalesce(sum(bytes), 0) FROM usage_records`); n != 8*5*20*17*mb {
		t.Errorf("accepted %d bytes, want %d", n, 8*5*20*17*mb)
	}
	checkUsage(t, l.s)
}

// TestUsageOfAReplacedESIM walks rule 6: the network's late records of a
// replaced eSIM go to its line's plans until the moment it was replaced,
// wherever those plans are now; its bytes after that are uncovered. In the
// wants, {1} and {2} are the first and the second eSIM that replaced the
// line's first.
func TestUsageOfAReplacedESIM(t *testing.T) {
	t0 := lifecycleBase.Add(2 * time.Hour)
	min, hour, day := time.Minute, time.Hour, 24*time.Hour
	type step func(t *testing.T, l *lifecycle, esims []string)
	// use reports records, in one batch, each on the line's eSIM number n
	// (0 is the first); want is each one's result.
	type rec struct {
		n        int
		id       string
		mbs      int64
		from, to time.Time
		want     string
	}
	use := func(recs ...rec) step {
		return func(t *testing.T, l *lifecycle, esims []string) {
			t.Helper()
			var batch []UsageReport
			for _, r := range recs {
				batch = append(batch, UsageReport{ID: r.id, ICCID: esims[r.n], Country: "FR", Bytes: r.mbs * mb, Start: r.from, End: r.to})
				if r.to.After(l.now) {
					l.now = r.to
				}
			}
			res, err := l.s.RecordUsage(context.Background(), batch, Login{})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range recs {
				want := r.want
				for n, iccid := range esims[1:] {
					want = strings.ReplaceAll(want, fmt.Sprintf("{%d}", n+1), iccid)
				}
				if got := describe(res[i]); got != want {
					t.Errorf("%s: %s\n  want %s", r.id, got, want)
				}
			}
		}
	}
	replace := func(at time.Time) step {
		return func(t *testing.T, l *lifecycle, _ []string) {
			l.now = at
			e, err := l.s.ReplaceESIM(context.Background(), l.iccid, "New or lost phone", l.agent)
			if err != nil {
				t.Fatal(err)
			}
			l.iccid = e.ICCID
		}
	}
	startedAt := func(i int, want time.Time) step {
		return func(t *testing.T, l *lifecycle, _ []string) {
			if got := l.plan(t, i).ActivatedAt; !got.Equal(want) {
				t.Errorf("plan %d started at %s, want %s", i, got, want)
			}
		}
	}
	// A plan that ended stays on the old eSIM, as its history.
	oldPlan := func(want string) step {
		return func(t *testing.T, l *lifecycle, esims []string) {
			e, err := l.s.ESIM(context.Background(), esims[0])
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range e.Plans {
				got = append(got, fmt.Sprintf("%s:%s %d/%d", p.Plan.Code, p.StateAt(l.now), p.UsedBytes/mb, p.DataBytes/mb))
			}
			if strings.Join(got, " ") != want {
				t.Errorf("the old eSIM's plans = %s, want %s", strings.Join(got, " "), want)
			}
		}
	}
	replaced := func(n int) string {
		return fmt.Sprintf("the eSIM was replaced by {%d} at %s: nobody's line since", n, formatTime(t0.Add(2*hour)))
	}
	for _, tc := range []struct {
		name  string
		plans []string
		steps []step
		want  string // the plans of the line's eSIM now, at the end
	}{
		{"ALateRecordGoesToThePlanThatMoved", []string{"EURO1", "EURO1"}, []step{
			use(rec{0, "r1", 100, t0, t0, "100→1 started 1"}),
			replace(t0.Add(2 * hour)),
			use(rec{0, "late", 200, t0.Add(hour), t0.Add(hour), "200→1"}),
		}, "EURO1:active 300/3000 EURO1:queued 0/3000"},
		{"ARecordAfterTheReplacementIsUncovered", []string{"EURO1"}, []step{
			use(rec{0, "r1", 100, t0, t0, "100→1 started 1"}),
			replace(t0.Add(2 * hour)),
			use(rec{0, "after", 100, t0.Add(3 * hour), t0.Add(3 * hour), "uncovered 100 (" + replaced(1) + ")"}),
		}, "EURO1:active 100/3000"},
		{"ARecordStraddlingTheReplacement", []string{"EURO1"}, []step{
			use(rec{0, "r1", 100, t0, t0, "100→1 started 1"}),
			replace(t0.Add(2 * hour)),
			use(rec{0, "across", 200, t0.Add(90 * min), t0.Add(150 * min), "100→1 uncovered 100 (" + replaced(1) + ")"}),
		}, "EURO1:active 200/3000"},
		{"ALateRecordStartsAQueuedPlanThatMoved", []string{"EURO1"}, []step{
			replace(t0.Add(2 * hour)),
			use(rec{0, "first", 100, t0, t0, "100→1 started 1"}),
			startedAt(0, t0),
		}, "EURO1:active 100/3000"},
		{"ALateRecordOfAPlanThatEndedOnTheOldESIM", []string{"EURO1", "EURO1"}, []step{
			use(rec{0, "r1", 100, t0, t0, "100→1 started 1"}),
			use(rec{0, "r2", 100, t0.Add(31 * day), t0.Add(31 * day), "100→2 started 2"}),
			replace(t0.Add(31*day + hour)),
			// Euro 1 was active on day 2, and has expired since: it stayed.
			use(rec{0, "late", 50, t0.Add(day), t0.Add(day), "50→1"}),
			oldPlan("EURO1:expired 150/3000"),
		}, "EURO1:active 100/3000"},
		{"OneBatchOfTheOldAndTheNewESIM", []string{"EURO1"}, []step{
			use(rec{0, "r1", 100, t0, t0, "100→1 started 1"}),
			replace(t0.Add(2 * hour)),
			use(rec{1, "new", 300, t0.Add(3 * hour), t0.Add(3 * hour), "300→1"},
				rec{0, "late", 200, t0.Add(hour), t0.Add(hour), "200→1"}),
		}, "EURO1:active 600/3000"},
		{"TwoReplacements", []string{"EURO1"}, []step{
			use(rec{0, "r1", 100, t0, t0, "100→1 started 1"}),
			replace(t0.Add(2 * hour)),
			replace(t0.Add(4 * hour)),
			use(rec{0, "first", 10, t0.Add(hour), t0.Add(hour), "10→1"},
				rec{1, "second", 20, t0.Add(3 * hour), t0.Add(3 * hour), "20→1"},
				rec{0, "gone", 30, t0.Add(3 * hour), t0.Add(3 * hour), "uncovered 30 (" + replaced(1) + ")"},
				rec{2, "now", 40, t0.Add(5 * hour), t0.Add(5 * hour), "40→1"}),
		}, "EURO1:active 170/3000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLifecycle(t, tc.plans...)
			// Two more free eSIMs of the line's profile to replace it with.
			for n := 100; n < 102; n++ {
				if _, err := l.s.write.Exec(`INSERT INTO esims (iccid, imsi_profile, smdp_address, matching_id, stocked_at) VALUES (?, 7, 'smdp.example.com', ?, ?)`,
					testICCID(n), fmt.Sprintf("MATCH-%d", n), formatTime(lifecycleBase.AddDate(0, -1, 0))); err != nil {
					t.Fatal(err)
				}
			}
			if err := recountStock(context.Background(), l.s.write); err != nil {
				t.Fatal(err)
			}
			esims := []string{l.iccid}
			for _, s := range tc.steps {
				s(t, l, esims)
				if l.iccid != esims[len(esims)-1] {
					esims = append(esims, l.iccid)
				}
			}
			if got := l.data(t); got != tc.want {
				t.Errorf("plans = %s\n  want %s", got, tc.want)
			}
			checkUsage(t, l.s)
		})
	}
}
