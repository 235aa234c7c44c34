package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestEmpty(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if empty, err := s.Empty(ctx); err != nil || !empty {
		t.Fatalf("Empty on a new database = %v, %v, want true", empty, err)
	}
	if _, err := s.AddToCatalog(ctx, []Plan{{Code: "EURO1", Name: "Euro 1", Region: "Europe", DataMB: 1000, IMSIProfile: 7, Destinations: []string{"FR"}}}, Login{}); err != nil {
		t.Fatal(err)
	}
	if empty, err := s.Empty(ctx); err != nil || empty {
		t.Errorf("Empty with a plan = %v, %v, want false", empty, err)
	}
}

// load adds subscribers through a Loader, with no home plans.
func load(l *Loader, subs ...NewSubscriber) error {
	for _, ns := range subs {
		if _, err := l.Subscriber(ns); err != nil {
			return err
		}
	}
	return nil
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	t.Run("OK", func(t *testing.T) {
		at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		err := s.Load(ctx, func(l *Loader) error {
			return load(l, NewSubscriber{Subscriber: Subscriber{AccountNumber: "AC-1", Name: "Ana", Email: "ana@example.com"}, Since: at},
				NewSubscriber{Subscriber: Subscriber{AccountNumber: "AC-2", Name: "Ben", Email: "ben@example.com"}, Since: at})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := count(t, s, `SELECT count(*) FROM subscribers WHERE created_at = '2026-03-01T09:00:00.000Z'`); got != 2 {
			t.Errorf("subscribers loaded = %d, want 2", got)
		}
	})
	t.Run("AllOrNothing", func(t *testing.T) {
		err := s.Load(ctx, func(l *Loader) error {
			return load(l, NewSubscriber{Subscriber: Subscriber{AccountNumber: "AC-3", Name: "Cy", Email: "cy@example.com"}},
				NewSubscriber{Subscriber: Subscriber{AccountNumber: "AC-1", Name: "Ana again", Email: "ana@example.com"}})
		})
		if err == nil {
			t.Fatal("a load that breaks a constraint succeeded")
		}
		if got := count(t, s, `SELECT count(*) FROM subscribers`); got != 2 {
			t.Errorf("subscribers = %d after a failed load, want 2", got)
		}
	})
	t.Run("PragmasSetBack", func(t *testing.T) {
		var cache int
		var temp string
		err := s.inTx(ctx, func(ctx context.Context, tx *change) error {
			if err := tx.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&temp)
		})
		if err != nil {
			t.Fatal(err)
		}
		if cache != -65536 || temp != "0" {
			t.Errorf("after Load cache_size = %d, temp_store = %s, want -65536 and 0", cache, temp)
		}
	})
	t.Run("InsideAChange", func(t *testing.T) {
		err := s.inTx(ctx, func(ctx context.Context, tx *change) error {
			return s.Load(ctx, func(*Loader) error { return nil })
		})
		if err != errNestedWrite {
			t.Errorf("Load inside a change = %v, want errNestedWrite", err)
		}
	})
}

func TestAddSubscribers(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	since := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	subs, err := s.AddSubscribers(ctx, []NewSubscriber{
		{Subscriber: Subscriber{AccountNumber: "AC-1", Name: "Ana Silva", Email: "ana@example.com", Phone: "+1 212 555 0100"}, Since: since,
			Home: []DomesticPlan{{Name: "Unlimited All", Kind: "unlimited_all"}, {Name: "Prepaid 5 GB", Kind: "other", Since: since.AddDate(1, 0, 0)}}},
		{Subscriber: Subscriber{AccountNumber: "AC-2", Name: "Ben Okoro", Email: "ben@example.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 || subs[0].ID == 0 || subs[1].ID == subs[0].ID {
		t.Fatalf("AddSubscribers = %+v, want two with their ids", subs)
	}
	t.Run("OK", func(t *testing.T) {
		got, err := s.Subscriber(ctx, subs[0].ID)
		if err != nil || got != subs[0] {
			t.Errorf("Subscriber = %+v, %v, want %+v", got, err, subs[0])
		}
		a, err := s.Allowance(ctx, subs[0].ID)
		if err != nil || a.Total != 1 {
			t.Errorf("allowance = %+v, %v, want 1 qualifying plan", a, err)
		}
		home, err := s.DomesticPlans(ctx, subs[0].ID)
		if err != nil || len(home) != 2 || !home[0].Since.Equal(since) || !home[1].Since.Equal(since.AddDate(1, 0, 0)) || home[0].Lines != 1 {
			t.Errorf("home plans = %+v, %v", home, err)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		_, err := s.AddSubscribers(ctx, []NewSubscriber{
			{Subscriber: Subscriber{AccountNumber: "AC-3", Name: "Cy", Email: "cy@example.com"}},
			{Subscriber: Subscriber{AccountNumber: "AC-1", Name: "Ana again", Email: "ana@example.com"}},
		})
		if got := ErrorCode(err); got != ErrConflict {
			t.Errorf("err = %v (%s), want %s", err, got, ErrConflict)
		}
		if n := count(t, s, `SELECT count(*) FROM subscribers`); n != 2 {
			t.Errorf("subscribers = %d, want 2: nothing of a refused change", n)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := s.AddSubscribers(ctx, []NewSubscriber{
			{Subscriber: Subscriber{AccountNumber: "AC-4", Name: "Di"}},
			{Subscriber: Subscriber{AccountNumber: "AC-5", Name: "Ed", Email: "ed@example.com"}, Home: []DomesticPlan{{Name: "Gold", Kind: "gold"}}},
		})
		var errs Errors
		if !errors.As(err, &errs) || len(errs) != 2 || ErrorCode(err) != ErrInvalid {
			t.Errorf("err = %v, want both subscribers refused", err)
		}
	})
}

func TestAddToCatalog(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	plans, err := s.AddToCatalog(ctx, []Plan{
		{Code: "EURO1", Name: "Euro 1", Region: "Europe", DataMB: 1000, IMSIProfile: 7, PriceCents: 900, Active: true, Destinations: []string{"FR", "DE"}},
		{Code: "EURO5", Name: "Euro 5", Region: "Europe", DataMB: 5000, IMSIProfile: 7, PriceCents: 2900, Destinations: []string{"ES"}},
	}, Login{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		got, err := s.Plan(ctx, plans[0].ID)
		if err != nil || got.Name != "Euro 1" || got.ValidityDays != 30 || !got.Active || len(got.Destinations) != 2 || got.Destinations[0] != "DE" {
			t.Errorf("Plan = %+v, %v", got, err)
		}
		if sold, err := s.Plans(ctx, false); err != nil || len(sold) != 1 {
			t.Errorf("plans on sale = %+v, %v, want Euro 1 only", sold, err)
		}
	})
	for name, tc := range map[string]struct {
		plan Plan
		code Code
	}{
		"UnknownDestination": {Plan{Code: "X1", Name: "X", Region: "X", DataMB: 1, IMSIProfile: 2, Destinations: []string{"XX"}}, ErrInvalid},
		"NoDestination":      {Plan{Code: "X2", Name: "X", Region: "X", DataMB: 1, IMSIProfile: 2}, ErrInvalid},
		"Profile":            {Plan{Code: "X3", Name: "X", Region: "X", DataMB: 1, IMSIProfile: 3, Destinations: []string{"FR"}}, ErrInvalid},
		"Validity":           {Plan{Code: "X4", Name: "X", Region: "X", DataMB: 1, IMSIProfile: 2, ValidityDays: 7, Destinations: []string{"FR"}}, ErrInvalid},
		"CodeTaken":          {Plan{Code: "EURO1", Name: "X", Region: "X", DataMB: 1, IMSIProfile: 2, Destinations: []string{"FR"}}, ErrConflict},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.AddToCatalog(ctx, []Plan{tc.plan}, Login{})
			if got := ErrorCode(err); got != tc.code {
				t.Errorf("err = %v (%s), want %s", err, got, tc.code)
			}
		})
	}
	t.Run("WithdrawPlan", func(t *testing.T) {
		if _, err := s.WithdrawPlan(ctx, plans[0].Code, Login{}); err != nil {
			t.Fatal(err)
		}
		if _, err := sellablePlan(ctx, s.read, plans[0].ID); ErrorCode(err) != ErrInvalid {
			t.Errorf("a withdrawn plan is still sold: %v", err)
		}
		if _, err := s.WithdrawPlan(ctx, "NOSUCH", Login{}); ErrorCode(err) != ErrNotFound {
			got := ErrorCode(err)
			t.Errorf("withdraw an unknown plan: %s, want %s", got, ErrNotFound)
		}
	})
}
