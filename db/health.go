package db

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SchemaVersion returns the schema version the database is at and the one
// this program's migrations bring it to.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int, err error) {
	if err := s.read.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, 0, fmt.Errorf("store: unable to read the schema version: %w", err)
	}
	latest, err = latestMigration()
	return current, latest, err
}

// CheckWritable makes a write through the committer, like every change, and
// rolls it back: it fails when the database is read-only (a file that
// cannot be written, a read-only mount) or the writer is stuck, which a read
// would not show, and leaves nothing behind, so a probe every few seconds
// changes nothing.
func (s *Store) CheckWritable(ctx context.Context) error {
	err := s.inTx(ctx, func(ctx context.Context, c *change) error {
		if _, err := c.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('write_check', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, formatTime(c.now)); err != nil {
			return err
		}
		return errWriteChecked
	})
	if !errors.Is(err, errWriteChecked) {
		return fmt.Errorf("store: unable to write: %w", err)
	}
	return nil
}

// errWriteChecked rolls back CheckWritable's write.
var errWriteChecked = errors.New("db: write checked")

// OutboxStats is the state of the outbox, for the metrics.
type OutboxStats struct {
	Queued       int
	OldestQueued time.Time // zero when nothing is queued
	Failed       int       // failed for good
}

// OutboxStats counts the queued and failed emails and finds the oldest
// queued one, each from an index of its own (migration 0006).
func (s *Store) OutboxStats(ctx context.Context) (OutboxStats, error) {
	var st OutboxStats
	var oldest nullTime
	err := s.read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM outbox INDEXED BY outbox_queued WHERE state = 'queued'),
		(SELECT min(queued_at) FROM outbox INDEXED BY outbox_queued WHERE state = 'queued'),
		(SELECT count(*) FROM outbox INDEXED BY outbox_failed WHERE state = 'failed')`).Scan(&st.Queued, &oldest, &st.Failed)
	if err != nil {
		return OutboxStats{}, fmt.Errorf("store: unable to read the outbox's state: %w", err)
	}
	st.OldestQueued = oldest.Time
	return st, nil
}
