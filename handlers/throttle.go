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
// The checks and the count are one step: an attempt is counted as failed
// when it is let through, before its password is checked, and given back
// when the password was right. Concurrent guesses therefore cannot all be
// checked before the first failure is counted. A right password also clears
// the count of its email from its address, but not its address's: an insider
// cannot sign in between guesses to start afresh.
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
	pruned   time.Time
}

type failures struct {
	count int
	last  time.Time
}

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{now: now, failures: map[string]*failures{}}
}

// signinAttempt is an attempt let through, counted as failed until ok says
// otherwise.
type signinAttempt struct {
	l                 *signinLimiter
	pair, addr, email string
}

// begin checks an attempt to sign in as email from addr. If the email from
// that address, or the address, must wait, it returns how long, and the
// attempt is not made. Otherwise the attempt is counted as failed, and
// begin returns how long to slow it down before the password is checked.
func (l *signinLimiter) begin(email, addr string) (wait, delay time.Duration, a *signinAttempt) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 320 {
		email = email[:320]
	}
	a = &signinAttempt{l: l, pair: "pair:" + email + "\x00" + addr, addr: "ip:" + addr, email: "email:" + email}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.prune(now)
	wait = max(l.mustWait(a.pair, pairFree, now), l.mustWait(a.addr, addressFree, now))
	if wait > 0 {
		return wait, 0, nil
	}
	if f := l.live(a.email, now); f != nil && f.count >= emailFree {
		delay = min(emailDelay<<min(f.count-emailFree, 16), emailMaxDelay)
	}
	for _, k := range []string{a.pair, a.addr, a.email} {
		f := l.live(k, now)
		if f == nil {
			f = &failures{}
			l.failures[k] = f
		}
		f.count++
		f.last = now
	}
	return 0, delay, a
}

// ok gives back the failure begin counted: the password was right. The
// email's count from this address starts again; the address's and the
// email's other failures stay.
func (a *signinAttempt) ok() {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	delete(a.l.failures, a.pair)
	for _, k := range []string{a.addr, a.email} {
		if f := a.l.failures[k]; f != nil && f.count > 0 {
			f.count--
		}
	}
}

// live returns the failures of key, nil when there are none or they are
// forgotten.
func (l *signinLimiter) live(key string, now time.Time) *failures {
	f := l.failures[key]
	if f == nil || now.Sub(f.last) > failWindow {
		return nil
	}
	return f
}

// mustWait is how long key must wait before its next attempt: nothing
// until free failures, then firstWait after the last, doubling.
func (l *signinLimiter) mustWait(key string, free int, now time.Time) time.Duration {
	f := l.live(key, now)
	if f == nil || f.count < free {
		return 0
	}
	d := min(firstWait<<min(f.count-free, 16), maxWait)
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
		if now.Sub(f.last) > max(failWindow, maxWait) {
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
