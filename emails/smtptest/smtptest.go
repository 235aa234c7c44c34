// Package smtptest runs an in-process SMTP server for tests: it keeps every
// message it accepts, and can be told to refuse some.
package smtptest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is a message the server accepted.
type Received struct {
	From string
	To   []string
	Data []byte // the message as sent, headers and body
}

// Options change how the server behaves.
type Options struct {
	// TLSConfig, when set, makes the server offer STARTTLS.
	TLSConfig *tls.Config
	// Username and Password, when set, make the server offer AUTH PLAIN and
	// refuse mail from a client that has not logged in with them.
	Username, Password string
	// Silent makes the server accept connections and never say a word, not
	// even its greeting, as a server that hangs does.
	Silent bool
	// HangAfterData makes the server take each message to the end of DATA,
	// keep it, and never answer: the message arrived, the client never
	// hears so.
	HangAfterData bool
}

// Server is a running test SMTP server.
type Server struct {
	Addr string // host:port to dial

	opts Options
	srv  *smtp.Server

	mu       sync.Mutex
	msgs     []Received
	attempts int
	failNext int
	rejected map[string]bool
	hang     func(Received) bool
	changed  chan struct{} // closed and replaced whenever msgs grows
	open     int           // connections open now
	maxOpen  int           // the most connections open at once
	stopped  chan struct{} // closed when the test ends, to let hung sessions go
}

// Start starts a server on 127.0.0.1 that accepts everything; it stops when
// the test ends.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith starts a server with opts; it stops when the test ends.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{
		Addr:     l.Addr().String(),
		opts:     opts,
		rejected: map[string]bool{},
		changed:  make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	if opts.Silent {
		go s.silent(l)
		t.Cleanup(func() {
			l.Close()
			close(s.stopped)
		})
		return s
	}
	l = &countingListener{Listener: l, s: s}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{s: s}, nil
	}))
	s.srv.Domain = "smtptest.localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.TLSConfig = opts.TLSConfig
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	go s.srv.Serve(l)
	t.Cleanup(func() { s.srv.Close() })
	t.Cleanup(func() { close(s.stopped) }) // first: hung sessions end before the server closes
	return s
}

// silent accepts connections and holds them, without a word, until the
// client hangs up or the test ends.
func (s *Server) silent(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		s.opened(1)
		go func() {
			io.Copy(io.Discard, c)
			s.opened(-1)
		}()
		go func() {
			<-s.stopped
			c.Close()
		}()
	}
}

// countingListener counts the connections the server has open.
type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.opened(1)
	return &countedConn{Conn: c, s: l.s}, nil
}

type countedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.s.opened(-1) })
	return c.Conn.Close()
}

func (s *Server) opened(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open += n
	s.maxOpen = max(s.maxOpen, s.open)
}

// MaxConnections is the most connections clients had open at once.
func (s *Server) MaxConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxOpen
}

// Connections is how many connections clients have open now.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Attempts is how many messages clients have sent to the end of DATA,
// accepted or refused.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// WaitFor waits until the server has accepted at least n messages and returns
// them all; the test fails if that takes longer than timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	return s.WaitUntil(t, fmt.Sprintf("%d messages", n), func(msgs []Received) bool { return len(msgs) >= n }, timeout)
}

// WaitUntil waits until done holds for the messages accepted so far, and
// returns them; the test fails, naming what, if that takes longer than
// timeout.
func (s *Server) WaitUntil(t testing.TB, what string, done func([]Received) bool, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, changed := append([]Received(nil), s.msgs...), s.changed
		s.mu.Unlock()
		if done(msgs) {
			return msgs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: %d messages after %v, want %s", len(msgs), timeout, what)
			return nil
		}
	}
}

// HangAfterDataOn makes the server take each message that match picks to the
// end of DATA, keep it, and never answer it, as HangAfterData does for all:
// the rest are answered as usual.
func (s *Server) HangAfterDataOn(match func(Received) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = match
}

// FailNext makes the server refuse the next n messages at the end of DATA
// with a temporary error (451), as a busy server does.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// RejectRecipient makes the server refuse mail to addr for good (550 at RCPT).
func (s *Server) RejectRecipient(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected[strings.ToLower(addr)] = true
}

// deliver keeps r unless the server refuses it, and reports whether to hang
// instead of answering.
func (s *Server) deliver(r Received) (hang bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.failNext > 0 {
		s.failNext--
		return false, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	s.msgs = append(s.msgs, r)
	close(s.changed)
	s.changed = make(chan struct{})
	return s.opts.HangAfterData || s.hang != nil && s.hang(r), nil
}

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.opts.Username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	rejected := ss.s.rejected[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if rejected {
		// As real servers do, the refusal quotes the address.
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: Recipient address rejected: User unknown"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	hang, err := ss.s.deliver(Received{From: ss.from, To: append([]string(nil), ss.to...), Data: data})
	if hang {
		<-ss.s.stopped
		return errors.New("smtptest: the test is over")
	}
	return err
}

func (ss *session) Reset() {
	ss.from, ss.to = "", nil
}

func (ss *session) Logout() error { return nil }
