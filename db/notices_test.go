package db

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// notices reads the line's notices in the order they were queued, as
// "data_low:1 data_used_up:1", plans by their place on the line.
func (l *lifecycle) notices(t *testing.T) string {
	t.Helper()
	rows, err := l.s.read.Query(`SELECT o.kind, ep.order_number FROM outbox o JOIN esim_plans ep ON ep.id = o.esim_plan_id
		WHERE o.iccid = ? AND o.kind NOT IN ('qr', 'confirmation') ORDER BY o.id`, l.iccid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var kind, order string
		if err := rows.Scan(&kind, &order); err != nil {
			t.Fatal(err)
		}
		var n int
		fmt.Sscanf(order, "ORD-2026-%d", &n)
		out = append(out, fmt.Sprintf("%s:%d", kind, n))
	}
	return strings.Join(out, " ")
}

func (l *lifecycle) notifyDue(t *testing.T, at time.Time) {
	t.Helper()
	l.now = at
	if _, err := l.s.NotifyDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestNotices walks the rules of db/rules/notices.go with the fake clock:
// which notice goes out when, and each at most once per plan.
func TestNotices(t *testing.T) {
	t0 := lifecycleBase.Add(2 * time.Hour)
	day := 24 * time.Hour
	end := t0.Add(30 * day)
	type step func(t *testing.T, l *lifecycle)
	use := func(id string, mbs int64, at time.Time) step {
		return func(t *testing.T, l *lifecycle) { l.use(t, id, "FR", mbs*mb, at, at) }
	}
	useBatch := func(mbs ...int64) step { // one batch, several records at t0+1h
		return func(t *testing.T, l *lifecycle) {
			at := t0.Add(time.Hour)
			l.now = at
			var batch []UsageReport
			for i, n := range mbs {
				batch = append(batch, UsageReport{ID: fmt.Sprint("b", i), ICCID: l.iccid, Country: "FR", Bytes: n * mb, Start: at, End: at})
			}
			if _, err := l.s.RecordUsage(context.Background(), batch, Login{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	attach := func(at time.Time) step { return func(t *testing.T, l *lifecycle) { l.attach(t, "FR", at) } }
	due := func(at time.Time) step { return func(t *testing.T, l *lifecycle) { l.notifyDue(t, at) } }
	optOut := func(t *testing.T, l *lifecycle) {
		if err := l.s.SetPlanNotices(context.Background(), l.subs[0], false, l.agent); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		plans []string
		steps []step
		want  string
	}{
		{"StartedByAnAttachment", []string{"EURO1"}, []step{attach(t0), attach(t0.Add(time.Hour))}, "plan_started:1"},
		{"StartedByUsage", []string{"EURO1"}, []step{use("r1", 10, t0)}, "plan_started:1"},
		{"NoStartNoticeForAStartAlreadyOver", []string{"EURO1"}, []step{
			func(t *testing.T, l *lifecycle) { l.now = t0.Add(40 * day) }, attach(t0),
		}, ""},
		{"RunningLowOnce", []string{"EURO1"}, []step{
			use("r1", 2300, t0), use("r2", 200, t0.Add(time.Hour)), use("r3", 100, t0.Add(2*time.Hour)),
		}, "plan_started:1 data_low:1"},
		{"DuplicatesTellNothingNew", []string{"EURO1"}, []step{
			use("r1", 2500, t0), use("r1", 2500, t0), use("r1", 2500, t0.Add(time.Hour)),
		}, "plan_started:1 data_low:1"},
		{"ABatchPast80AndTo100SendsOnlyUsedUp", []string{"EURO1"}, []step{
			use("r0", 100, t0), useBatch(2000, 1000),
		}, "plan_started:1 data_used_up:1"},
		{"UsedUpThenTheNextPlanStarts", []string{"EURO1", "EURO1"}, []step{
			use("r1", 3500, t0),
		}, "plan_started:1 data_used_up:1 plan_started:2"},
		{"EndsSoonThenEnded", []string{"EURO1"}, []step{
			use("r1", 100, t0), due(end.Add(-73 * time.Hour)), due(end.Add(-72 * time.Hour)), due(end.Add(-time.Hour)), due(end),
			due(end.Add(time.Hour)),
		}, "plan_started:1 ends_soon:1 plan_ended:1"},
		{"CatchUpAfterDowntimeSendsEndedNotEndsSoon", []string{"EURO1"}, []step{
			use("r1", 100, t0), due(end.Add(5 * day)),
		}, "plan_started:1 plan_ended:1"},
		{"NoEndsSoonOrEndedForAUsedUpPlan", []string{"EURO1"}, []step{
			use("r1", 3000, t0), due(end.Add(-time.Hour)), due(end.Add(time.Hour)),
		}, "plan_started:1 data_used_up:1"},
		{"OptedOutHearsNothing", []string{"EURO1"}, []step{
			optOut, use("r1", 2900, t0), due(end.Add(-time.Hour)), due(end),
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLifecycle(t, tc.plans...)
			for _, s := range tc.steps {
				s(t, l)
			}
			if got := l.notices(t); got != tc.want {
				t.Errorf("notices = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNoticesRace: scheduler passes and usage reports race on one plan at its
// last hours; each notice goes out once.
func TestNoticesRace(t *testing.T) {
	l := newLifecycle(t, "EURO1")
	t0 := lifecycleBase.Add(2 * time.Hour)
	l.use(t, "r0", "FR", 100*mb, t0, t0)
	var mu sync.Mutex
	l.now = t0.Add(30*24*time.Hour - time.Hour)
	now := l.now
	l.s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if _, err := l.s.NotifyDue(context.Background()); err != nil {
				t.Error(err)
			}
			at := t0.Add(time.Duration(i) * time.Hour)
			if _, err := l.s.RecordUsage(context.Background(), []UsageReport{{ID: fmt.Sprint("race-", i), ICCID: l.iccid, Country: "FR",
				Bytes: 300 * mb, Start: at, End: at}}, Login{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	for range 3 {
		wg.Go(func() {
			if _, err := l.s.NotifyDue(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, want := l.notices(t), "plan_started:1 ends_soon:1 data_low:1 plan_ended:1"; got != want {
		t.Errorf("notices = %q, want %q", got, want)
	}
}

// TestNoticesAfterARestart: a portal started again at a later clock catches
// up from what the database says, without an "ends soon" for a plan over.
func TestNoticesAfterARestart(t *testing.T) {
	l := newLifecycle(t, "EURO1", "EURO1")
	t0 := lifecycleBase.Add(2 * time.Hour)
	l.use(t, "r0", "FR", 100*mb, t0, t0)
	path := l.path
	l.s.Close()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Mail = testMail{}
	s.Now = func() time.Time { return t0.Add(45 * 24 * time.Hour) }
	l.s = s
	if _, err := s.NotifyDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := l.notices(t), "plan_started:1 plan_ended:1"; got != want {
		t.Errorf("notices = %q, want %q", got, want)
	}
}

func TestSetPlanNotices(t *testing.T) {
	f := newFixture(t, 1, 0)
	ctx := context.Background()
	for _, on := range []bool{false, false, true} {
		if err := f.s.SetPlanNotices(ctx, f.subs[0], on, f.agent); err != nil {
			t.Fatal(err)
		}
		sub, _ := f.s.Subscriber(ctx, f.subs[0])
		if sub.PlanNotices != on {
			t.Errorf("after setting %v: %v", on, sub.PlanNotices)
		}
	}
	if n := count(t, f.s, `SELECT count(*) FROM audit_log WHERE action = 'set_plan_notices'`); n != 2 {
		t.Errorf("audit entries = %d, want 2: a setting made again changes nothing", n)
	}
	if err := f.s.SetPlanNotices(ctx, 9999, false, f.agent); ErrorCode(err) != ErrNotFound {
		t.Errorf("unknown subscriber: %v", err)
	}
}
