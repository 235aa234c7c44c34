package handlers_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrier/esim-admin/handlers/portaltest"
)

// sendHead sends a POST's headers announcing a body of size bytes, and the
// first sent of them, over a connection of its own; the test closes it.
func sendHead(t *testing.T, base, path, contentType string, size int, sent string, c *portaltest.Client) net.Conn {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", path, u.Host, contentType, size)
	if c != nil {
		for _, ck := range c.HTTP.Jar.Cookies(u) {
			fmt.Fprintf(&head, "Cookie: %s=%s\r\n", ck.Name, ck.Value)
		}
	}
	head.WriteString("\r\n")
	if _, err := conn.Write([]byte(head.String() + sent)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// answerBeforeBody sends the headers of an 11 MB multipart POST and its
// first 64 KB, and returns the status the portal answers with while the
// rest is still unsent: it must not wait for the body to decide.
func answerBeforeBody(t *testing.T, base, path string, c *portaltest.Client) int {
	t.Helper()
	const size = 11 << 20
	part := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"esims.csv\"\r\n\r\n" + strings.Repeat("8901", 16<<10)
	conn := sendHead(t, base, path, "multipart/form-data; boundary=b", size, part, c)
	defer conn.Close()
	// A bound for a portal that waits for the whole body, and so never
	// answers: the answer is expected at once.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Errorf("POST %s: no answer before the body was sent: %v", path, err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestLargeBodyAnsweredUnread sends 11 MB bodies that no one may send: 40
// at once without a sign-in, as a probe did to run the portal out of
// memory, and as an agent to a form and to the team leads' import. Each is
// answered from its headers, before the body is read.
func TestLargeBodyAnsweredUnread(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	var wg sync.WaitGroup
	statuses := make([]int, 40)
	for i := range statuses {
		wg.Go(func() { statuses[i] = answerBeforeBody(t, app.URL, "/subscribers/1/lines", nil) })
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusSeeOther {
			t.Errorf("unauthenticated POST %d: status %d, want 303 to the sign-in page", i+1, s)
		}
	}
	agent := app.Agent(t)
	for _, path := range []string{"/subscribers/1/lines", "/esims/import"} {
		if s := answerBeforeBody(t, app.URL, path, agent); s != http.StatusRequestEntityTooLarge {
			t.Errorf("an agent's 11 MB POST %s: status %d, want 413", path, s)
		}
	}
}

// TestBodyCutIsAHangUp has a signed-in agent's browser close the connection
// in the middle of sending Add line: the log says the client hung up (499,
// INFO), not that the CSRF token was missing (403), and logs no error.
func TestBodyCutIsAHangUp(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent := app.Agent(t)
	form := url.Values{"_csrf": {agent.CSRF}, "line_name": {"France"}, "plan": {"1"}}.Encode()
	conn := sendHead(t, app.URL, "/subscribers/1/lines", "application/x-www-form-urlencoded", len(form)+100, form[:len(form)/2], agent)
	conn.Close()
	line := app.WaitForLog(t, func(line string) bool { return strings.Contains(line, "route=/subscribers/:id/lines") })
	if !strings.Contains(line, "level=INFO") || !strings.Contains(line, "status=499") {
		t.Errorf("a body cut in the middle is logged as %q, want status 499 at INFO", line)
	}
	if strings.Contains(app.Log(), "level=ERROR") {
		t.Errorf("a client hanging up logged an error:\n%s", app.Log())
	}
}

// TestOversizedFieldsRefused sends fields far longer than any form gives:
// each is refused as too large, nothing of it is kept, and the answer does
// not carry it back.
func TestOversizedFieldsRefused(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent := app.Agent(t)
	japan := app.Plan(t, "Japan")
	priya := app.Subscriber(t, "AC-100358")
	lines := len(app.Lines(t, priya.ID))
	long := func(n int) string { return strings.Repeat("Ab9", n/3) }
	addLine := func(change func(url.Values)) url.Values {
		form := addLineForm(t, agent, priya.ID, "Japan", japan.ID)
		change(form)
		return form
	}
	for _, tc := range []struct {
		name string
		c    *portaltest.Client
		path string
		form url.Values
		sent string
	}{
		{"FormToken", agent, fmt.Sprintf("/subscribers/%d/lines", priya.ID), addLine(func(f url.Values) { f.Set("token", long(900)) }), long(900)},
		{"LineName", agent, fmt.Sprintf("/subscribers/%d/lines", priya.ID), addLine(func(f url.Values) { f.Set("line_name", long(60<<10)) }), long(60 << 10)},
		{"AnyField", agent, fmt.Sprintf("/subscribers/%d/lines", priya.ID), addLine(func(f url.Values) { f.Set("country", long(3000)) }), long(3000)},
		{"SignInEmail", app.NewClient(), "/login", url.Values{"email": {long(6000) + "@example.com"}, "password": {"wrong password"}}, long(6000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.form.Get("_csrf") == "" {
				tc.form.Set("_csrf", tc.c.CSRFToken(t, tc.path))
			}
			r := tc.c.Post(t, tc.path, tc.form)
			if r.Status != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", r.Status)
			}
			if strings.Contains(string(r.Body), tc.sent[:300]) {
				t.Errorf("the answer (%d bytes) carries the oversized value back", len(r.Body))
			}
		})
	}
	// A query is bounded the same way.
	if r := agent.Get(t, "/subscribers?q="+long(3000)); r.Status != http.StatusRequestEntityTooLarge || strings.Contains(string(r.Body), long(300)) {
		t.Errorf("search for 3 KB: status %d, want 413 without the search shown again", r.Status)
	}
	if n := app.Count(t, `SELECT count(*) FROM form_submissions WHERE length(token) > 24`); n != 0 {
		t.Errorf("%d oversized form tokens kept", n)
	}
	if n := len(app.Lines(t, priya.ID)); n != lines {
		t.Errorf("Priya has %d lines after the refused forms, want %d", n, lines)
	}
}
