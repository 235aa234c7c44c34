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
//   - the email from this network: after pairFree failures, further
//     attempts are refused (429) until a wait has passed, 30 s doubling with
//     each failure up to 15 minutes. This is what stops a guesser.
//   - the network, whatever the email: the same, after networkFree failures
//     (an office behind one address shares it), so a guesser cannot spread
//     guesses over many emails from one network; but not for an email that
//     has signed in from that network within knownFor: each such email keeps
//     its own pairFree guesses from there, as it has from any network.
//   - the email, from any network: never refused, only slowed: after
//     emailFree failures, each attempt waits a second before its password is
//     checked, doubling up to emailMaxDelay.
//
// A known browser, one the email signed in on within knownFor (a signed
// cookie says so), skips all three: its attempts are neither refused nor
// slowed by what others did from its network or to its email. Its own
// failures count against a fourth key, and after pairFree of them it is
// judged by the three keys like any other browser: a copied cookie buys
// pairFree guesses, no more. So a colleague behind a guesser's address, or
// the person whose email is guessed, signs in at once from the browser they
// use every day.
//
// A refused attempt's password is never checked: letting a right password
// through a refusal would answer every guess, right or wrong, and the
// refusal would stop nothing.
//
// The checks and the count are one step. Attempts of one email from one
// network (of one known browser) take turns, each settled before the next
// is checked; otherwise an attempt being checked counts as failed until it
// has been. Concurrent guesses therefore cannot all be checked before the
// first failure is counted. A right password clears the count of its email
// from its network and of its browser, but not its network's: an insider
// cannot sign in between guesses to start afresh.
//
// The network is the client's IPv4 address, or its IPv6 /64, which one
// client commonly holds whole. The client's address is the connection's,
// or, when -trusted-proxies lists the proxy in front of the portal, the
// nearest address in X-Forwarded-For that is not one of the trusted proxies.
const (
	pairFree      = 5
	networkFree   = 20
	emailFree     = 5
	failWindow    = 15 * time.Minute
	firstWait     = 30 * time.Second
	maxWait       = 15 * time.Minute
	emailDelay    = time.Second
	emailMaxDelay = 8 * time.Second
	knownFor      = 30 * 24 * time.Hour
)

// network is the throttle's key of a client address: an IPv4 address, or
// an IPv6 address's /64.
func network(addr string) string {
	ip := net.ParseIP(addr)
	switch {
	case ip == nil:
		return addr
	case ip.To4() != nil:
		return ip.To4().String()
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

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

// signinLimiter keeps the failures of the keys above, and the emails known
// on each network, in memory: a restart forgets them, as it forgets nothing
// else of consequence (known browsers keep their cookie).
type signinLimiter struct {
	mu       sync.Mutex
	now      func() time.Time
	failures map[string]*failures
	turns    map[string]*turn
	known    map[string]time.Time // email and network: when it last signed in from there
	pruned   time.Time
}

type failures struct {
	count   int // failed attempts
	pending int // attempts being checked, which count until they are settled
	last    time.Time
}

// turn lets one attempt of an email from a network be checked at a time.
type turn struct {
	token   chan struct{}
	holders int // the attempt checked and those waiting for their turn
}

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{now: now, failures: map[string]*failures{}, turns: map[string]*turn{}, known: map[string]time.Time{}}
}

// signinAttempt is one attempt to sign in, between begin and end.
type signinAttempt struct {
	l                    *signinLimiter
	pair, network, email string
	browser              string // the known browser's key, if the attempt comes from one
	turn                 string // the key whose attempts take turns
	// wait is how long the email from this network, or the network, must
	// wait: the attempt is refused. Otherwise delay is how long to slow it
	// down before its password is checked.
	wait, delay time.Duration
	counted     []string // the keys the attempt counts against as failed until ok
	right       bool
}

// begin starts an attempt to sign in as email from addr, from a browser
// known for that email (browser, the id its cookie holds) or not (""),
// once the last attempt of that email from that network, or of that
// browser, has ended: it is let through, slowed or not, or refused
// (wait > 0). It fails only when ctx ends first. The caller must call end.
func (l *signinLimiter) begin(ctx context.Context, email, addr, browser string) (*signinAttempt, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 320 {
		email = email[:320]
	}
	nw := network(addr)
	a := &signinAttempt{l: l, pair: "pair:" + email + "\x00" + nw, network: "net:" + nw, email: "email:" + email}
	a.turn = a.pair
	if browser != "" {
		a.browser = "browser:" + browser
		a.turn = a.browser
	}
	l.mu.Lock()
	tn := l.turns[a.turn]
	if tn == nil {
		tn = &turn{token: make(chan struct{}, 1)}
		l.turns[a.turn] = tn
	}
	tn.holders++
	l.mu.Unlock()
	select {
	case tn.token <- struct{}{}:
	case <-ctx.Done():
		l.mu.Lock()
		l.release(a.turn, false)
		l.mu.Unlock()
		return nil, ctx.Err()
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.prune(now)
	a.counted = []string{a.pair, a.network, a.email}
	if a.browser != "" {
		a.counted = append(a.counted, a.browser)
	}
	if a.browser == "" || l.mustWait(a.browser, pairFree, now) > 0 {
		a.wait = l.mustWait(a.pair, pairFree, now)
		if seen, ok := l.known[a.pair]; !ok || now.Sub(seen) > knownFor {
			a.wait = max(a.wait, l.mustWait(a.network, networkFree, now))
		}
		if a.wait > 0 {
			a.counted = nil
			return a, nil
		}
		if f := l.live(a.email, now); f != nil && f.count+f.pending >= emailFree {
			a.delay = min(emailDelay<<min(f.count+f.pending-emailFree, 16), emailMaxDelay)
		}
	}
	for _, k := range a.counted {
		f := l.live(k, now)
		if f == nil {
			f = &failures{}
			l.failures[k] = f
		}
		f.pending++
		f.last = now
	}
	return a, nil
}

// ok says the password was right.
func (a *signinAttempt) ok() { a.right = true }

// unchecked says the password was not checked after all (the portal was too
// busy): the attempt counts as nothing.
func (a *signinAttempt) unchecked() {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	for _, k := range a.counted {
		if f := a.l.failures[k]; f != nil {
			f.pending = max(f.pending-1, 0)
		}
	}
	a.counted = nil
}

// end settles the attempt: a right password clears the count of its email
// from its network and of its browser, and makes the email known on the
// network; a wrong one counts against every key. The next attempt of the
// email from the network may then go.
func (a *signinAttempt) end() {
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range a.counted {
		f := l.failures[k]
		if f == nil {
			continue
		}
		f.pending = max(f.pending-1, 0)
		if !a.right {
			f.count++
		}
	}
	if a.right && a.counted != nil {
		delete(l.failures, a.pair)
		delete(l.failures, a.browser)
		l.known[a.pair] = l.now()
	}
	l.release(a.turn, true)
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

// prune forgets, once a minute, the keys whose failures are forgotten and
// the emails no longer known on a network, so guesses with ever new emails
// cannot grow the maps for ever.
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
	for k, seen := range l.known {
		if now.Sub(seen) > knownFor {
			delete(l.known, k)
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
