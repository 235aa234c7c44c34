package db

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCancelPlan(t *testing.T) {
	ctx := context.Background()
	t0 := lifecycleBase.Add(2 * time.Hour)
	planID := func(l *lifecycle, i int) int64 { return l.plan(t, i).ID }

	t.Run("OK", func(t *testing.T) {
		l := newLifecycle(t, "EURO1", "EURO1")
		lp, err := l.s.CancelPlan(ctx, CancelPlan{ICCID: l.iccid, PlanID: planID(l, 1), Reason: "Trip cancelled", Note: "moved to spring", By: l.agent})
		if err != nil {
			t.Fatal(err)
		}
		if lp.State != PlanCancelled || l.plan(t, 1).CancelReason != "Trip cancelled: moved to spring" {
			t.Errorf("cancelled plan = %+v", l.plan(t, 1))
		}
		if n := count(t, l.s, `SELECT count(*) FROM outbox WHERE kind = 'plan_cancelled' AND esim_plan_id = ?`, lp.ID); n != 1 {
			t.Errorf("%d cancellation emails, want 1", n)
		}
		if n := count(t, l.s, `SELECT count(*) FROM audit_log WHERE action = 'cancel_plan' AND iccid = ?`, l.iccid); n != 1 {
			t.Errorf("%d audit entries, want 1", n)
		}
		// Usage now goes to the first plan alone, never the cancelled one.
		l.use(t, "r1", "FR", 3500*mb, t0, t0.Add(time.Hour))
		if got, want := l.data(t), "EURO1:used_up 3000/3000 EURO1:cancelled 0/3000"; got != want {
			t.Errorf("plans = %s, want %s", got, want)
		}
	})
	t.Run("EveryFieldAtOnce", func(t *testing.T) {
		l := newLifecycle(t, "EURO1")
		_, err := l.s.CancelPlan(ctx, CancelPlan{ICCID: l.iccid, PlanID: planID(l, 0), Reason: "because", Note: strings.Repeat("x", 201), By: l.agent})
		if got := Refusals(err).ByField(); got["reason"] == "" || got["note"] == "" {
			t.Errorf("refusals = %v, want the reason and the note", got)
		}
	})
	t.Run("AStartedPlanIsRefused", func(t *testing.T) {
		l := newLifecycle(t, "EURO1")
		l.attach(t, "FR", t0)
		_, err := l.s.CancelPlan(ctx, CancelPlan{ICCID: l.iccid, PlanID: planID(l, 0), Reason: "Trip cancelled", By: l.agent})
		if ErrorCode(err) != ErrConflict || !strings.Contains(err.Error(), "started on") {
			t.Errorf("err = %v, want a conflict: it started", err)
		}
		if got := l.plan(t, 0).State; got != PlanActive {
			t.Errorf("state = %s", got)
		}
	})
	t.Run("RaceWithTheFirstUsage", func(t *testing.T) {
		for i := range 10 {
			l := newLifecycle(t, "EURO1")
			l.now = t0
			var wg sync.WaitGroup
			var cancelErr, usageErr error
			wg.Go(func() {
				_, cancelErr = l.s.CancelPlan(ctx, CancelPlan{ICCID: l.iccid, PlanID: planID(l, 0), Reason: "Trip cancelled", By: l.agent})
			})
			wg.Go(func() {
				_, usageErr = l.s.RecordUsage(ctx, []UsageReport{{ID: fmt.Sprint("race-", i), ICCID: l.iccid, Country: "FR", Bytes: mb, Start: t0, End: t0}}, Login{})
			})
			wg.Wait()
			if usageErr != nil {
				t.Fatalf("usage in the race: %v", usageErr)
			}
			got := l.data(t)
			switch {
			case cancelErr == nil && got == "EURO1:cancelled 0/3000":
			case ErrorCode(cancelErr) == ErrConflict && got == "EURO1:active 1/3000":
			default:
				t.Fatalf("cancel: %v; plans %s: want either cancelled and unused, or started and not cancelled", cancelErr, got)
			}
			checkUsage(t, l.s)
		}
	})
}

func TestReplaceESIM(t *testing.T) {
	ctx := context.Background()
	t0 := lifecycleBase.Add(2 * time.Hour)
	l := newLifecycle(t, "EURO1", "EURO1", "EURO1")
	l.use(t, "r1", "FR", 3200*mb, t0, t0.Add(time.Hour)) // the first used up, the second started
	allowanceBefore, _ := l.s.Allowance(ctx, l.subs[0])
	l.now = t0.Add(2 * time.Hour)
	fresh, err := l.s.ReplaceESIM(ctx, l.iccid, "Deleted from the phone", l.agent)
	if err != nil {
		t.Fatal(err)
	}
	old, err := l.s.ESIM(ctx, l.iccid)
	if err != nil {
		t.Fatal(err)
	}
	if old.State != StateRetired || old.ReplacedBy != fresh.ICCID || !strings.HasPrefix(old.RetiredReason, "replaced by "+fresh.ICCID) {
		t.Errorf("old eSIM = %s, replaced by %q, %q", old.State, old.ReplacedBy, old.RetiredReason)
	}
	if fresh.LineName != "Europe" || fresh.SubscriberID != l.subs[0] || fresh.IMSIProfile != 7 || fresh.Replaces != l.iccid {
		t.Errorf("new eSIM = %+v", fresh)
	}
	var moved []string
	for _, p := range fresh.Plans {
		moved = append(moved, fmt.Sprintf("%s:%s %d", p.Plan.Code, p.State, p.UsedBytes/mb))
	}
	if got, want := strings.Join(moved, " "), "EURO1:active 200 EURO1:queued 0"; got != want {
		t.Errorf("plans moved = %s, want %s (the used-up one stays)", got, want)
	}
	if len(old.Plans) != 1 || old.Plans[0].State != PlanUsedUp {
		t.Errorf("the old eSIM keeps %+v, want its used-up plan", old.Plans)
	}
	if a, _ := l.s.Allowance(ctx, l.subs[0]); a != allowanceBefore {
		t.Errorf("allowance %v, was %v", a, allowanceBefore)
	}
	if n := count(t, l.s, `SELECT count(*) FROM outbox WHERE kind = 'qr' AND iccid = ?`, fresh.ICCID); n != 1 {
		t.Errorf("%d QR emails for the new eSIM, want 1", n)
	}
	if err := l.s.CheckStock(ctx); err != nil {
		t.Error(err)
	}
	checkUsage(t, l.s)
	// Usage on the new eSIM goes on charging the plan that moved.
	l.iccid = fresh.ICCID
	l.use(t, "r2", "FR", 100*mb, l.now, l.now)
	if got := l.plan(t, 0).UsedBytes / mb; got != 300 {
		t.Errorf("moved plan used %d MB, want 300", got)
	}
	checkUsage(t, l.s)

	t.Run("OutOfStock", func(t *testing.T) {
		f := newFixture(t, 1, 1) // one free eSIM of each profile: the line takes it
		o, err := f.addLine(f.subs[0], "France", "EURO1")
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.s.ReplaceESIM(ctx, o.ICCID, "New or lost phone", f.agent)
		if ErrorCode(err) != ErrOutOfStock {
			t.Fatalf("err = %v, want out of stock", err)
		}
		e, _ := f.s.ESIM(ctx, o.ICCID)
		if e.State != StateAllocated || len(e.Plans) != 1 {
			t.Errorf("after a refused replacement the line is %s with %d plans", e.State, len(e.Plans))
		}
	})
}

func TestRenameLine(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 3)
	// A second qualifying plan, for a second line.
	if _, err := f.s.write.Exec(`INSERT INTO domestic_plans (subscriber_id, name, kind, lines, since)
		VALUES (?, 'Unlimited All', 'unlimited_all', 1, '2026-01-01T00:00:00.000Z')`, f.subs[0]); err != nil {
		t.Fatal(err)
	}
	fr, err := f.addLine(f.subs[0], "Frnace", "EURO1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.addLine(f.subs[0], "Spain", "EURO1"); err != nil {
		t.Fatal(err)
	}
	e, err := f.s.RenameLine(ctx, fr.ICCID, " France ", f.agent)
	if err != nil || e.LineName != "France" {
		t.Fatalf("rename: %v, %q", err, e.LineName)
	}
	if _, err := f.s.RenameLine(ctx, fr.ICCID, "spain", f.agent); Refusals(err).ByField()["line_name"] == "" {
		t.Errorf("a name the customer has already: %v", err)
	}
	if _, err := f.s.RenameLine(ctx, fr.ICCID, "", f.agent); Refusals(err).ByField()["line_name"] == "" {
		t.Errorf("an empty name: %v", err)
	}
	if _, err := f.s.RenameLine(ctx, fr.ICCID, "FRANCE", f.agent); err != nil {
		t.Errorf("its own name in another case: %v", err)
	}
	if n := count(t, f.s, `SELECT count(*) FROM audit_log WHERE action = 'rename_line'`); n != 2 {
		t.Errorf("%d audit entries, want 2", n)
	}
}
