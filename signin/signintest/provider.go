// Package signintest runs an OpenID Connect provider in the test process:
// discovery, published signing keys, a login page, the authorization code
// flow with PKCE (S256 only) and RP-initiated logout, over real HTTP, with
// real RS256 signatures. Tests change what it issues through Tamper to see
// the portal refuse a bad token.
package signintest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/carrier/esim-admin/signin"
)

// User is a person the provider can sign in.
type User struct {
	Username, Password string
	Subject            string
	Email              string
	EmailVerified      bool
	Name               string
	Groups             []string
}

// Client is an application registered at the provider.
type Client struct {
	ID, Secret   string
	RedirectURIs []string
	// SignedOutURIs are where the end-session endpoint may send a browser.
	SignedOutURIs []string
}

// Provider is the running provider. Its fields may be changed between
// sign-ins, under no lock: a test changes them while no sign-in runs.
type Provider struct {
	*httptest.Server
	Issuer string
	// Tamper changes the claims of every ID token before it is signed.
	Tamper func(claims map[string]any)
	// SignWith, when set, signs ID tokens with another key than the
	// published one: a forged token.
	SignWith *rsa.PrivateKey
	// Now is the provider's clock; nil is time.Now.
	Now func() time.Time

	key *rsa.PrivateKey

	mu       sync.Mutex
	clients  map[string]Client
	users    map[string]*User
	codes    map[string]grant
	signOuts []url.Values
	verified int // code exchanges whose PKCE verifier matched
}

// grant is an authorization code not yet exchanged.
type grant struct {
	client, redirectURI, challenge, nonce string
	user                                  User
}

// New starts a provider; Close stops it.
func New() *Provider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p := &Provider{key: key, clients: map[string]Client{}, users: map[string]*User{}, codes: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.keys)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /authorize", p.login)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /end_session", p.endSession)
	p.Server = httptest.NewServer(mux)
	p.Issuer = p.URL
	return p
}

// AddClient registers an application.
func (p *Provider) AddClient(c Client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[c.ID] = c
}

// AddUser adds or replaces a person; their groups can be changed later
// with SetGroups.
func (p *Provider) AddUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[u.Username] = &u
}

// SetGroups changes a person's groups, as their IT department would.
func (p *Provider) SetGroups(username string, groups ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[username].Groups = groups
}

// SignOuts are the queries the end-session endpoint was called with.
func (p *Provider) SignOuts() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.signOuts)
}

// PKCEVerified is how many code exchanges presented the verifier whose S256
// challenge the authorization request carried.
func (p *Provider) PKCEVerified() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.verified
}

func (p *Provider) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.Issuer,
		"authorization_endpoint":                p.Issuer + "/authorize",
		"token_endpoint":                        p.Issuer + "/token",
		"jwks_uri":                              p.Issuer + "/keys",
		"end_session_endpoint":                  p.Issuer + "/end_session",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (p *Provider) keys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.key.PublicKey, KeyID: "test-key", Algorithm: string(jose.RS256), Use: "sig"},
	}})
}

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en"><head><title>Test identity provider: sign in</title></head>
<body><h1>Test identity provider</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/authorize">
{{range $k, $v := .Query}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<label>Username <input id="username" name="username" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password"></label>
<button id="submit" type="submit">Sign in</button>
</form></body></html>`))

// authorize checks the authorization request and shows the login page.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if msg := p.checkRequest(q); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	loginPage.Execute(w, map[string]any{"Query": q})
}

// checkRequest explains what is wrong with an authorization request, or "".
func (p *Provider) checkRequest(q url.Values) string {
	p.mu.Lock()
	c, ok := p.clients[q.Get("client_id")]
	p.mu.Unlock()
	switch {
	case !ok:
		return "unknown client_id"
	case !slices.Contains(c.RedirectURIs, q.Get("redirect_uri")):
		return "redirect_uri not registered"
	case q.Get("response_type") != "code":
		return "response_type must be code"
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		return "scope must include openid"
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		return "PKCE with S256 is required"
	case q.Get("state") == "":
		return "state is required"
	}
	return ""
}

// login checks the username and password, then sends the browser back to
// the client with a code.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	q := url.Values{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"} {
		if v := r.PostForm.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	if msg := p.checkRequest(q); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	u, ok := p.users[r.PostForm.Get("username")]
	if ok && subtle.ConstantTimeCompare([]byte(u.Password), []byte(r.PostForm.Get("password"))) != 1 {
		ok = false
	}
	var code string
	if ok {
		code = randomString()
		p.codes[code] = grant{client: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
			nonce: q.Get("nonce"), user: *u}
	}
	p.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		loginPage.Execute(w, map[string]any{"Query": q, "Error": "Wrong username or password."})
		return
	}
	back, _ := url.Parse(q.Get("redirect_uri"))
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

// token exchanges a code for an ID token: the client authenticated, the
// code used once, for the same redirect URI, with the PKCE verifier.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.mu.Lock()
	c, ok := p.clients[id]
	code := r.PostForm.Get("code")
	g, found := p.codes[code]
	delete(p.codes, code)
	p.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, "unsupported_grant_type", "")
		return
	}
	if !found || g.client != id || g.redirectURI != r.PostForm.Get("redirect_uri") {
		tokenError(w, "invalid_grant", "unknown or used code")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, "invalid_grant", "PKCE verification failed")
		return
	}
	p.mu.Lock()
	p.verified++
	p.mu.Unlock()
	now := p.now()
	claims := map[string]any{
		"iss": p.Issuer, "sub": g.user.Subject, "aud": id, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"email": g.user.Email, "email_verified": g.user.EmailVerified, "name": g.user.Name, "groups": g.user.Groups,
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if p.Tamper != nil {
		p.Tamper(claims)
	}
	idToken, err := p.sign(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomString(), "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

func (p *Provider) sign(claims map[string]any) (string, error) {
	key := p.key
	if p.SignWith != nil {
		key = p.SignWith
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "test-key"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// endSession signs the browser out at the provider and sends it back where
// the client registered.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.signOuts = append(p.signOuts, q)
	c, ok := p.clients[q.Get("client_id")]
	p.mu.Unlock()
	back := q.Get("post_logout_redirect_uri")
	if ok && back != "" && slices.Contains(c.SignedOutURIs, back) {
		http.Redirect(w, r, back, http.StatusFound)
		return
	}
	fmt.Fprintln(w, "You are signed out.")
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SignIn does what a browser does on the provider's login page: it opens
// authURL, signs in as username, and returns the address the provider sends
// the browser back to (the client's callback), without going there.
func (p *Provider) SignIn(authURL, username, password string) (*url.URL, error) {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u, err := url.Parse(authURL)
	if err != nil {
		return nil, err
	}
	resp, err := client.Get(authURL)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("authorization request: %s", resp.Status)
	}
	form := u.Query()
	form.Set("username", username)
	form.Set("password", password)
	resp, err = client.PostForm(p.Issuer+"/authorize", form)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("login: %s", resp.Status)
	}
	return resp.Location()
}

// The groups a portal of Portal lets in: its team leads and its agents.
const (
	LeadGroup  = "ap-leads"
	AgentGroup = "ap-agents"
)

// Portal registers the portal served at base as a client of the provider,
// and returns the portal's single sign-on through it.
func (p *Provider) Portal(base string) (*signin.Provider, error) {
	p.AddClient(Client{ID: "portal", Secret: "portal-secret", RedirectURIs: []string{base + "/login/oidc/callback"},
		SignedOutURIs: []string{base + "/login"}})
	return signin.New(signin.Config{Issuer: p.Issuer, ClientID: "portal", ClientSecret: "portal-secret",
		RedirectURL: base + "/login/oidc/callback", SignedOutURL: base + "/login",
		LeadGroups: []string{LeadGroup}, AgentGroups: []string{AgentGroup}})
}
