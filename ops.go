package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/carrier/esim-admin/db"
)

// fileCommand runs backup FILE or restore FILE on the database file.
func fileCommand(ctx context.Context, cfg config, cmd string, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: %s FILE", cmd)
	}
	if cmd == "backup" {
		rep, err := db.Backup(ctx, cfg.DB, args[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Backed up %s to %s in %s: %s.\n", cfg.DB, args[0], rep.Took.Round(time.Millisecond), rep.Summary())
		return nil
	}
	fmt.Fprintf(stdout, "Checking %s (integrity, foreign keys, schema version, stock counts)…\n", args[0])
	rep, kept, err := db.Restore(ctx, args[0], cfg.DB, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Restored %s from %s in %s: %s.\n", cfg.DB, args[0], rep.Took.Round(time.Millisecond), rep.Summary())
	if rep.StockRecounted {
		fmt.Fprintln(stdout, "The copy's stock counts did not match its eSIMs; they were counted again.")
	}
	if kept != "" {
		fmt.Fprintf(stdout, "The database it replaced is kept as %s.\n", kept)
	}
	return nil
}

// backupName is the name of a backup of the database at path made at t,
// such as esim-admin-20261201T093000Z.db: names sort by time.
func backupName(path string, t time.Time) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return base + "-" + t.UTC().Format("20060102T150405Z") + ".db"
}

// backups lists the backups of the database at path in dir, oldest first.
func backups(dir, path string) ([]string, error) {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), base+"-")
		stamp, isDB := strings.CutSuffix(stamp, ".db")
		if _, err := time.Parse("20060102T150405Z", stamp); ok && isDB && err == nil && e.Type().IsRegular() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

// backupLoop backs the database up into cfg.BackupDir every cfg.BackupEvery,
// keeping the newest cfg.BackupKeep. The first is due one interval after
// the newest backup already there, so a portal that restarts often still
// makes them.
func backupLoop(ctx context.Context, log *slog.Logger, cfg config, done func(time.Time, error)) {
	if err := os.MkdirAll(cfg.BackupDir, 0o700); err != nil {
		log.Error("backups are off: cannot make their folder", "dir", cfg.BackupDir, "err", err)
		done(time.Now(), err)
		return
	}
	next := time.Now()
	if have, err := backups(cfg.BackupDir, cfg.DB); err == nil && len(have) > 0 {
		if fi, err := os.Stat(have[len(have)-1]); err == nil {
			next = fi.ModTime().Add(cfg.BackupEvery)
		}
	}
	for {
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		rep, err := backupOnce(ctx, cfg, time.Now())
		switch {
		case err == nil:
			log.Info("backup made", "path", rep.Path, "bytes", rep.Bytes, "took", rep.Took)
		case ctx.Err() == nil:
			log.Error("backup failed", "dir", cfg.BackupDir, "err", err)
		}
		done(time.Now(), err)
		next = time.Now().Add(cfg.BackupEvery)
	}
}

// backupOnce makes one backup into cfg.BackupDir and removes the oldest
// beyond cfg.BackupKeep.
func backupOnce(ctx context.Context, cfg config, now time.Time) (db.CopyReport, error) {
	rep, err := db.Backup(ctx, cfg.DB, filepath.Join(cfg.BackupDir, backupName(cfg.DB, now)))
	if err != nil {
		return rep, err
	}
	have, err := backups(cfg.BackupDir, cfg.DB)
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, old := range have[:max(0, len(have)-cfg.BackupKeep)] {
		errs = append(errs, os.Remove(old))
	}
	return rep, errors.Join(errs...)
}
