package handlers

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Sign-in throttling, against password guessing (OWASP ASVS 5.0 V6.3.1)
// without handing an attacker a way to keep a colleague out (V6.1.1,
// "prevent malicious account lockout"). A failed password counts against
// three keys, each forgotten after failWindow without a failure:
//
//   - the email from this address: after pairFree failures, further
//     attempts are refused (429) until a wait has passed, 30 s doubling with
//     each failure up to 15 minutes. This is what stops a guesser.
//   - the address, whatever the email: the same, after addressFree failures
//     (an office behind one address shares it). A guesser cannot spread
//     guesses over many emails from one address.
//   - the email, from any address: never refused, only slowed: after
//     emailFree failures, each attempt waits a second before its password is
//     checked, doubling up to emailMaxDelay. Guesses spread over many
//     addresses are slowed, while the person whose email it is still signs
//     in, from their own address, at most emailMaxDelay later.
//
// The checks and the count are one step. Attempts for one email from one
// address take turns, each settled before the next is checked; across
// emails or addresses, an attempt being checked counts as failed until it
// has been. Concurrent guesses therefore cannot all be checked before the
// first failure is counted. A right password clears the count of its email
// from its address, but not its address's: an insider cannot sign in
// between guesses to start afresh.
//
// The client's address is the connection's, or, when -trusted-proxies lists
// the proxy in front of the portal, the nearest address in X-Forwarded-For
// that is not one of the trusted proxies.
const (
	pairFree      = 5
	addressFree   = 20
	emailFree     = 5
	failWindow    = 15 * time.Minute
	firstWait     = 30 * time.Second
	maxWait       = 15 * time.Minute
	emailDelay    = time.Second
	emailMaxDelay = 8 * time.Second
)

// clientIP is how the portal finds the client's address: the connection's,
// or the one X-Forwarded-For gives through the trusted proxies only.
func clientIP(proxies []*net.IPNet) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		trust = append(trust, echo.TrustIPRange(p))
	}
	return echo.ExtractIPFromXFFHeader(trust...)
}

// signinLimiter keeps the failures of the keys above, in memory: a restart
// forgets them, as it forgets nothing else of consequence.
type signinLimiter struct {
	mu       sync.Mutex
	now      func() time.Time
	failures map[string]*failures
	turns    map[string]*turn
	pruned   time.Time
}

type failures struct {
	count   int // failed attempts
	pending int // attempts being checked, which count until they are settled
	last    time.Time
}

// turn lets one attempt of an email from an address be checked at a time.
type turn struct {
	token   chan struct{}
	holders int // the attempt checked and those waiting for their turn
}

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{now: now, failures: map[string]*failures{}, turns: map[string]*turn{}}
}

// signinAttempt is one attempt to sign in, between begin and end.
type signinAttempt struct {
	l                 *signinLimiter
	pair, addr, email string
	// wait is how long the email from this address, or the address, must
	// wait: the attempt is refused. Otherwise delay is how long to slow it
	// down before its password is checked.
	wait, delay time.Duration
	counted     bool // the attempt is let through and counts as failed until ok
	right       bool
}

// begin starts an attempt to sign in as email from addr, once the last
// attempt of that email from that address has ended: it is let through,
// slowed or not, or refused (wait > 0). It fails only when ctx ends first.
// The caller must call end.
func (l *signinLimiter) begin(ctx context.Context, email, addr string) (*signinAttempt, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 320 {
		email = email[:320]
	}
	a := &signinAttempt{l: l, pair: "pair:" + email + "\x00" + addr, addr: "ip:" + addr, email: "email:" + email}
	l.mu.Lock()
	tn := l.turns[a.pair]
	if tn == nil {
		tn = &turn{token: make(chan struct{}, 1)}
		l.turns[a.pair] = tn
	}
	tn.holders++
	l.mu.Unlock()
	select {
	case tn.token <- struct{}{}:
	case <-ctx.Done():
		l.mu.Lock()
		l.release(a.pair, false)
		l.mu.Unlock()
		return nil, ctx.Err()
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.prune(now)
	a.wait = max(l.mustWait(a.pair, pairFree, now), l.mustWait(a.addr, addressFree, now))
	if a.wait > 0 {
		return a, nil
	}
	if f := l.live(a.email, now); f != nil && f.count+f.pending >= emailFree {
		a.delay = min(emailDelay<<min(f.count+f.pending-emailFree, 16), emailMaxDelay)
	}
	for _, k := range []string{a.pair, a.addr, a.email} {
		f := l.live(k, now)
		if f == nil {
			f = &failures{}
			l.failures[k] = f
		}
		f.pending++
		f.last = now
	}
	a.counted = true
	return a, nil
}

// ok says the password was right.
func (a *signinAttempt) ok() { a.right = true }

// end settles the attempt: a right password clears the count of its email
// from its address; a wrong one counts against all three keys. The next
// attempt of the email from the address may then go.
func (a *signinAttempt) end() {
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if a.counted {
		for _, k := range []string{a.pair, a.addr, a.email} {
			f := l.failures[k]
			if f == nil {
				continue
			}
			f.pending = max(f.pending-1, 0)
			if !a.right {
				f.count++
			}
		}
		if a.right {
			delete(l.failures, a.pair)
		}
	}
	l.release(a.pair, true)
}

// release gives back a turn of key, taken or only waited for.
func (l *signinLimiter) release(key string, taken bool) {
	tn := l.turns[key]
	if taken {
		<-tn.token
	}
	if tn.holders--; tn.holders == 0 {
		delete(l.turns, key)
	}
}

// live returns the failures of key, nil when there are none or they are
// forgotten.
func (l *signinLimiter) live(key string, now time.Time) *failures {
	f := l.failures[key]
	if f == nil || (f.pending == 0 && now.Sub(f.last) > failWindow) {
		return nil
	}
	return f
}

// mustWait is how long key must wait before its next attempt: nothing
// until free failures (attempts being checked among them), then firstWait
// after the last, doubling.
func (l *signinLimiter) mustWait(key string, free int, now time.Time) time.Duration {
	f := l.live(key, now)
	if f == nil || f.count+f.pending < free {
		return 0
	}
	d := min(firstWait<<min(f.count+f.pending-free, 16), maxWait)
	return max(f.last.Add(d).Sub(now), 0)
}

// prune forgets, once a minute, the keys whose failures are forgotten, so
// guesses with ever new emails cannot grow the map for ever.
func (l *signinLimiter) prune(now time.Time) {
	if now.Sub(l.pruned) < time.Minute {
		return
	}
	l.pruned = now
	for k, f := range l.failures {
		if f.pending == 0 && now.Sub(f.last) > max(failWindow, maxWait) {
			delete(l.failures, k)
		}
	}
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
