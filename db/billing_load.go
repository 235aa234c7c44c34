package db

import (
	"context"
	"database/sql"
	"errors"
)

// A first load of billing's subscribers leaves their search index to its
// end (migration 0023): written row by row, by the triggers, the trigram
// index was a quarter of the load's time, and built in a few large
// statements it costs about half as much. The rules:
//
//   - Only a first load defers: the portal holds fewer than
//     firstLoadBelow subscribers. A nightly export into a full table keeps
//     the triggers, so a subscriber billing creates while it runs is
//     found at once.
//   - subscriber_search_pending.from_id is the first subscriber the load
//     left unindexed: every subscriber before it is in the index, kept in
//     step by the triggers; none from it on is. Each change keeps that
//     true, so a crash at any point leaves it true.
//   - CatchUpSearchIndex indexes the subscribers from from_id on, in changes
//     of searchChunk subscribers that each move from_id on, so the writer
//     is never held for long; the change that reaches the last subscriber
//     deletes the row, and the triggers index everything from then on.
//     The load calls it when it ends, and Open when the portal or a command
//     starts, so a load that crashed is indexed by the next start.
//
// While a first load runs, the subscribers it created are not yet found by
// search.

// firstLoadBelow is the size under which an import is a first load.
const firstLoadBelow = 10_000

// searchChunk is how many subscribers one change of CatchUpSearchIndex
// indexes: about a second of the writer on two shared cores.
const searchChunk = 50_000

// DeferSearchIndex starts a first load when the portal holds fewer than
// firstLoadBelow subscribers: the subscribers created from now on are
// indexed for search by CatchUpSearchIndex. It reports whether it did (or a
// load that started earlier still defers).
func (s *Store) DeferSearchIndex(ctx context.Context) (deferred bool, err error) {
	defer func() { err = failed("start a first load of subscribers", err) }()
	err = s.inTx(ctx, func(ctx context.Context, c *change) error {
		var held, next int64
		var pending bool
		if err := c.QueryRowContext(ctx, `SELECT count(*), coalesce(max(id), 0) + 1, EXISTS (SELECT 1 FROM subscriber_search_pending)
			FROM subscribers`).Scan(&held, &next, &pending); err != nil {
			return err
		}
		if deferred = pending; pending || held >= firstLoadBelow {
			return nil
		}
		deferred = true
		_, err := c.ExecContext(ctx, `INSERT INTO subscriber_search_pending (only, from_id) VALUES (1, ?)`, next)
		return err
	})
	return deferred, err
}

// CatchUpSearchIndex indexes for search the subscribers a first load left
// unindexed, if any, and ends the deferral.
func (s *Store) CatchUpSearchIndex(ctx context.Context) error {
	return s.catchUpSearchIndex(ctx, searchChunk)
}

// catchUpSearchIndex indexes chunk subscribers a change.
func (s *Store) catchUpSearchIndex(ctx context.Context, chunk int64) (err error) {
	defer func() { err = failed("index the loaded subscribers for search", err) }()
	for done := false; !done; {
		err := s.inTx(ctx, func(ctx context.Context, c *change) error {
			var from int64
			err := c.QueryRowContext(ctx, `SELECT from_id FROM subscriber_search_pending`).Scan(&from)
			if errors.Is(err, sql.ErrNoRows) {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			to := from + chunk
			if _, err := c.ExecContext(ctx, `INSERT INTO subscriber_search (rowid, account_number, name, email, phone_digits)
				SELECT id, account_number, name, email,
					replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '+', ''), '(', ''), ')', '')
				FROM subscribers WHERE id >= ? AND id < ?`, from, to); err != nil {
				return err
			}
			var last int64
			if err := c.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM subscribers`).Scan(&last); err != nil {
				return err
			}
			if done = to > last; done {
				_, err = c.ExecContext(ctx, `DELETE FROM subscriber_search_pending`)
			} else {
				_, err = c.ExecContext(ctx, `UPDATE subscriber_search_pending SET from_id = ?`, to)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
