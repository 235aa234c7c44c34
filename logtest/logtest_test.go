package logtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Writers on many goroutines lose no line, and a waiter sees the line it
// waits for once it is written.
func TestBufferConcurrentWritesAndWait(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { fmt.Fprintf(&b, "line %d\n", i) })
	}
	// The write of the last line, not WaitFor's timer, must end the wait:
	// a wait that ran into its timeout is a write that woke nobody.
	const timeout = time.Minute
	type result struct {
		line string
		ok   bool
		took time.Duration
	}
	waiting, got := make(chan struct{}), make(chan result, 1)
	go func() {
		close(waiting)
		start := time.Now()
		line, ok := b.WaitFor(func(l string) bool { return strings.HasPrefix(l, "last") }, timeout)
		got <- result{line, ok, time.Since(start)}
	}()
	wg.Wait()
	<-waiting
	fmt.Fprintln(&b, "last line")
	if r := <-got; r.line != "last line\n" || !r.ok || r.took >= timeout {
		t.Errorf("WaitFor returned %q, %v after %s; want the last line, found when it was written", r.line, r.ok, r.took)
	}
	if n := strings.Count(b.String(), "\n"); n != 21 {
		t.Errorf("%d lines written; want 21:\n%s", n, b.String())
	}
	if b.Len() != len(b.String()) {
		t.Errorf("Len %d, but the log is %d bytes", b.Len(), len(b.String()))
	}
}

// A line that never comes ends the wait at the timeout, with false.
func TestBufferWaitTimesOut(t *testing.T) {
	var b Buffer
	b.Write([]byte("something else\n"))
	if line, ok := b.WaitFor(func(l string) bool { return strings.Contains(l, "never") }, 10*time.Millisecond); ok {
		t.Errorf("WaitFor found %q in a log without it", line)
	}
}
