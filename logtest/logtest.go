// Package logtest collects the log of what a test runs, a server's
// goroutines or a program as a process of its own, as it is written: safe
// to write from many goroutines while the test reads it, and able to wait
// for a line. It imports nothing of the project, so that every test can.
package logtest

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// Buffer is a log written while it is read. Its zero value is ready to use.
type Buffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written *sync.Cond // on mu, told of each write; made on first use
}

// cond is the condition writes signal; mu must be held.
func (b *Buffer) cond() *sync.Cond {
	if b.written == nil {
		b.written = sync.NewCond(&b.mu)
	}
	return b.written
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.cond().Broadcast()
	return b.buf.Write(p)
}

// String is all that has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Len is the length of what has been written so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// WaitFor waits until a line that match accepts has been written, and
// returns it; false if none came within timeout. A write wakes it, so it
// waits for the log rather than for time.
func (b *Buffer) WaitFor(match func(line string) bool, timeout time.Duration) (string, bool) {
	start := time.Now()
	wake := time.AfterFunc(timeout, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.cond().Broadcast()
	})
	defer wake.Stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		for line := range strings.Lines(b.buf.String()) {
			if match(line) {
				return line, true
			}
		}
		if time.Since(start) >= timeout {
			return "", false
		}
		b.cond().Wait()
	}
}
