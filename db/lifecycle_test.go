package db

import (
	"context"
	"strings"
	"testing"
	"time"
)

// lifecycleBase is when the test lines are given.
var lifecycleBase = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// lifecycle is a line on a fixed clock, with its plans in the order added.
type lifecycle struct {
	*fixture
	now    time.Time
	iccid  string
	orders []string // order numbers, oldest first
}

// newLifecycle gives subscriber 1 a profile 7 line with the plans codes, in
// that order, at lifecycleBase. Besides the fixture's plans there is
// EUROPLUS, covering DE and GB, to overlap Euro 1 (FR DE ES) in DE only.
func newLifecycle(t *testing.T, codes ...string) *lifecycle {
	t.Helper()
	f := newFixture(t, 1, 2)
	l := &lifecycle{fixture: f, now: lifecycleBase}
	f.s.Now = func() time.Time { return l.now }
	ctx := context.Background()
	// The fixture stocks its eSIMs at the real time; the line's story is told
	// at lifecycleBase, and a report is never older than its eSIM.
	if _, err := f.s.write.ExecContext(ctx, `UPDATE esims SET stocked_at = ?`, formatTime(lifecycleBase.AddDate(0, -1, 0))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.write.ExecContext(ctx, `INSERT INTO plans (id, code, name, region, data_mb, imsi_profile, price_cents) VALUES (4, 'EUROPLUS', 'Euro Plus', 'Europe', 5000, 7, 2500)`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.write.ExecContext(ctx, `INSERT INTO plan_destinations (plan_id, country) VALUES (4, 'DE'), (4, 'GB')`); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.plans["EUROPLUS"], err = f.s.Plan(ctx, 4); err != nil {
		t.Fatal(err)
	}
	for i, code := range codes {
		var o Order
		if i == 0 {
			o, err = f.addLine(f.subs[0], "Europe", code)
		} else {
			o, err = f.s.AddPlan(ctx, AddPlan{ICCID: l.iccid, SubscriberID: f.subs[0], PlanID: f.plans[code].ID, By: f.agent})
		}
		if err != nil {
			t.Fatalf("add %s: %v", code, err)
		}
		l.iccid = o.ICCID
		l.orders = append(l.orders, o.OrderNumber)
	}
	return l
}

// attach reports an attachment in country at, moving the clock to at if it
// is behind.
func (l *lifecycle) attach(t *testing.T, country string, at time.Time) AttachResult {
	t.Helper()
	if at.After(l.now) {
		l.now = at
	}
	r, err := l.s.Attach(context.Background(), Attach{ICCID: l.iccid, Country: country, AttachedAt: at})
	if err != nil {
		t.Fatalf("attach in %s at %s: %v", country, at, err)
	}
	return r
}

// states reads "EURO1:active EURO1:queued" at the clock's time.
func (l *lifecycle) states(t *testing.T) string {
	t.Helper()
	e, err := l.s.ESIM(context.Background(), l.iccid)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range e.Plans {
		out = append(out, p.Plan.Code+":"+p.StateAt(l.now))
	}
	return strings.Join(out, " ")
}

func activatedOrder(r AttachResult) string {
	if r.Activated == nil {
		return "none (" + r.Reason + ")"
	}
	return r.Activated.OrderNumber
}

func TestAttach(t *testing.T) {
	ctx := context.Background()
	t1 := lifecycleBase.Add(2 * time.Hour)

	t.Run("OldestCoveringPendingPlanActivates", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1", "EUROPLUS", "EURO1")
		r := l.attach(t, "DE", t1)
		if got, want := activatedOrder(r), l.orders[0]; got != want {
			t.Fatalf("activated %s, want the oldest plan covering DE, %s", got, want)
		}
		if r.Activated.ActivatedAt != t1 || r.Activated.ExpiresAt != t1.Add(30*24*time.Hour) {
			t.Errorf("activated %s until %s, want %s until 30 days later", r.Activated.ActivatedAt, r.Activated.ExpiresAt, t1)
		}
		// Euro 1 does not cover GB: the next plan that does starts.
		if got, want := activatedOrder(l.attach(t, "GB", t1.Add(time.Hour))), l.orders[1]; got != want {
			t.Errorf("GB activated %s, want %s", got, want)
		}
		if got, want := l.states(t), "EURO1:active EUROPLUS:active EURO1:queued"; got != want {
			t.Errorf("plans = %s, want %s", got, want)
		}
	})

	t.Run("FirstAttachmentIsKept", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1")
		first := func() string {
			var at string
			if err := l.s.read.QueryRow(`SELECT coalesce(first_attached_at, '') FROM esims WHERE iccid = ?`, l.iccid).Scan(&at); err != nil {
				t.Fatal(err)
			}
			return at
		}
		// Each report in turn, and what the eSIM then says was its first.
		for _, step := range []struct {
			name string
			at   time.Time
			want time.Time
		}{
			{"the first report", t1.Add(time.Hour), t1.Add(time.Hour)},
			{"a later one", t1.Add(3 * time.Hour), t1.Add(time.Hour)},
			{"a late report of an earlier one", t1, t1},
			{"the same again", t1, t1},
		} {
			l.attach(t, "FR", step.at)
			if got := first(); got != formatTime(step.want) {
				t.Errorf("after %s: first attachment %s, want %s", step.name, got, formatTime(step.want))
			}
		}
	})

	t.Run("OlderPlanNotCoveringIsSkipped", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1", "EUROPLUS")
		if got, want := activatedOrder(l.attach(t, "GB", t1)), l.orders[1]; got != want {
			t.Errorf("activated %s, want %s", got, want)
		}
		if got, want := l.states(t), "EURO1:queued EUROPLUS:active"; got != want {
			t.Errorf("plans = %s, want %s", got, want)
		}
	})

	t.Run("CoveredByActivePlan", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1", "EURO1")
		l.attach(t, "FR", t1)
		r := l.attach(t, "ES", t1.Add(10*24*time.Hour))
		if r.Activated != nil || r.Reason != "covered by active plan "+l.orders[0] {
			t.Errorf("result = %+v, want nothing activated, covered by %s", r, l.orders[0])
		}
		if got, want := l.states(t), "EURO1:active EURO1:queued"; got != want {
			t.Errorf("plans = %s, want %s", got, want)
		}
		if n := count(t, l.s, `SELECT count(*) FROM attachments WHERE iccid = ?`, l.iccid); n != 2 {
			t.Errorf("attachments = %d, want both recorded", n)
		}
	})

	t.Run("NoPlanCovers", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1")
		r := l.attach(t, "JP", t1)
		if r.Activated != nil || r.Duplicate || r.Reason != "no plan covers JP" {
			t.Errorf("result = %+v, want recorded, nothing activated", r)
		}
		if n := count(t, l.s, `SELECT count(*) FROM attachments WHERE iccid = ? AND country = 'JP'`, l.iccid); n != 1 {
			t.Errorf("attachments = %d, want 1", n)
		}
		if got, want := l.states(t), "EURO1:queued"; got != want {
			t.Errorf("plans = %s, want %s", got, want)
		}
	})

	t.Run("DuplicateEvent", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1", "EURO1")
		l.attach(t, "DE", t1)
		before := l.state(t)
		// The same attachment again, by MCC this time.
		r, err := l.s.Attach(ctx, Attach{ICCID: l.iccid, MCC: "262", AttachedAt: t1})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Duplicate || r.Activated != nil || r.Reason != "duplicate event" {
			t.Errorf("result = %+v, want a duplicate", r)
		}
		if after := l.state(t); after != before {
			t.Errorf("a duplicate changed %s → %s", before, after)
		}
		if n := count(t, l.s, `SELECT count(*) FROM attachments`); n != 1 {
			t.Errorf("attachments = %d, want 1", n)
		}
	})

	t.Run("ThirtyDayBoundary", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1", "EURO1")
		r := l.attach(t, "FR", t1)
		end := t1.Add(30 * 24 * time.Hour)
		if got := r.Activated.StateAt(end.Add(-time.Nanosecond)); got != PlanActive {
			t.Errorf("at 30 days less 1ns: %s, want active", got)
		}
		if got := r.Activated.StateAt(end); got != PlanExpired {
			t.Errorf("at 30 days: %s, want expired", got)
		}
		if got := activatedOrder(l.attach(t, "FR", end.Add(-time.Nanosecond))); got != "none (covered by active plan "+l.orders[0]+")" {
			t.Errorf("attach 1ns before the end activated %s, want none", got)
		}
		// No sweep has run, and the view already says expired.
		l.now = end
		if got, want := l.states(t), "EURO1:expired EURO1:queued"; got != want {
			t.Errorf("plans at the end = %s, want %s", got, want)
		}
		if got, want := activatedOrder(l.attach(t, "FR", end)), l.orders[1]; got != want {
			t.Errorf("attach at the end activated %s, want the next plan %s", got, want)
		}
		if _, err := l.s.NotifyDue(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, l.s, `SELECT count(*) FROM esim_plans WHERE order_number = ? AND state = 'expired'`, l.orders[0]); n != 1 {
			t.Errorf("the scheduler did not mark the plan past its end expired")
		}
		var stored string
		l.s.read.QueryRow(`SELECT expires_at FROM esim_plans WHERE order_number = ?`, l.orders[0]).Scan(&stored)
		if want := "2026-12-31T10:00:00.000Z"; stored != want {
			t.Errorf("expires_at = %s, want %s", stored, want)
		}
	})

	t.Run("TimeZoneOfAttachedAt", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1")
		at, err := time.Parse(time.RFC3339, "2026-12-01T09:30:00+01:00")
		if err != nil {
			t.Fatal(err)
		}
		r := l.attach(t, "FR", at)
		if want := time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC); !r.Activated.ActivatedAt.Equal(want) {
			t.Errorf("activated at %s, want %s", r.Activated.ActivatedAt, want)
		}
		if n := count(t, l.s, `SELECT count(*) FROM attachments WHERE attached_at = '2026-12-01T08:30:00.000Z'`); n != 1 {
			t.Errorf("attachment not stored at 08:30Z")
		}
		if n := count(t, l.s, `SELECT count(*) FROM esim_plans WHERE activated_at = '2026-12-01T08:30:00.000Z' AND expires_at = '2026-12-31T08:30:00.000Z'`); n != 1 {
			t.Errorf("plan not activated at 08:30Z for 30 days")
		}
	})

	t.Run("LateReportChangesNothing", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1", "EURO1")
		l.attach(t, "FR", t1.Add(5*time.Hour))
		r := l.attach(t, "DE", t1)
		if r.Activated != nil || !strings.HasPrefix(r.Reason, "older than the activation of "+l.orders[0]) {
			t.Errorf("result = %+v, want nothing activated by a stale report", r)
		}
		if got, want := l.states(t), "EURO1:active EURO1:queued"; got != want {
			t.Errorf("plans = %s, want %s", got, want)
		}
	})

	t.Run("PlanAddedAfterTheAttachment", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1")
		r := l.attach(t, "FR", lifecycleBase.Add(-time.Hour))
		if r.Activated != nil || r.Reason != "no queued plan covers FR" {
			t.Errorf("result = %+v, want nothing activated before the plan was on the eSIM", r)
		}
	})

	t.Run("ReportArrivingAfterThePlanEnded", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1")
		l.now = t1.Add(40 * 24 * time.Hour)
		r := l.attach(t, "FR", t1)
		if r.Activated == nil || r.Activated.State != PlanExpired {
			t.Fatalf("result = %+v, want the plan activated and already expired", r)
		}
		if n := count(t, l.s, `SELECT count(*) FROM esim_plans WHERE state = 'expired'`); n != 1 {
			t.Errorf("plan not stored as expired")
		}
	})

	t.Run("AuditedAsTheNetwork", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1")
		l.attach(t, "FR", t1)
		if n := count(t, l.s, `SELECT count(*) FROM audit_log WHERE action = 'activate_plan' AND login_id IS NULL AND iccid = ? AND subscriber_id = ?`,
			l.iccid, l.subs[0]); n != 1 {
			t.Errorf("activation audit entries = %d, want 1 by the network", n)
		}
	})

	t.Run("SimulatedByALead", func(t *testing.T) {
		t.Parallel()
		l := newLifecycle(t, "EURO1")
		lead, err := l.s.CreateLogin(ctx, "lead@example.com", "Lead", RoleLead, "lead-password")
		if err != nil {
			t.Fatal(err)
		}
		r, err := l.s.Attach(ctx, Attach{ICCID: l.iccid, Country: "fr", AttachedAt: l.now, By: lead})
		if err != nil || r.Activated == nil {
			t.Fatalf("simulated attach: %+v, %v", r, err)
		}
		if n := count(t, l.s, `SELECT count(*) FROM audit_log WHERE action IN ('simulate_attach', 'activate_plan') AND login_id = ?`, lead.ID); n != 2 {
			t.Errorf("audit entries by the lead = %d, want the simulation and the activation", n)
		}
	})

	refusals := []struct {
		name  string
		req   func(l *lifecycle) Attach
		code  Code
		field string
		text  string
	}{
		{"UnknownESIM", func(l *lifecycle) Attach {
			return Attach{ICCID: testICCID(999), Country: "FR", AttachedAt: t1}
		}, ErrNotFound, "", "No eSIM"},
		{"FreeESIM", func(l *lifecycle) Attach {
			return Attach{ICCID: testICCID(1), Country: "FR", AttachedAt: t1}
		}, ErrConflict, "iccid", "is free"},
		{"RetiredESIM", func(l *lifecycle) Attach {
			l.s.write.Exec(`UPDATE esims SET state = 'retired' WHERE iccid = ?`, testICCID(2))
			return Attach{ICCID: testICCID(2), Country: "FR", AttachedAt: t1}
		}, ErrConflict, "iccid", "is retired"},
		{"BadICCID", func(l *lifecycle) Attach {
			return Attach{ICCID: "8901990000000000001", Country: "FR", AttachedAt: t1}
		}, ErrInvalid, "iccid", "check digit"},
		{"UnknownMCC", func(l *lifecycle) Attach {
			return Attach{ICCID: l.iccid, MCC: "999", AttachedAt: t1}
		}, ErrInvalid, "mcc", "unknown mobile country code"},
		{"MCCAndCountryDisagree", func(l *lifecycle) Attach {
			return Attach{ICCID: l.iccid, MCC: "262", Country: "FR", AttachedAt: t1}
		}, ErrInvalid, "country", "mcc 262 is DE, not FR"},
		{"UnknownCountry", func(l *lifecycle) Attach {
			return Attach{ICCID: l.iccid, Country: "ZZ", AttachedAt: t1}
		}, ErrInvalid, "country", "unknown country"},
		{"NoWhere", func(l *lifecycle) Attach {
			return Attach{ICCID: l.iccid, AttachedAt: t1}
		}, ErrInvalid, "mcc", "give the mcc or the country"},
		{"NoTime", func(l *lifecycle) Attach {
			return Attach{ICCID: l.iccid, Country: "FR"}
		}, ErrInvalid, "attached_at", "required"},
		{"InTheFuture", func(l *lifecycle) Attach {
			return Attach{ICCID: l.iccid, Country: "FR", AttachedAt: l.now.Add(MaxClockSkew + time.Second)}
		}, ErrInvalid, "attached_at", "in the future"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLifecycle(t, "EURO1")
			l.now = t1
			req := tc.req(l)
			before := l.state(t)
			_, err := l.s.Attach(ctx, req)
			var e *Error
			if !errorsAs(err, &e) || e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.text) {
				t.Fatalf("err = %#v, want %s on %q saying %q", err, tc.code, tc.field, tc.text)
			}
			if n := count(t, l.s, `SELECT count(*) FROM attachments`); n != 0 {
				t.Errorf("a refused report was recorded")
			}
			if after := l.state(t); after != before {
				t.Errorf("state changed by a refused report: %s → %s", before, after)
			}
		})
	}
}

func TestRecordProfileEvent(t *testing.T) {
	ctx := context.Background()
	t1 := lifecycleBase.Add(10 * time.Minute)
	l := newLifecycle(t, "EURO1")
	l.now = lifecycleBase.Add(24 * time.Hour)
	record := func(event string, at time.Time) ProfileEventResult {
		t.Helper()
		r, err := l.s.RecordProfileEvent(ctx, ProfileEvent{ICCID: l.iccid, Event: event, At: at})
		if err != nil {
			t.Fatalf("%s at %s: %v", event, at, err)
		}
		return r
	}
	stored := func() string {
		e, err := l.s.ESIM(ctx, l.iccid)
		if err != nil {
			t.Fatal(err)
		}
		return e.ProfileState + "@" + e.ProfileStateAt.Format(time.RFC3339)
	}

	if r := record("installed", t1.Add(time.Minute)); !r.Updated || r.Duplicate || r.State != ProfileInstalled {
		t.Errorf("first event: %+v, want it to set the state", r)
	}
	// Older than the state: recorded, but the state stays.
	if r := record("downloaded", t1); r.Updated || r.Duplicate || r.State != ProfileInstalled {
		t.Errorf("older event: %+v, want recorded without changing the state", r)
	}
	// At the same instant is not newer.
	if r := record("enabled", t1.Add(time.Minute)); r.Updated {
		t.Errorf("event at the same time as the state replaced it")
	}
	if r := record("installed", t1.Add(time.Minute)); !r.Duplicate || r.Updated {
		t.Errorf("repeated event: %+v, want a duplicate", r)
	}
	if got, want := stored(), "installed@2026-12-01T08:11:00Z"; got != want {
		t.Errorf("stored state = %s, want %s", got, want)
	}
	if r := record("DISABLED", t1.Add(time.Hour)); !r.Updated || r.State != ProfileDisabled {
		t.Errorf("newer event: %+v, want it to set the state", r)
	}
	if got, want := stored(), "disabled@2026-12-01T09:10:00Z"; got != want {
		t.Errorf("stored state = %s, want %s", got, want)
	}
	if n := count(t, l.s, `SELECT count(*) FROM profile_events WHERE iccid = ?`, l.iccid); n != 4 {
		t.Errorf("profile events = %d, want 4", n)
	}

	for _, tc := range []struct {
		name string
		ev   ProfileEvent
		code Code
	}{
		{"UnknownEvent", ProfileEvent{ICCID: l.iccid, Event: "scanned", At: t1}, ErrInvalid},
		{"BadICCID", ProfileEvent{ICCID: "89", Event: "installed", At: t1}, ErrInvalid},
		{"InTheFuture", ProfileEvent{ICCID: l.iccid, Event: "installed", At: l.now.Add(time.Hour)}, ErrInvalid},
		{"UnknownESIM", ProfileEvent{ICCID: testICCID(999), Event: "installed", At: t1}, ErrNotFound},
		{"FreeESIM", ProfileEvent{ICCID: testICCID(1), Event: "installed", At: t1}, ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := l.s.RecordProfileEvent(ctx, tc.ev); ErrorCode(err) != tc.code {
				t.Errorf("err = %v, want %s", err, tc.code)
			}
		})
	}
}

func TestESIMLifecycleFields(t *testing.T) {
	ctx := context.Background()
	l := newLifecycle(t, "EURO1")
	e, err := l.s.ESIM(ctx, l.iccid)
	if err != nil {
		t.Fatal(err)
	}
	if e.ProfileState != "" || !e.QRSentAt.IsZero() || e.LastAttachment != nil {
		t.Errorf("new line: state %q, QR sent %s, last attachment %+v; want none", e.ProfileState, e.QRSentAt, e.LastAttachment)
	}
	emails, err := l.s.EmailsForESIM(ctx, l.iccid)
	if err != nil {
		t.Fatal(err)
	}
	sent := lifecycleBase.Add(30 * time.Second)
	for _, m := range emails {
		l.s.MarkEmailSent(ctx, m, sent)
	}
	l.now = lifecycleBase.Add(time.Hour)
	if _, err := l.s.RecordProfileEvent(ctx, ProfileEvent{ICCID: l.iccid, Event: "installed", At: lifecycleBase.Add(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	l.attach(t, "FR", lifecycleBase.Add(20*time.Minute))
	l.attach(t, "JP", lifecycleBase.Add(10*time.Minute))

	lines, err := l.s.Lines(ctx, l.subs[0])
	if err != nil {
		t.Fatal(err)
	}
	if e := lines[0]; e.ProfileState != ProfileInstalled || !e.QRSentAt.Equal(sent) {
		t.Errorf("Lines: state %q, QR sent %s; want installed, %s", e.ProfileState, e.QRSentAt, sent)
	}
	if e, err = l.s.ESIM(ctx, l.iccid); err != nil {
		t.Fatal(err)
	}
	if a := e.LastAttachment; a == nil || a.Country != "FR" || !a.AttachedAt.Equal(lifecycleBase.Add(20*time.Minute)) {
		t.Errorf("last attachment = %+v, want FR at 08:20 (the latest, not the last received)", a)
	}
}

func TestTimeline(t *testing.T) {
	ctx := context.Background()
	l := newLifecycle(t, "EURO1")
	emails, err := l.s.EmailsForESIM(ctx, l.iccid)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range emails {
		l.s.MarkEmailSent(ctx, m, lifecycleBase.Add(time.Minute))
	}
	l.now = lifecycleBase.Add(time.Hour)
	l.s.RecordProfileEvent(ctx, ProfileEvent{ICCID: l.iccid, Event: "installed", At: lifecycleBase.Add(10 * time.Minute)})
	at := lifecycleBase.Add(2 * time.Hour)
	l.attach(t, "FR", at)

	kinds := func() string {
		events, err := l.s.Timeline(ctx, l.iccid)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, ev := range events {
			if i > 0 && ev.At.Before(events[i-1].At) {
				t.Errorf("event %d (%s) is out of time order", i, ev.Kind)
			}
			out = append(out, ev.Kind+":"+ev.Subject)
		}
		return strings.Join(out, " ")
	}
	want := "allocated:Europe plan_added:Euro 1 email_queued:qr email_queued:confirmation email_sent:qr email_sent:confirmation " +
		"profile:installed attached:FR activated:Euro 1 email_queued:plan_started"
	if got := kinds(); got != want {
		t.Errorf("timeline =\n%s\nwant\n%s", got, want)
	}
	// The plan's end shows once it has passed, with no sweep.
	l.now = at.Add(30 * 24 * time.Hour)
	if got := kinds(); got != want+" expired:Euro 1" {
		t.Errorf("timeline after the end =\n%s\nwant it to end with the expiry", got)
	}
}

// TestFirstAttachmentMigration takes a database back to before
// first_attached_at, with attachments kept whole on one line and rolled up
// into days on another, and opens it: the migration fills in each line's
// first attachment from both, and the List's never-installed index is
// rebuilt to leave them out.
func TestFirstAttachmentMigration(t *testing.T) {
	ctx := context.Background()
	l := newLifecycle(t, "EURO1")
	l.attach(t, "FR", lifecycleBase.Add(5*time.Hour))
	l.attach(t, "FR", lifecycleBase.Add(3*time.Hour))
	// Another eSIM, whose attachments were all rolled up.
	var other string
	if err := l.s.read.QueryRow(`SELECT iccid FROM esims WHERE iccid <> ? LIMIT 1`, l.iccid).Scan(&other); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := l.s.write.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO attachment_days (iccid, day, country, attachments, first_at, last_at) VALUES (?, '2026-12-01', 'ES', 2, ?, ?)`,
		other, formatTime(lifecycleBase.Add(time.Hour)), formatTime(lifecycleBase.Add(2*time.Hour)))
	for _, q := range []string{
		`DROP INDEX esims_list_never_installed`,
		`ALTER TABLE esims DROP COLUMN first_attached_at`,
		`CREATE INDEX esims_list_never_installed ON esims(allocated_at, iccid)
			WHERE allocated_at IS NOT NULL AND (profile_state IS NULL OR profile_state = 'downloaded')`,
		`DELETE FROM schema_migrations WHERE version = 25`,
	} {
		exec(q)
	}
	if err := l.s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, l.path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for iccid, want := range map[string]time.Time{l.iccid: lifecycleBase.Add(3 * time.Hour), other: lifecycleBase.Add(time.Hour)} {
		var got string
		if err := s.read.QueryRow(`SELECT coalesce(first_attached_at, '') FROM esims WHERE iccid = ?`, iccid).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != formatTime(want) {
			t.Errorf("%s: first attachment %q after the migration, want %s", iccid, got, formatTime(want))
		}
	}
	var index string
	if err := s.read.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'esims_list_never_installed'`).Scan(&index); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(index, "first_attached_at IS NULL") {
		t.Errorf("the never-installed index after the migration: %s", index)
	}
}
