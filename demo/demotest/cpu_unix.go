//go:build unix

package demotest

import (
	"syscall"
	"time"
)

// CPU is the CPU time the process has used, user and system: what other
// work on a shared machine changes less than it changes wall time.
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
