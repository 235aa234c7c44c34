package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Backups: a consistent copy of a live database, made while a portal
// serves, and the restore that checks a copy before it replaces anything.

// CopyReport is what a backup wrote, or what restore found in a copy.
type CopyReport struct {
	Path          string
	Bytes         int64
	SchemaVersion int
	Subscribers   int
	ESIMs         int
	Allocated     int
	LinePlans     int
	QueuedEmails  int
	// StockRecounted is set when restore found the copy's stock counts
	// different from a full count and made them again.
	StockRecounted bool
	Took           time.Duration
}

// Summary reads "schema version 6, 100000 subscribers, 1000000 eSIMs (237998 allocated), …".
func (r CopyReport) Summary() string {
	return fmt.Sprintf("schema version %d, %d subscribers, %d eSIMs (%d allocated), %d plans on lines, %d emails queued, %.1f MB",
		r.SchemaVersion, r.Subscribers, r.ESIMs, r.Allocated, r.LinePlans, r.QueuedEmails, float64(r.Bytes)/1e6)
}

// Backup writes a consistent copy of the database at src to dst while
// portals and commands go on using it: SQLite's VACUUM INTO reads the
// database in one read transaction, which in WAL mode holds up no writer,
// and writes a compact copy with no WAL of its own. The copy goes to
// dst+".partial", is synced to the disk, and only then takes dst's name,
// so a dst that exists is always a whole backup. An existing dst is refused.
func Backup(ctx context.Context, src, dst string) (CopyReport, error) {
	start := time.Now()
	if _, err := os.Stat(src); err != nil {
		return CopyReport{}, fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Stat(dst); err == nil {
		return CopyReport{}, fmt.Errorf("backup: %s already exists", dst)
	}
	// A connection of its own, without the store: no migration may run on
	// a database a portal of another version serves.
	conn, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return CopyReport{}, err
	}
	defer conn.Close()
	c, err := conn.Conn(ctx)
	if err != nil {
		return CopyReport{}, fmt.Errorf("backup %s: %w", src, err)
	}
	defer c.Close()
	// VACUUM INTO makes the copy in the source's auto_vacuum mode, or in the
	// one its connection asked for: the copy of an older database is made
	// incremental, so that restoring it gives the file the mode that returns
	// space (retention.go). Asked of a file that has the mode, the pragma
	// would write to it; and a copy without the mode is still whole, so a
	// refusal (a read-only file) leaves the copy as the source is.
	var mode int
	if err := c.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err == nil && mode == 0 {
		c.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`)
	}
	partial := dst + ".partial"
	os.Remove(partial) // the leftover of a backup cut short
	if _, err := c.ExecContext(ctx, `VACUUM INTO ?`, partial); err != nil {
		os.Remove(partial)
		return CopyReport{}, fmt.Errorf("backup %s: %w", src, err)
	}
	if err := syncFile(partial); err != nil {
		os.Remove(partial)
		return CopyReport{}, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(partial, dst); err != nil {
		os.Remove(partial)
		return CopyReport{}, fmt.Errorf("backup: %w", err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return CopyReport{}, fmt.Errorf("backup: %w", err)
	}
	rep, err := countCopy(ctx, dst)
	rep.Took = time.Since(start)
	return rep, err
}

// CheckCopy checks a copy of a database before anything relies on it: the
// whole file reads back (integrity_check), every foreign key points at its
// row, the schema is one this program can open, and the stock counts agree
// with a full count (StockRecounted is set when they do not; restore makes
// them again). It only reads the file.
func CheckCopy(ctx context.Context, path string) (CopyReport, error) {
	if _, err := os.Stat(path); err != nil {
		return CopyReport{}, err
	}
	conn, err := openCopy(path)
	if err != nil {
		return CopyReport{}, err
	}
	defer conn.Close()
	var integrity string
	if err := conn.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&integrity); err != nil {
		return CopyReport{}, fmt.Errorf("%s is not a database the portal can read: %w", path, err)
	}
	if integrity != "ok" {
		return CopyReport{}, fmt.Errorf("%s fails SQLite's integrity check: %s", path, integrity)
	}
	var broken int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&broken); err != nil {
		return CopyReport{}, err
	}
	if broken > 0 {
		return CopyReport{}, fmt.Errorf("%s has %d rows whose foreign keys point nowhere", path, broken)
	}
	rep, err := countCopy(ctx, path)
	if err != nil {
		return rep, err
	}
	latest, err := latestMigration()
	if err != nil {
		return rep, err
	}
	if rep.SchemaVersion > latest {
		return rep, fmt.Errorf("%s has schema version %d, newer than this program's %d: restore it with the portal that made it", path, rep.SchemaVersion, latest)
	}
	var kept bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'esim_stock')`).Scan(&kept); err != nil {
		return rep, err
	}
	if kept { // a copy older than the kept counts gets them when the portal opens it
		rep.StockRecounted = checkStock(ctx, conn) != nil
	}
	return rep, nil
}

// countCopy reads what a copy holds.
func countCopy(ctx context.Context, path string) (CopyReport, error) {
	rep := CopyReport{Path: path}
	if fi, err := os.Stat(path); err == nil {
		rep.Bytes = fi.Size()
	}
	conn, err := openCopy(path)
	if err != nil {
		return rep, err
	}
	defer conn.Close()
	var isPortal bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'schema_migrations')
		AND EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'esims')`).Scan(&isPortal); err != nil {
		return rep, fmt.Errorf("%s is not a database the portal can read: %w", path, err)
	}
	if !isPortal {
		return rep, fmt.Errorf("%s is not a database of the portal: it has no schema version or no eSIMs table", path)
	}
	err = conn.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(version), 0) FROM schema_migrations),
		(SELECT count(*) FROM subscribers), (SELECT count(*) FROM esims),
		(SELECT count(*) FROM esims WHERE state = 'allocated'), (SELECT count(*) FROM esim_plans),
		(SELECT count(*) FROM outbox WHERE state = 'queued')`).
		Scan(&rep.SchemaVersion, &rep.Subscribers, &rep.ESIMs, &rep.Allocated, &rep.LinePlans, &rep.QueuedEmails)
	if err != nil {
		return rep, fmt.Errorf("count %s: %w", path, err)
	}
	return rep, nil
}

// openCopy opens a copy to read it and nothing else.
func openCopy(path string) (*sql.DB, error) {
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	return conn, nil
}

// Restore replaces the database at target with the copy at src, once the
// copy passes CheckCopy, and refuses while a portal serves target: it holds
// target's lock for the whole restore, so none can start meanwhile either.
// The database it replaces is kept beside it, renamed with
// ".before-restore-" and the time, with its WAL, should the copy turn out
// to be the wrong one. The portal brings an older copy's schema up to date
// when it opens it.
func Restore(ctx context.Context, src, target string, now time.Time) (CopyReport, string, error) {
	start := time.Now()
	lock, err := LockDatabase(target, fmt.Sprintf("restore, pid %d, since %s", os.Getpid(), now.UTC().Format(time.RFC3339)))
	if err != nil {
		return CopyReport{}, "", err
	}
	defer lock.Release()
	if same, _ := sameFile(src, target); same {
		return CopyReport{}, "", fmt.Errorf("restore: %s is the database itself", src)
	}
	rep, err := CheckCopy(ctx, src)
	if err != nil {
		return rep, "", fmt.Errorf("nothing was replaced: %w", err)
	}
	restoring := target + ".restoring"
	if err := copyFile(src, restoring); err != nil {
		os.Remove(restoring)
		return rep, "", fmt.Errorf("nothing was replaced: %w", err)
	}
	if rep.StockRecounted {
		if err := recountCopy(ctx, restoring); err != nil {
			os.Remove(restoring)
			return rep, "", fmt.Errorf("nothing was replaced: %w", err)
		}
	}
	var kept string
	if _, err := os.Stat(target); err == nil {
		kept = target + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(target+suffix, kept+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				os.Remove(restoring)
				return rep, "", fmt.Errorf("restore: set aside %s: %w", target+suffix, err)
			}
		}
	}
	if err := os.Rename(restoring, target); err != nil {
		return rep, kept, fmt.Errorf("restore: %w (the database it replaces is %s)", err, kept)
	}
	if err := syncDir(filepath.Dir(target)); err != nil {
		return rep, kept, err
	}
	rep.Path, rep.Took = target, time.Since(start)
	return rep, kept, nil
}

// recountStock in a copy, outside any store.
func recountCopy(ctx context.Context, path string) error {
	conn, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := recountStock(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) { // some file systems cannot sync a directory
		return err
	}
	return nil
}

func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}
