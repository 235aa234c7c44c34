package db

import (
	"context"
	"database/sql"
)

// Empty reports whether the database holds no login, subscriber, plan or
// eSIM yet: a new database, the only kind a made-up data set may go into.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var used bool
	err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM subscribers) OR EXISTS (SELECT 1 FROM logins)
		OR EXISTS (SELECT 1 FROM plans) OR EXISTS (SELECT 1 FROM esims)`).Scan(&used)
	return !used, err
}

// Bulk is for loading a large made-up data set fast, and for nothing else:
// it runs fn as one change of the committer, with the change's transaction
// in hand, so fn can insert many rows a statement. fn writes raw SQL, so none
// of the store's rules, audit entries or emails apply but those fn writes
// itself; whatever a person reads in its rows must come from the store's
// exported helpers (FormatTime, OrderNumber, CountryName, CleanLineName), so
// that it reads as the portal's own. fn must use the context it is given.
//
// For the load, the writer connection's page cache is made big enough to
// keep the indexes of a million random inserts in memory, and statement
// journals stay off the disk; both are set back after.
func (s *Store) Bulk(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if ctx.Value(inChange{}) != nil {
		return errNestedWrite // the writer connection is the change's: waiting for it would never end
	}
	// Pragmas, not writes: they go to the one writer connection between the
	// committer's transactions.
	for _, p := range []string{`PRAGMA cache_size = -262144`, `PRAGMA temp_store = MEMORY`} {
		if _, err := s.write.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	defer s.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA cache_size = -65536`)
	defer s.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = DEFAULT`)
	return s.inTx(ctx, func(ctx context.Context, c *change) error {
		if err := fn(ctx, c.Tx); err != nil {
			return err
		}
		// A bulk load inserts eSIMs behind the counts' back: count them again.
		return recountStock(ctx, c)
	})
}

// Unsynced is for making a large made-up data set in many changes, and for
// nothing else: until the returned func is called, a commit does not wait
// for the disk (synchronous=OFF), so a crash of the machine may lose or
// corrupt the database, and the writer keeps a larger page cache. A data
// set made this way is made again rather than recovered.
func (s *Store) Unsynced(ctx context.Context) (restore func(), err error) {
	// Pragmas, not writes: they go to the one writer connection between the
	// committer's transactions.
	for _, p := range []string{`PRAGMA synchronous = OFF`, `PRAGMA cache_size = -262144`} {
		if _, err := s.write.ExecContext(ctx, p); err != nil {
			return nil, err
		}
	}
	return func() {
		ctx := context.WithoutCancel(ctx)
		s.write.ExecContext(ctx, `PRAGMA synchronous = FULL`)
		s.write.ExecContext(ctx, `PRAGMA cache_size = -65536`)
	}, nil
}
