package db

import (
	"context"
	"log/slog"
	"sync"
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

// TestPrune checks that the scheduled prune deletes ended sessions and old
// form tokens, by the store's clock, and keeps the rest.
func TestPrune(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := start
	s.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	setNow := func(t time.Time) {
		mu.Lock()
		defer mu.Unlock()
		now = t
	}
	agent, err := s.CreateLogin(ctx, "agent@example.com", "Agent", RoleAgent, "agent-password")
	if err != nil {
		t.Fatal(err)
	}
	save := func(t *testing.T, after time.Duration, ids ...string) {
		t.Helper()
		setNow(start.Add(after))
		for _, id := range ids {
			if err := s.SaveSession(ctx, id, agent.ID, []byte("values")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Sessions: one used 10 minutes ago, one idle 40 minutes, one still used
	// but signed in 13 hours ago.
	save(t, 0, "signed-in-long-ago")
	save(t, 12*time.Hour+20*time.Minute, "idle")
	save(t, 12*time.Hour+50*time.Minute, "signed-in-long-ago", "live")
	// Form tokens: one of 25 hours ago, one of an hour ago.
	for _, tok := range []struct {
		token string
		age   time.Duration
	}{{"old", 25 * time.Hour}, {"recent", time.Hour}} {
		if _, err := s.write.ExecContext(ctx, `INSERT INTO form_submissions (token, login_id, result, created_at) VALUES (?, ?, '{}', ?)`,
			tok.token, agent.ID, formatTime(start.Add(13*time.Hour-tok.age))); err != nil {
			t.Fatal(err)
		}
	}
	setNow(start.Add(13 * time.Hour))
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.PruneEvery(ctx, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	defer func() {
		cancel()
		<-done
	}()
	deadline := time.Now().Add(5 * time.Second)
	for count(t, s, `SELECT count(*) FROM sessions`)+count(t, s, `SELECT count(*) FROM form_submissions`) > 2 {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s of pruning: %d sessions, %d form tokens; want 1 of each", count(t, s, `SELECT count(*) FROM sessions`),
				count(t, s, `SELECT count(*) FROM form_submissions`))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := count(t, s, `SELECT count(*) FROM sessions WHERE id = 'live'`); n != 1 {
		t.Errorf("the live session was pruned")
	}
	if n := count(t, s, `SELECT count(*) FROM form_submissions WHERE token = 'recent'`); n != 1 {
		t.Errorf("the recent form token was pruned")
	}
	// The schedule goes on: once the live session has been idle too, it goes.
	setNow(start.Add(13*time.Hour + SessionIdle + time.Minute))
	for count(t, s, `SELECT count(*) FROM sessions`) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the session idle for %s is still there", SessionIdle+time.Minute)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
