package db

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestNotifyLowStock(t *testing.T) {
	ctx := context.Background()
	set := newInsightsSet(t)
	s := set.s
	off, err := s.CreateLogin(ctx, "gone@example.com", "Gone Lead", RoleLead, "lead-password")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetLoginDisabled(ctx, off.ID, true, set.lead); err != nil {
		t.Fatal(err)
	}
	lowStock := func() []Email {
		t.Helper()
		es, err := s.queryEmails(ctx, true, `WHERE o.kind = 'low_stock' ORDER BY o.id`)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	// Profile 7 runs out in 7 days, within the 14 of the lead time; the
	// others do not. The disabled lead gets nothing.
	n, err := s.NotifyLowStock(ctx, 14)
	if err != nil || n != 1 {
		t.Fatalf("NotifyLowStock = %d, %v; want 1 email", n, err)
	}
	es := lowStock()
	if len(es) != 1 || es[0].To != set.lead.Email || es[0].LoginID != set.lead.ID || es[0].SubscriberID != 0 ||
		es[0].Message.Subject != "Low stock: profile 7" || es[0].State != EmailQueued {
		t.Fatalf("low-stock emails = %+v", es)
	}
	if p := count(t, s, `SELECT imsi_profile FROM outbox WHERE kind = 'low_stock'`); p != 7 {
		t.Errorf("the email is about profile %d, want 7", p)
	}
	t.Run("OncePerDay", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := s.NotifyLowStock(ctx, 14); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		set.now = insightsNow.Add(11*time.Hour + 59*time.Minute) // 23:59 the same day
		if n, err := s.NotifyLowStock(ctx, 14); err != nil || n != 0 {
			t.Errorf("again the same day: %d, %v", n, err)
		}
		if got := len(lowStock()); got != 1 {
			t.Errorf("%d low-stock emails after checks the same day, want 1", got)
		}
	})
	t.Run("NextDay", func(t *testing.T) {
		set.now = insightsNow.Add(12 * time.Hour) // midnight
		if n, err := s.NotifyLowStock(ctx, 14); err != nil || n != 1 {
			t.Errorf("the next day: %d, %v; want 1", n, err)
		}
	})
	t.Run("LongerLeadTime", func(t *testing.T) {
		// With 45 days of lead time profile 10 (42 days) is short too.
		if n, err := s.NotifyLowStock(ctx, 45); err != nil || n != 1 {
			t.Errorf("lead time 45 days: %d, %v; want 1 for profile 10", n, err)
		}
	})
	t.Run("TheWorkerAndTheLog", func(t *testing.T) {
		due, err := s.DueEmails(ctx, set.now, 100)
		if err != nil {
			t.Fatal(err)
		}
		var mine []Email
		for _, e := range due {
			if e.Kind == EmailLowStock {
				mine = append(mine, e)
			}
		}
		if len(mine) != 3 {
			t.Fatalf("%d low-stock emails due, want 3", len(mine))
		}
		if err := s.MarkEmailSent(ctx, mine[0], set.now); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkEmailAttemptFailed(ctx, mine[1].ID, "550 mailbox full", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RetryEmail(ctx, mine[1].ID, set.lead); err != nil {
			t.Fatalf("retry a low-stock email: %v", err)
		}
		e, err := s.EmailByID(ctx, mine[0].ID)
		if err != nil || e.State != EmailSent || e.SubscriberID != 0 {
			t.Errorf("EmailByID = %+v, %v", e, err)
		}
		for _, sub := range set.subs {
			es, err := s.EmailsForSubscriber(ctx, sub)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if e.Kind == EmailLowStock {
					t.Errorf("subscriber %d's email log has a low-stock email", sub)
				}
			}
		}
	})
}
