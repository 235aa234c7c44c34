// Package db is the portal's SQLite store: it owns every SQL statement and
// every transaction of the portal. The domain rules are in db/rules, with no
// SQL: an operation loads what a rule needs, calls it with the time of its
// change and writes what the rule decided, in one transaction, so the rules
// hold atomically. Made-up data sets are loaded through its operations, or in
// bulk through Store.Load (package demo).
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// The writer's durability and page cache, set on every connection and
// restored after a bulk load turns them up (load.go).
const (
	defaultSynchronous = "FULL"
	defaultCacheSize   = "-65536" // KiB: 64 MB
)

// Pragmas set on every connection. They are per connection, so they go in the
// DSN: a single db.Exec would reach only one connection of the pool.
var pragmas = []string{
	"foreign_keys(1)",
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	// An allocation must survive a power cut.
	"synchronous(" + defaultSynchronous + ")",
	// 64 MB of pages per connection instead of 2: at a million eSIMs a batch
	// of usage touches thousands of pages of plans and indexes.
	"cache_size(" + defaultCacheSize + ")",
	// The commit that takes the WAL past this many pages copies them into
	// the database file before it returns: 1000 (SQLite's default) made
	// that commit the longest change by far, 86–122 ms on a loaded machine
	// (BenchmarkRollUpUsage). A quarter of it keeps each such commit short;
	// the pages copied in all are about the same.
	"wal_autocheckpoint(" + strconv.Itoa(walCheckpointPages) + ")",
}

// walCheckpointPages is how many pages the WAL holds before a commit
// checkpoints it.
const walCheckpointPages = 250

// Store is the portal's database: one writer connection, so writers queue
// instead of failing with SQLITE_BUSY, and a pool of read-only connections.
type Store struct {
	write *sql.DB
	read  *readPool
	// Now is the clock; tests replace it to move through a plan's 30 days.
	Now func() time.Time
	// Mail renders the emails a change queues in the outbox.
	Mail MailRenderer
	// Notices says when the notices about a plan's data and end go out.
	Notices NoticeSettings
	// Retention says how long usage records and email texts are kept whole
	// (retention.go).
	Retention RetentionSettings
	// SMDP is set when an SM-DP+ is configured: Add line and Replace eSIM
	// then order the profile over ES2+ and hold the QR email until it is
	// released (provisioning.go).
	SMDP bool
	// PasswordCost is bcrypt's work factor for new passwords; tests lower it.
	PasswordCost int
	// dummyHash is compared against when a sign-in names no login, so a wrong
	// email takes as long as a wrong password and does not tell which logins
	// exist. It is made on first use: a hash costs a quarter second, which
	// every start of the program and every command would otherwise pay.
	dummyHash func() []byte
	// listLimits, when set, replaces the eSIM List's defaultListLimits.
	listLimits *listLimits
	// Observe, when set, is told of every batch the committer commits: how
	// many changes shared it and how long each waited for the committer. It
	// runs on the committer's goroutine, so it must be quick (a Prometheus
	// histogram's Observe is); set it before the store is used. A func
	// rather than metrics of the store's own keeps db free of any metrics
	// library.
	Observe func(Batch)

	stmts  *writeStmts    // the committer's statements
	txs    chan txRequest // changes waiting for the committer
	closed chan struct{}
	done   chan struct{} // closed when the committer has stopped
}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	writeDSN := dsn(path, "_txlock=immediate")
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		// Space freed by the retention pass goes back to the file system
		// (retention.go). The mode takes only on a file still empty, so it
		// comes before journal_mode, which writes the first page; set on a
		// file that has it, it would write (a read-only file refuses). An
		// older database keeps none until a restored backup (made with it,
		// backup.go) replaces it.
		writeDSN = strings.Replace(writeDSN, "?", "?_pragma=auto_vacuum(2)&", 1)
	}
	write, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	s := &Store{write: write, Now: func() time.Time { return time.Now().UTC() },
		stmts: newWriteStmts(), txs: make(chan txRequest), closed: make(chan struct{}), done: make(chan struct{})}
	s.PasswordCost = DefaultPasswordCost
	s.Notices = DefaultNotices
	s.Retention = DefaultRetention
	s.dummyHash = sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("not a real password"), s.PasswordCost)
		return h
	})
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
	// Every connection stays open: database/sql keeps 2 idle by default, and
	// one opened anew runs its pragmas and prepares its statements again.
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	s.read = &readPool{DB: read, stmts: map[string]*sql.Stmt{}}
	// A first load of subscribers that crashed left some unindexed for
	// search (billing_load.go): they are indexed before anything else.
	var pending bool
	err = s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM subscriber_search_pending)`).Scan(&pending)
	if err == nil && pending {
		err = s.CatchUpSearchIndex(ctx)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
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
func (s *Store) Close() (err error) {
	defer func() { err = failed("close store", err) }()
	s.stopCommitter()
	s.stmts.close()
	return errors.Join(s.read.close(), s.write.Close())
}

// readPool is the pool of read-only connections. Its queries are prepared
// once on each connection and kept: SQLite takes about as long to parse one
// of the List's statements as to run it.
type readPool struct {
	*sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt // by their text
}

// maxStatements bounds the statements a readPool keeps. The List puts its
// statements together from fragments, which make a few hundred texts at most.
const maxStatements = 1000

// QueryContext runs a query as a statement prepared once.
func (p *readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query of one row as a statement prepared once.
func (p *readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// stmt returns the prepared statement of the query, preparing it the first
// time; nil when it cannot be prepared (the query then fails as it is) or
// too many are kept. It does not hold the lock while it prepares: that waits
// for a connection, which a caller holding one for an open query and asking
// for another would never give back.
func (p *readPool) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.Lock()
	st, ok := p.stmts[query]
	full := len(p.stmts) >= maxStatements
	p.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if kept, ok := p.stmts[query]; ok {
		st.Close()
		return kept
	}
	p.stmts[query] = st
	return st
}

func (p *readPool) close() error {
	p.mu.Lock()
	for _, st := range p.stmts {
		st.Close()
	}
	p.stmts = nil
	p.mu.Unlock()
	return p.DB.Close()
}

func (s *Store) stopCommitter() {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	<-s.done
}

var (
	errClosed      = errors.New("db: the store is closed")
	errNestedWrite = errors.New("db: a change opened another change: call the helper that takes the *change instead")
)

// The committer: every write of the portal goes through inTx, which hands the
// change to one goroutine that owns the writer connection. Its rules:
//
//  1. Changes that arrive together share one IMMEDIATE transaction and one
//     commit (one fsync for the batch, synchronous=FULL kept), each in a
//     savepoint of its own, so a change that returns an error rolls back alone.
//  2. A change that the committer has taken runs to its end whatever its
//     caller does: it runs under context.WithoutCancel of the caller's context,
//     keeping only the caller's deadline. A client that hangs up therefore
//     cannot interrupt SQLite in the middle of a statement, which would roll
//     back the whole shared transaction. A caller that gives up before its
//     change is taken gets its context's error, and nothing of it is run.
//  3. If SQLite gives up the shared transaction all the same (a deadline, a
//     full disk), every other change of the batch is run again in a
//     transaction of its own, so no change fails for another's reason. A change
//     must therefore start from what it reads in its transaction, never from
//     what an earlier run of it left in Go variables.
//  4. A change cannot open another: inTx called inside a change fails at once
//     with errNestedWrite instead of waiting forever for the committer that is
//     running it. Helpers that write inside a change are plain functions that
//     take the *change.
//  5. A change reads the clock once, when it starts: c.now is its one time.

// change is one change running in the committer: the transaction it writes
// in, the one time it writes down, and what renders the emails it queues.
type change struct {
	*sql.Tx
	stmts   *txStmts // its batch's statements, prepared once
	now     time.Time
	mail    MailRenderer
	notices NoticeSettings
	smdp    bool
}

// inChange marks the context a change runs under (rule 4).
type inChange struct{}

// txRequest is a change waiting for the committer, and where its outcome goes.
type txRequest struct {
	ctx    context.Context
	fn     func(ctx context.Context, c *change) error
	result chan error
	queued time.Time // when inTx was called, by the monotonic clock
}

// Batch is one commit of the committer, as Store.Observe hears of it.
type Batch struct {
	// Waited is how long each change of the batch waited, from its inTx to
	// the moment the committer began to run it: the write queue.
	Waited []time.Duration
	// Took is the batch's time from BEGIN to the end of COMMIT, its fsync
	// included.
	Took time.Duration
	// Failed is set when the batch did not commit.
	Failed bool
}

// maxBatch bounds how many changes share one commit.
const maxBatch = 64

// inTx runs fn as one change of its own: all of fn's writes are made, or none.
// fn runs on the writer connection inside an IMMEDIATE transaction, which
// holds the write lock from BEGIN, so what fn reads cannot go stale before it
// writes. inTx returns once the change is durable. fn must use the context it
// is given, not its caller's.
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, c *change) error) error {
	if ctx.Value(inChange{}) != nil {
		return errNestedWrite
	}
	req := txRequest{ctx: ctx, fn: fn, result: make(chan error, 1), queued: time.Now()}
	select {
	case s.txs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return errClosed
	}
	return <-req.result
}

// commitLoop takes changes from inTx and commits them in batches (rule 1).
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
		errs, lost := s.commitBatch(batch)
		for i, req := range batch {
			if lost && errs[i] == nil && len(batch) > 1 {
				// Rule 3: the shared transaction is gone; run this one alone.
				rerun, _ := s.commitBatch(batch[i : i+1])
				errs[i] = rerun[0]
			}
			req.result <- errs[i]
		}
		s.stmts.prepare(s.write)
	}
}

// commitBatch runs the changes in one transaction, each in a savepoint, and
// commits it. lost reports that SQLite gave up the whole transaction, so the
// changes without an error of their own were not committed either.
func (s *Store) commitBatch(batch []txRequest) (errs []error, lost bool) {
	errs = make([]error, len(batch))
	began := time.Now()
	var waited []time.Duration
	committed := false
	if s.Observe != nil {
		waited = make([]time.Duration, len(batch))
		defer func() { s.Observe(Batch{Waited: waited, Took: time.Since(began), Failed: !committed}) }()
	}
	tx, err := s.write.BeginTx(context.Background(), nil)
	if err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("db: begin: %w", err)
		}
		return errs, false
	}
	stmts := s.stmts.forTx(tx)
	ctx := context.Background()
	for i, req := range batch {
		if waited != nil {
			waited[i] = time.Since(req.queued)
		}
		if _, err := stmts.exec(ctx, `SAVEPOINT change`); err != nil {
			errs[i] = err
			continue
		}
		errs[i] = s.runChange(req, stmts)
		if errs[i] != nil {
			if _, err := stmts.exec(ctx, `ROLLBACK TO change`); err != nil {
				tx.Rollback()
				return errs, true
			}
		}
		if _, err := stmts.exec(ctx, `RELEASE change`); err != nil && errs[i] == nil {
			errs[i] = err
		}
	}
	if err := tx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("db: commit: %w", err)
			}
		}
		return errs, false
	}
	committed = true
	return errs, false
}

// runChange runs one change under its caller's values and deadline but not
// its cancellation (rule 2); a panic in it fails the change, not the committer.
func (s *Store) runChange(req txRequest, stmts *txStmts) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("db: change panicked: %v", p)
		}
	}()
	ctx := context.WithValue(context.WithoutCancel(req.ctx), inChange{}, true)
	if deadline, ok := req.ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	return req.fn(ctx, &change{Tx: stmts.tx, stmts: stmts, now: s.Now(), mail: s.Mail, notices: s.Notices, smdp: s.SMDP})
}

// migrate applies the embedded migrations that the database has not seen,
// each in its own transaction, and refuses a database from a newer version.
// A migration is seen when its version is recorded, not when a later one
// is: one merged after a higher number was applied still runs.
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
	latest, err := latestMigration()
	if err != nil {
		return err
	}
	if current > latest {
		return fmt.Errorf("the database has schema version %d, newer than this program's %d: use a newer build of the portal", current, latest)
	}
	applied := map[int]bool{}
	rows, err := s.write.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, f := range files {
		v, _ := migrationVersion(f)
		if applied[v] {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		if err := s.applyMigration(ctx, v, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", f, err)
		}
	}
	return nil
}

// applyMigration runs one migration in a change of its own with foreign keys
// off, as SQLite's way of rebuilding a table asks, and checks them before the
// change commits. The writer pool has one connection, so the pragma reaches
// the connection the change runs on; it cannot be set inside a transaction.
func (s *Store) applyMigration(ctx context.Context, version int, body string) error {
	if _, err := s.write.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	defer s.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
	return s.inTx(ctx, func(ctx context.Context, c *change) error {
		if _, err := c.ExecContext(ctx, body); err != nil {
			return err
		}
		rows, err := c.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			return err
		}
		broken := rows.Next()
		rows.Close()
		if broken {
			return errors.New("it leaves rows whose foreign keys point nowhere")
		}
		_, err = c.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, formatTime(c.now))
		return err
	})
}

// latestMigration is the schema version this program's migrations bring a
// database to.
func latestMigration() (int, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return 0, err
	}
	latest := 0
	for _, f := range files {
		v, err := migrationVersion(f)
		if err != nil {
			return 0, err
		}
		latest = max(latest, v)
	}
	return latest, nil
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
