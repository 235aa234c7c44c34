package portaltest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/demo"
)

// Client is a browser without JavaScript: it keeps cookies and does not
// follow redirects, so tests see them. Send and SignedIn return errors
// instead of failing the test, so they can be used from any goroutine, and
// against a portal this package did not start.
type Client struct {
	URL  string // the portal's base URL
	HTTP *http.Client
	// CSRF is the token of the browser's csrf cookie, set on sign-in. The
	// token belongs to the cookie, not to a form, so it serves every later
	// submit.
	CSRF string
}

// NewClient is a new browser for the portal at base, with no cookies yet;
// a nil transport is http.DefaultTransport.
func NewClient(base string, transport http.RoundTripper) *Client {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &Client{URL: base, HTTP: &http.Client{
		Jar:           jar,
		Transport:     transport,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// NewClient is a new browser for the portal, not signed in.
func (p *Portal) NewClient() *Client { return NewClient(p.URL, nil) }

// Agent signs in the demo support agent in a new browser.
func (p *Portal) Agent(t testing.TB) *Client {
	t.Helper()
	return p.SignedIn(t, demo.AgentEmail, demo.AgentPassword)
}

// Lead signs in the demo team lead in a new browser.
func (p *Portal) Lead(t testing.TB) *Client {
	t.Helper()
	return p.SignedIn(t, demo.LeadEmail, demo.LeadPassword)
}

// SignedIn signs in with email and password in a new browser.
func (p *Portal) SignedIn(t testing.TB, email, password string) *Client {
	t.Helper()
	c, err := SignedIn(p.URL, nil, email, password)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// SignedIn signs in with email and password in a new browser for the portal
// at base.
func SignedIn(base string, transport http.RoundTripper, email, password string) (*Client, error) {
	c := NewClient(base, transport)
	r, err := c.signIn(email, password)
	if err != nil {
		return nil, err
	}
	if r.Status != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in as %s: status %d, want 303", email, r.Status)
	}
	return c, nil
}

// SignIn fills in and sends the sign-in form, and returns the answer.
func (c *Client) SignIn(t testing.TB, email, password string) *Response {
	t.Helper()
	r, err := c.signIn(email, password)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (c *Client) signIn(email, password string) (*Response, error) {
	token, err := c.token("/login")
	if err != nil {
		return nil, err
	}
	r, err := c.Send(http.MethodPost, "/login", url.Values{"_csrf": {token}, "email": {email}, "password": {password}})
	if err != nil {
		return nil, err
	}
	if r.Status == http.StatusSeeOther {
		c.CSRF = token
	}
	return r, nil
}

// Response is an HTTP answer with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Location is the redirect target.
func (r *Response) Location() string { return r.Header.Get("Location") }

// Doc parses the body as HTML.
func (r *Response) Doc(t testing.TB) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return d
}

// Send sends a request, with form as its body when it is not nil; headers
// are name, value pairs.
func (c *Client) Send(method, path string, form url.Values, headers ...string) (*Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.URL+path, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Do sends a request as Send does, and fails the test if no answer comes.
func (c *Client) Do(t testing.TB, method, path string, form url.Values, headers ...string) *Response {
	t.Helper()
	r, err := c.Send(method, path, form, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Get sends a GET.
func (c *Client) Get(t testing.TB, path string, headers ...string) *Response {
	t.Helper()
	return c.Do(t, http.MethodGet, path, nil, headers...)
}

// Post sends a form.
func (c *Client) Post(t testing.TB, path string, form url.Values, headers ...string) *Response {
	t.Helper()
	return c.Do(t, http.MethodPost, path, form, headers...)
}

// Page GETs a page that must answer 200 and parses it.
func (c *Client) Page(t testing.TB, path string, headers ...string) *goquery.Document {
	t.Helper()
	r := c.Get(t, path, headers...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", path, r.Status)
	}
	return r.Doc(t)
}

// Cookie returns the value of a cookie the browser holds for the portal.
func (c *Client) Cookie(name string) string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// FormValues reads the named inputs of the form sel on the page at path, as
// a browser would submit them (radio buttons and checkboxes only when
// checked).
func (c *Client) FormValues(t testing.TB, path, sel string) url.Values {
	t.Helper()
	form := c.Page(t, path).Find(sel)
	if form.Length() == 0 {
		t.Fatalf("GET %s: no form %s", path, sel)
	}
	v := url.Values{}
	form.Find("input[name]").Each(func(_ int, in *goquery.Selection) {
		typ, _ := in.Attr("type")
		if (typ == "radio" || typ == "checkbox") && in.AttrOr("checked", "\x00") == "\x00" {
			return
		}
		v.Add(in.AttrOr("name", ""), in.AttrOr("value", ""))
	})
	return v
}

// CSRFToken reads the CSRF token the page at path puts in its forms.
func (c *Client) CSRFToken(t testing.TB, path string) string {
	t.Helper()
	token, err := c.token(path)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func (c *Client) token(path string) (string, error) {
	r, err := c.Send(http.MethodGet, path, nil)
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d, want 200", path, r.Status)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(r.Body))
	if err != nil {
		return "", fmt.Errorf("GET %s: parse HTML: %w", path, err)
	}
	token := doc.Find(`input[name="_csrf"]`).First().AttrOr("value", "")
	if token == "" {
		return "", fmt.Errorf("GET %s: no _csrf input", path)
	}
	return token, nil
}
