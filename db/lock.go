package db

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// One portal per database: a portal holds an exclusive lock on a file
// beside the database (its path with ".lock" added) for as long as it runs,
// and a second portal started on the same database is refused with a
// message that says who holds it. The lock, not a lease of the outbox, is
// what keeps two portals from sending the same email, and it covers all the
// rest that assumes one portal: the committer as the only writer of its
// process, the backups on a timer. The kernel lets go of it when the process
// ends, however it ends (kill -9 included), so there is nothing to clean up
// after a crash. Commands (users add, inventory import, backup) do not take
// it: they run beside a portal, as SQLite allows; restore takes it, so it
// never replaces the database of a running portal.

// ErrLocked is the refusal of a lock another process holds.
var ErrLocked = errors.New("the database is in use by another portal")

// Lock is a portal's hold on its database.
type Lock struct {
	f *os.File
}

// LockPath is the lock file of the database at path.
func LockPath(path string) string { return path + ".lock" }

// LockDatabase takes the lock of the database at path for holder, which is
// written into the lock file for whoever is refused (such as "portal, pid
// 4242, on 127.0.0.1:8080 since 2026-12-01T09:00:00Z"). It fails with
// ErrLocked, and the holder's words, while another process holds it.
func LockDatabase(path, holder string) (*Lock, error) {
	f, err := os.OpenFile(LockPath(path), os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
		// A database that cannot be written (a read-only mount, a file of
		// another user) is still locked, through the lock file as it is:
		// flock needs no write permission. The portal then serves its pages
		// and says in /readyz that the database takes no write.
		f, err = os.Open(LockPath(path))
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		held, _ := os.ReadFile(LockPath(path))
		f.Close()
		if errors.Is(err, errWouldBlock) {
			who := strings.TrimSpace(string(held))
			if who == "" {
				who = "another process"
			}
			return nil, fmt.Errorf("%w: %s is held by %s (lock file %s); stop that portal first, or give this one another -db",
				ErrLocked, path, who, LockPath(path))
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(holder+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release lets go of the lock. The lock file stays: removing it would let a
// portal starting at that moment lock a file no other will look at.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := l.f.Close() // closing the file releases the lock
	l.f = nil
	return err
}
