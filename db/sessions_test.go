package db

import (
	"context"
	"testing"
	"time"
)

func TestSessionRules(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := start
	s.Now = func() time.Time { return now }
	lastSeen := func(t *testing.T, id string) string {
		t.Helper()
		var at string
		if err := s.read.QueryRowContext(ctx, `SELECT last_seen_at FROM sessions WHERE id = ?`, id).Scan(&at); err != nil {
			t.Fatalf("last_seen_at of %s: %v", id, err)
		}
		return at
	}
	save := func(t *testing.T, id string) {
		t.Helper()
		if err := s.SaveSession(ctx, id, 0, []byte("values")); err != nil {
			t.Fatalf("SaveSession: %v", err)
		}
	}

	t.Run("OK", func(t *testing.T) {
		now = start
		save(t, "ok")
		row, ok, err := s.Session(ctx, "ok")
		if err != nil || !ok {
			t.Fatalf("Session = %v, %v; want the session", ok, err)
		}
		if got, want := string(row.Data), "values"; got != want {
			t.Errorf("Data = %q, want %q", got, want)
		}
		if !row.CreatedAt.Equal(start) || !row.LastSeenAt.Equal(start) {
			t.Errorf("created %v, last seen %v; want both %v", row.CreatedAt, row.LastSeenAt, start)
		}
	})
	t.Run("LastSeenStep", func(t *testing.T) {
		now = start
		save(t, "step")
		now = start.Add(30 * time.Second)
		if _, ok, err := s.Session(ctx, "step"); err != nil || !ok {
			t.Fatalf("Session = %v, %v", ok, err)
		}
		if got, want := lastSeen(t, "step"), formatTime(start); got != want {
			t.Errorf("30 s later last_seen_at = %s, want it kept at %s", got, want)
		}
		now = start.Add(2 * time.Minute)
		if _, ok, err := s.Session(ctx, "step"); err != nil || !ok {
			t.Fatalf("Session = %v, %v", ok, err)
		}
		if got, want := lastSeen(t, "step"), formatTime(now); got != want {
			t.Errorf("2 min later last_seen_at = %s, want %s", got, want)
		}
	})
	t.Run("Idle", func(t *testing.T) {
		now = start
		save(t, "idle")
		now = start.Add(SessionIdle + time.Second)
		if _, ok, err := s.Session(ctx, "idle"); err != nil || ok {
			t.Fatalf("Session after %v idle = %v, %v; want none", SessionIdle, ok, err)
		}
		if n := count(t, s, `SELECT count(*) FROM sessions WHERE id = 'idle'`); n != 0 {
			t.Errorf("the ended session is still stored")
		}
	})
	t.Run("Absolute", func(t *testing.T) {
		now = start
		save(t, "absolute")
		for now.Sub(start) <= SessionAbsolute {
			now = now.Add(SessionIdle - time.Minute)
			if _, ok, err := s.Session(ctx, "absolute"); err != nil {
				t.Fatalf("Session: %v", err)
			} else if ok != (now.Sub(start) <= SessionAbsolute) {
				t.Fatalf("Session %v after sign-in: live = %v", now.Sub(start), ok)
			}
		}
		if n := count(t, s, `SELECT count(*) FROM sessions WHERE id = 'absolute'`); n != 0 {
			t.Errorf("the ended session is still stored")
		}
	})
	t.Run("Deleted", func(t *testing.T) {
		now = start
		save(t, "deleted")
		if err := s.DeleteSession(ctx, "deleted"); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		if _, ok, err := s.Session(ctx, "deleted"); err != nil || ok {
			t.Fatalf("Session after DeleteSession = %v, %v; want none", ok, err)
		}
	})
}
