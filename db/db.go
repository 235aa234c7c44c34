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
	s := &Store{write: write, Now: func() time.Time { return time.Now().UTC() }}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(path, "_pragma=query_only(1)"))
	if err != nil {
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

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// inTx runs fn in one IMMEDIATE transaction on the writer connection: it takes
// the write lock at BEGIN, so the reads fn makes cannot go stale before its writes.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
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
