//go:build unix

package db

import (
	"errors"
	"os"
	"syscall"
)

var errWouldBlock = syscall.EWOULDBLOCK

// lockFile takes an exclusive flock on f without waiting. flock, not fcntl:
// an fcntl lock belongs to the process and is lost when any descriptor of
// the file closes, and SQLite's own locks on the database are fcntl locks,
// which is why the lock is on a file of its own.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
