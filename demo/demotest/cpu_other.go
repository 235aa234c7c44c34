//go:build !unix

package demotest

import "time"

// CPU is the CPU time the process has used; 0 where it cannot be read.
func CPU() time.Duration { return 0 }
