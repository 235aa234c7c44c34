package portaltest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carrier/esim-admin/logtest"
)

// The other way to run the portal: the built program as a process of its
// own, for the tests that stop it as a service manager does, kill it as a
// crash does, or run its commands beside it.

// BuildProgram builds the program in the test's working directory (the
// main package, when its tests call it) into a temporary folder and returns
// the binary's path. Without the go command the test is skipped.
func BuildProgram(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "esim-admin")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Command is the program at bin with args, in the test's environment less
// the developer's own ESIM_* settings, which must not reach the program.
func Command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ESIM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// Program is the program serving the portal as a process.
type Program struct {
	Cmd *exec.Cmd
	// Out is what the program has written to its standard output and error.
	Out    *logtest.Buffer
	exited chan struct{} // closed when the process has ended
	err    error         // Wait's result, once exited is closed
}

// StartProgram runs the program at bin on addr and dbPath, sending mail to
// smtpAddr (none when empty), with the extra flags, and waits until it
// serves. Whatever the test leaves running is killed at its end.
func StartProgram(t testing.TB, bin, addr, dbPath, smtpAddr string, extra ...string) *Program {
	t.Helper()
	args := []string{"-addr", addr, "-db", dbPath}
	if smtpAddr != "" {
		args = append(args, "-smtp", smtpAddr)
	}
	return StartCommand(t, Command(bin, append(args, extra...)...), addr)
}

// StartCommand starts cmd, the program set to serve on addr, and waits
// until it serves. Whatever the test leaves running is killed at its end,
// and the program's output is shown if the test failed.
func StartCommand(t testing.TB, cmd *exec.Cmd, addr string) *Program {
	t.Helper()
	p := &Program{Cmd: cmd, Out: &logtest.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Out, p.Out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	done := make(chan error, 1)
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
		done <- p.err
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", strings.Join(cmd.Args[1:], " "), p.Out.String())
		}
	})
	if err := WaitServing("http://"+addr+"/login", done, 20*time.Second); err != nil {
		t.Fatalf("start the portal: %v\noutput:\n%s", err, p.Out.String())
	}
	return p
}

// Stop ends the program as a service manager does, and expects a clean exit.
func (p *Program) Stop(t testing.TB) {
	t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("the portal did not stop within 15s of SIGTERM")
	}
	if p.err != nil {
		t.Fatalf("the portal stopped with %v; output:\n%s", p.err, p.Out.String())
	}
}

// Kill ends the program with SIGKILL, as a crash or an OOM kill does.
func (p *Program) Kill() error { return p.Cmd.Process.Signal(syscall.SIGKILL) }

// WaitKilled waits for the end of a program sent SIGKILL.
func (p *Program) WaitKilled(t testing.TB) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("the portal still runs 10s after SIGKILL")
	}
	if ws, ok := p.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the portal ended with %v, not by SIGKILL", p.Cmd.ProcessState)
	}
}

// FreeAddr finds a port nobody listens on. Another process could take it
// before the portal does, which is rare enough on a test machine.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("free the port: %v", err)
	}
	return addr
}

// WaitServing polls the sign-in page until it answers 200, or until the
// program ends early (done receives its end), with the reason it could not
// start.
func WaitServing(loginURL string, done <-chan error, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("the program ended before serving: %v", err)
		case <-tick.C:
		}
		res, err := client.Get(loginURL)
		if err != nil {
			last = err
			continue
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("GET %s: %s", loginURL, res.Status)
	}
	return fmt.Errorf("not serving after %s: %v", timeout, last)
}
