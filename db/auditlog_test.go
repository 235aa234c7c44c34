package db

import (
	"context"
	"fmt"
	"testing"
)

func TestAuditLogPaging(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 0)
	err := f.s.inTx(ctx, func(ctx context.Context, tx *change) error {
		for i := range 120 {
			if err := audit(ctx, tx, f.agent, "add_line", f.subs[0], "", fmt.Sprint(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	filter := AuditFilter{Subscriber: "AC-000001"}
	var seen []int64
	page, err := f.s.AuditLog(ctx, filter, 0, 0, 50)
	for err == nil {
		for _, e := range page.Entries {
			seen = append(seen, e.ID)
		}
		if page.Older == 0 {
			break
		}
		page, err = f.s.AuditLog(ctx, filter, page.Older, 0, 50)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 120 {
		t.Fatalf("paging older saw %d entries, want 120", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			t.Fatalf("entries out of order at %d: %d after %d", i, seen[i], seen[i-1])
		}
	}
	// From the last page back to the first, newer each time.
	back, err := f.s.AuditLog(ctx, filter, 0, seen[100], 50)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := back.Entries[0].ID, seen[50]; got != want || back.Entries[49].ID != seen[99] {
		t.Errorf("newer page = %d…%d, want %d…%d", got, back.Entries[49].ID, want, seen[99])
	}
	if back.Newer == 0 || back.Older == 0 {
		t.Errorf("middle page cursors = %+v, want both", back)
	}
	if n := len(mustAudit(t, f.s, AuditFilter{Subscriber: "AC-999999"})); n != 0 {
		t.Errorf("another subscriber's filter found %d entries", n)
	}
}

func mustAudit(t *testing.T, s *Store, f AuditFilter) []AuditEntry {
	var out []AuditEntry
	if err := s.EachAuditEntry(context.Background(), f, func(e AuditEntry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}
