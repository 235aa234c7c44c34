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
	got := make(chan string, 1)
	go func() {
		line, _ := b.WaitFor(func(l string) bool { return strings.HasPrefix(l, "last") }, time.Minute)
		got <- line
	}()
	wg.Wait()
	fmt.Fprintln(&b, "last line")
	if line := <-got; line != "last line\n" {
		t.Errorf("WaitFor returned %q; want the last line", line)
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
