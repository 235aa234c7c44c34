// Package signin signs support agents and team leads in through the
// carrier's identity provider with OpenID Connect: discovery of the
// provider, the authorization code flow with PKCE, the verification of the
// ID token, and the rule that gives a role from the person's groups.
//
// It knows nothing of HTTP handlers or sessions: the caller keeps the Flow
// of a sign-in in the browser's server-side session between Start and
// Finish, and makes the portal's own session once Finish returns a Person.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/carrier/esim-admin/db"
)

// Scopes the portal asks for: the ID token, the email and the name.
var Scopes = []string{oidc.ScopeOpenID, "email", "profile"}

// Skew is the clock difference tolerated between the provider and the
// portal: an ID token is still taken this long after its expiry.
const Skew = time.Minute

// Config is how the portal is registered at the identity provider.
type Config struct {
	Issuer       string // the provider's issuer URL; discovery finds the rest
	ClientID     string
	ClientSecret string
	// RedirectURL is the portal's callback, as registered at the provider.
	RedirectURL string
	// SignedOutURL is where the provider sends the browser after signing
	// out there: the portal's sign-in page.
	SignedOutURL string
	// GroupsClaim names the ID token's claim that lists the person's groups;
	// a dotted name reaches into an object ("realm_access.roles").
	GroupsClaim string
	LeadGroups  []string
	AgentGroups []string
	// Now is the clock the ID token's expiry is checked with; nil is time.Now.
	Now func() time.Time
	// HTTPClient talks to the provider; nil is a client with a 10-second
	// timeout.
	HTTPClient *http.Client
}

// Provider signs people in through one identity provider. Discovery happens
// at the first sign-in and is kept once it works, so the portal starts, and
// its password sign-in works, while the provider is down.
type Provider struct {
	cfg    Config
	client *http.Client

	mu   sync.Mutex
	disc *discovered
	// failed is the last failed discovery, said again without asking the
	// provider until retryAfter has passed: while it is down, sign-ins fail
	// at once instead of queueing behind one another's timeouts.
	failed   error
	failedAt time.Time
}

// retryAfter is how long a failed discovery is not tried again.
const retryAfter = 5 * time.Second

type discovered struct {
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string // "" when the provider publishes none
}

// New checks the configuration; it does not reach the provider yet.
func New(cfg Config) (*Provider, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("signin: an issuer, a client id and a redirect URL are needed")
	}
	if len(cfg.LeadGroups) == 0 && len(cfg.AgentGroups) == 0 {
		return nil, errors.New("signin: no lead or agent groups: nobody could sign in")
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Provider{cfg: cfg, client: client}, nil
}

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// discover fetches the provider's metadata, once it works.
func (p *Provider) discover(ctx context.Context) (*discovered, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disc != nil {
		return p.disc, nil
	}
	if p.failed != nil && time.Since(p.failedAt) < retryAfter {
		return nil, p.failed
	}
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		p.failed, p.failedAt = &Error{Kind: ProviderDown, Err: fmt.Errorf("discovery at %s: %w", p.cfg.Issuer, err)}, time.Now()
		return nil, p.failed
	}
	var meta struct {
		EndSession string   `json:"end_session_endpoint"`
		Methods    []string `json:"code_challenge_methods_supported"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, &Error{Kind: ProviderDown, Err: fmt.Errorf("discovery at %s: %w", p.cfg.Issuer, err)}
	}
	p.disc = &discovered{
		oauth: oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: op.Endpoint(),
			RedirectURL: p.cfg.RedirectURL, Scopes: Scopes},
		verifier: op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID,
			Now: func() time.Time { return p.cfg.Now().Add(-Skew) }}),
		endSession: meta.EndSession,
	}
	return p.disc, nil
}

// Flow is one sign-in between the redirect to the provider and the way
// back: the caller keeps it where only this browser finds it (its
// server-side session), and uses it once.
type Flow struct {
	State    string // ties the callback to this browser's request
	Nonce    string // ties the ID token to this request
	Verifier string // the PKCE code verifier; the provider saw its S256 hash
}

// Start begins a sign-in: the flow to keep, and the provider's address to
// send the browser to.
func (p *Provider) Start(ctx context.Context) (Flow, string, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return Flow{}, "", err
	}
	f := Flow{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
	return f, d.oauth.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), nil
}

// Person is who the provider signed in, from a verified ID token.
type Person struct {
	Identity db.SSOIdentity
	Groups   []string
	// IDToken is the raw token, kept in the server-side session only as the
	// hint of a later sign-out at the provider; never logged.
	IDToken string
}

// Finish ends a sign-in on the provider's callback, whose query is q: the
// state must be the flow's, the code is exchanged with the PKCE verifier,
// and the ID token must be signed by the provider's published keys, issued
// by it, for this portal, not expired (but for Skew), and carry the flow's
// nonce.
func (p *Provider) Finish(ctx context.Context, f Flow, q url.Values) (Person, error) {
	if f.State == "" || subtle.ConstantTimeCompare([]byte(f.State), []byte(q.Get("state"))) != 1 {
		return Person{}, &Error{Kind: BadState, Err: errors.New("the callback's state is not the one this browser's sign-in started with")}
	}
	if e := q.Get("error"); e != "" {
		return Person{}, &Error{Kind: Denied, Detail: e, Err: fmt.Errorf("the provider answered %s: %s", e, q.Get("error_description"))}
	}
	code := q.Get("code")
	if code == "" {
		return Person{}, &Error{Kind: BadState, Err: errors.New("a callback without a code")}
	}
	d, err := p.discover(ctx)
	if err != nil {
		return Person{}, err
	}
	ctx = oidc.ClientContext(ctx, p.client)
	tok, err := d.oauth.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Person{}, &Error{Kind: BadToken, Err: fmt.Errorf("code exchange: %s %s", re.ErrorCode, re.ErrorDescription)}
		}
		return Person{}, &Error{Kind: ProviderDown, Err: fmt.Errorf("code exchange: %w", err)}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Person{}, &Error{Kind: BadToken, Err: errors.New("the token response has no ID token")}
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return Person{}, &Error{Kind: BadToken, Err: fmt.Errorf("ID token: %w", err)}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return Person{}, &Error{Kind: BadToken, Err: errors.New("ID token: its nonce is not this sign-in's")}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Person{}, &Error{Kind: BadToken, Err: fmt.Errorf("ID token claims: %w", err)}
	}
	return Person{
		Identity: db.SSOIdentity{Issuer: idt.Issuer, Subject: idt.Subject, Email: str(claims["email"]),
			EmailVerified: truthy(claims["email_verified"]), Name: name(claims)},
		Groups:  groups(claims, p.cfg.GroupsClaim),
		IDToken: raw,
	}, nil
}

// Role is the rule of who gets in, as what, applied at every sign-in: a
// member of a lead group is a team lead, else a member of an agent group is
// a support agent, else the person is refused (ok false). Group names match
// exactly, as the provider spells them.
func (p *Provider) Role(groups []string) (role db.Role, ok bool) {
	member := func(of []string) bool {
		return slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(of, g) })
	}
	switch {
	case member(p.cfg.LeadGroups):
		return db.RoleLead, true
	case member(p.cfg.AgentGroups):
		return db.RoleAgent, true
	}
	return "", false
}

// Groups are the groups that let people in: lead groups, then agent groups.
func (p *Provider) Groups() (lead, agent []string) { return p.cfg.LeadGroups, p.cfg.AgentGroups }

// SignOutURL is the provider's end-session address (RP-initiated logout),
// which sends the browser back to the portal's sign-in page, or "" when the
// provider publishes none or cannot be reached: the portal's own session
// has ended either way.
func (p *Provider) SignOutURL(ctx context.Context, idTokenHint string) string {
	d, err := p.discover(ctx)
	if err != nil || d.endSession == "" {
		return ""
	}
	u, err := url.Parse(d.endSession)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", p.cfg.ClientID)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if p.cfg.SignedOutURL != "" {
		q.Set("post_logout_redirect_uri", p.cfg.SignedOutURL)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Origin is the scheme and host of the provider's issuer, which the
// browser is sent to, for the content security policy.
func (p *Provider) Origin() string {
	u, err := url.Parse(p.cfg.Issuer)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func str(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// truthy reads a boolean claim, which some providers send as a string.
func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// name is the person's name from the standard claims, or "" to use the email.
func name(claims map[string]any) string {
	if n := str(claims["name"]); n != "" {
		return n
	}
	if n := strings.TrimSpace(str(claims["given_name"]) + " " + str(claims["family_name"])); n != "" {
		return n
	}
	return str(claims["preferred_username"])
}

// groups reads the groups claim: a list of strings, or one string; a dotted
// claim name reaches into nested objects.
func groups(claims map[string]any, claim string) []string {
	var v any = claims
	for part := range strings.SplitSeq(claim, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, g := range v {
			if s, ok := g.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
