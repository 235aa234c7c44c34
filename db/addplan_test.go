package db

import (
	"context"
	"strings"
	"testing"
)

func TestAddPlan(t *testing.T) {
	ctx := context.Background()
	// newLine gives subscriber 1 a profile 7 "France" line with Euro 1.
	newLine := func(t *testing.T) (*fixture, Order) {
		f := newFixture(t, 2, 3)
		order, err := f.addLine(f.subs[0], "France", "EURO1")
		if err != nil {
			t.Fatal(err)
		}
		return f, order
	}
	t.Run("OK", func(t *testing.T) {
		f, line := newLine(t)
		before := count(t, f.s, `SELECT count(*) FROM outbox WHERE kind = 'qr'`)
		order, err := f.s.AddPlan(ctx, AddPlan{ICCID: line.ICCID, SubscriberID: f.subs[0], PlanID: f.plans["EURO1"].ID, By: f.agent})
		if err != nil {
			t.Fatal(err)
		}
		if order.ICCID != line.ICCID || order.OrderNumber == line.OrderNumber {
			t.Errorf("order = %+v, want a new order on %s", order, line.ICCID)
		}
		if n := count(t, f.s, `SELECT count(*) FROM outbox WHERE kind = 'confirmation' AND iccid = ?`, line.ICCID); n != 2 {
			t.Errorf("confirmations = %d, want 2 (Add line and Add plan)", n)
		}
		if n := count(t, f.s, `SELECT count(*) FROM outbox WHERE kind = 'qr'`); n != before {
			t.Errorf("Add plan queued a QR email")
		}
		if n := count(t, f.s, `SELECT count(*) FROM audit_log WHERE action = 'add_plan' AND iccid = ?`, line.ICCID); n != 1 {
			t.Errorf("audit entries = %d, want 1", n)
		}
	})
	t.Run("StackedPlansKeepTheirOrder", func(t *testing.T) {
		f, line := newLine(t)
		f.s.write.Exec(`UPDATE plans SET imsi_profile = 7 WHERE code = 'ASIA1'`)
		for _, code := range []string{"ASIA1", "EURO1", "ASIA1"} {
			if _, err := f.s.AddPlan(ctx, AddPlan{ICCID: line.ICCID, SubscriberID: f.subs[0], PlanID: f.plans[code].ID, By: f.agent}); err != nil {
				t.Fatal(err)
			}
		}
		e, err := f.s.ESIM(ctx, line.ICCID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range e.Plans {
			got = append(got, p.Plan.Code+":"+p.State)
		}
		if want := "EURO1:queued ASIA1:queued EURO1:queued ASIA1:queued"; strings.Join(got, " ") != want {
			t.Errorf("plans = %s, want %s", strings.Join(got, " "), want)
		}
	})
	refusals := []struct {
		name  string
		req   func(f *fixture, line Order) AddPlan
		code  Code
		field string
		text  string
	}{
		{"ProfileMismatch", func(f *fixture, line Order) AddPlan {
			return AddPlan{ICCID: line.ICCID, SubscriberID: f.subs[0], PlanID: f.plans["ASIA1"].ID}
		}, ErrProfileMismatch, "plan", "Asia 1 runs on IMSI profile 10; this eSIM is profile 7."},
		{"OtherSubscribersESIM", func(f *fixture, line Order) AddPlan {
			return AddPlan{ICCID: line.ICCID, SubscriberID: f.subs[1], PlanID: f.plans["EURO1"].ID}
		}, ErrInvalid, "", "not a line of this subscriber"},
		{"FreeESIM", func(f *fixture, line Order) AddPlan {
			return AddPlan{ICCID: testICCID(1), SubscriberID: f.subs[0], PlanID: f.plans["EURO1"].ID}
		}, ErrConflict, "", "is free"},
		{"RetiredESIM", func(f *fixture, line Order) AddPlan {
			f.s.write.Exec(`UPDATE esims SET state = 'retired' WHERE iccid = ?`, testICCID(2))
			return AddPlan{ICCID: testICCID(2), SubscriberID: f.subs[0], PlanID: f.plans["EURO1"].ID}
		}, ErrConflict, "", "is retired"},
		{"InactivePlan", func(f *fixture, line Order) AddPlan {
			return AddPlan{ICCID: line.ICCID, SubscriberID: f.subs[0], PlanID: f.plans["EURO5"].ID}
		}, ErrInvalid, "plan", "no longer sold"},
		{"UnknownESIM", func(f *fixture, line Order) AddPlan {
			return AddPlan{ICCID: "8900000000000000000", SubscriberID: f.subs[0], PlanID: f.plans["EURO1"].ID}
		}, ErrNotFound, "", "No eSIM"},
		{"UnknownPlan", func(f *fixture, line Order) AddPlan {
			return AddPlan{ICCID: line.ICCID, SubscriberID: f.subs[0], PlanID: 999}
		}, ErrNotFound, "plan", "not in the catalog"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			f, line := newLine(t)
			req := tc.req(f, line)
			req.By = f.agent
			before := f.state(t)
			_, err := f.s.AddPlan(ctx, req)
			var e *Error
			if !errorsAs(err, &e) || e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.text) {
				t.Fatalf("err = %#v, want %s on %q saying %q", err, tc.code, tc.field, tc.text)
			}
			if after := f.state(t); after != before {
				t.Errorf("state changed by a refused Add plan: %s → %s", before, after)
			}
		})
	}
}
