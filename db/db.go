// Package db is the portal's SQLite store: it owns every SQL statement and
// every transaction, and enforces the domain rules that must hold atomically.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Pragmas set on every connection. They are per connection, so they go in the
// DSN: a single db.Exec would reach only one connection of the pool.
var pragmas = []string{
	"foreign_keys(1)",
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	// An allocation must survive a power cut.
	"synchronous(FULL)",
}

// Store is the portal's database: one writer connection, so writers queue
// instead of failing with SQLITE_BUSY, and a pool of read-only connections.
type Store struct {
	write *sql.DB
	read  *sql.DB
	// Now is the clock; tests replace it to move through a plan's 30 days.
	Now func() time.Time
	// Mail renders the emails a change queues in the outbox.
	Mail MailRenderer
	// listLimits, when set, replaces the eSIM List's defaultListLimits.
	listLimits *listLimits

	txs    chan txRequest // changes waiting for the committer
	closed chan struct{}
	done   chan struct{} // closed when the committer has stopped
}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	write, err := sql.Open("sqlite", dsn(path, "_txlock=immediate"))
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	s := &Store{write: write, Now: func() time.Time { return time.Now().UTC() },
		txs: make(chan txRequest), closed: make(chan struct{}), done: make(chan struct{})}
	go s.commitLoop()
	if err := s.migrate(ctx); err != nil {
		s.stopCommitter()
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(path, "_pragma=query_only(1)"))
	if err != nil {
		s.stopCommitter()
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(8)
	s.read = read
	return s, nil
}

func dsn(path string, extra ...string) string {
	params := make([]string, 0, len(pragmas)+len(extra))
	for _, p := range pragmas {
		params = append(params, "_pragma="+url.QueryEscape(p))
	}
	params = append(params, extra...)
	return "file:" + path + "?" + strings.Join(params, "&")
}

// Close stops the committer and closes both pools.
func (s *Store) Close() error {
	s.stopCommitter()
	return errors.Join(s.read.Close(), s.write.Close())
}

func (s *Store) stopCommitter() {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	<-s.done
}

var errClosed = errors.New("db: the store is closed")

// txRequest is a change waiting for the committer, and where its outcome goes.
type txRequest struct {
	ctx    context.Context
	fn     func(tx *sql.Tx) error
	result chan error
}

// maxBatch bounds how many changes share one commit.
const maxBatch = 64

// inTx runs fn as one transaction of its own: all of fn's changes are made, or
// none. fn runs on the writer connection inside an IMMEDIATE transaction, which
// holds the write lock from BEGIN, so what fn reads cannot go stale before it
// writes. inTx returns once the change is durable.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	req := txRequest{ctx: ctx, fn: fn, result: make(chan error, 1)}
	select {
	case s.txs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return errClosed
	}
	return <-req.result
}

// commitLoop commits the changes inTx hands it. Changes that arrive while a
// commit is under way are run together in the next transaction, each inside
// a savepoint of its own, so a refused change rolls back alone, and they
// share one commit: one fsync for the batch instead of one per change, with
// synchronous=FULL kept.
func (s *Store) commitLoop() {
	defer close(s.done)
	batch := make([]txRequest, 0, maxBatch)
	for {
		select {
		case req := <-s.txs:
			batch = append(batch[:0], req)
		case <-s.closed:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case req := <-s.txs:
				batch = append(batch, req)
			default:
				break more
			}
		}
		s.commitBatch(batch)
	}
}

func (s *Store) commitBatch(batch []txRequest) {
	errs := make([]error, len(batch))
	finish := func() {
		for i, req := range batch {
			req.result <- errs[i]
		}
	}
	defer finish()
	tx, err := s.write.BeginTx(context.Background(), nil)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return
	}
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := tx.Exec(`SAVEPOINT change`); err != nil {
			errs[i] = err
			continue
		}
		errs[i] = runChange(req, tx)
		if errs[i] != nil {
			if _, err := tx.Exec(`ROLLBACK TO change`); err != nil {
				// SQLite gave up the whole transaction: nothing of the batch stands.
				tx.Rollback()
				for j := range errs {
					if errs[j] == nil {
						errs[j] = fmt.Errorf("db: transaction lost after another change failed: %w", err)
					}
				}
				return
			}
		}
		if _, err := tx.Exec(`RELEASE change`); err != nil && errs[i] == nil {
			errs[i] = err
		}
	}
	if err := tx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
}

// runChange runs one change; a panic in it fails the change, not the committer.
func runChange(req txRequest, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("db: change panicked: %v", p)
		}
	}()
	return req.fn(tx)
}

// migrate applies the embedded migrations that the database has not seen,
// each in its own transaction, and refuses a database from a newer version.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	var current int
	if err := s.write.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	latest := 0
	for _, f := range files {
		v, err := migrationVersion(f)
		if err != nil {
			return err
		}
		latest = max(latest, v)
	}
	if current > latest {
		return fmt.Errorf("the database has schema version %d, newer than this program's %d: use a newer build of the portal", current, latest)
	}
	for _, f := range files {
		v, _ := migrationVersion(f)
		if v <= current {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, formatTime(s.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", f, err)
		}
	}
	return nil
}

func migrationVersion(name string) (int, error) {
	base := strings.TrimPrefix(name, "migrations/")
	num, _, _ := strings.Cut(base, "_")
	v, err := strconv.Atoi(num)
	if err != nil {
		return 0, fmt.Errorf("migration %s: name must start with its version number", name)
	}
	return v, nil
}
