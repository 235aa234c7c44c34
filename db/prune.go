package db

import (
	"context"
	"log/slog"
	"time"
)

// FormTokenLifetime is how long a one-time form token keeps the result of
// its first submit: far longer than a form stays open, since a session ends
// within SessionAbsolute.
const FormTokenLifetime = 24 * time.Hour

// Pruned is what Prune deleted.
type Pruned struct {
	Sessions   int64 // ended: idle too long, or past their absolute lifetime
	FormTokens int64 // past FormTokenLifetime
}

// Prune deletes the sign-in sessions that have ended and the one-time form
// tokens past their lifetime. A session is also deleted when it is next
// used after it ended (Session); Prune takes the ones nobody comes back to.
func (s *Store) Prune(ctx context.Context) (_ Pruned, err error) {
	defer func() { err = failed("prune", err) }()
	var p Pruned
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?`,
			formatTime(tx.now.Add(-SessionIdle)), formatTime(tx.now.Add(-SessionAbsolute)))
		if err != nil {
			return err
		}
		if p.Sessions, err = res.RowsAffected(); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM form_submissions WHERE created_at < ?`, formatTime(tx.now.Add(-FormTokenLifetime)))
		if err != nil {
			return err
		}
		p.FormTokens, err = res.RowsAffected()
		return err
	})
	return p, err
}

// PruneEvery runs Prune now and then every interval, until ctx ends.
func (s *Store) PruneEvery(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		p, err := s.Prune(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("prune sessions and form tokens", "err", err)
		case p.Sessions > 0 || p.FormTokens > 0:
			log.Info("pruned", "sessions", p.Sessions, "form_tokens", p.FormTokens)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
