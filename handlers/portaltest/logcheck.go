package portaltest

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/db/demo"
)

// The log of every portal a test starts is checked when the test ends: no
// line may carry a subscriber's email address, name or phone number, an
// activation code, a password or a token. As every handler and browser test
// runs on this package, and the crash test checks the real program's log
// the same way, a run of the tests greps the log of all of them.

// CheckLog fails the test for each line of log that carries customer data
// or a secret the database behind it holds, or one of tokens, naming what
// it found.
func CheckLog(t testing.TB, data *sql.DB, log string, tokens ...string) {
	t.Helper()
	secrets := secrets(t, data)
	for _, tok := range tokens {
		if tok != "" {
			secrets = append(secrets, secret{"a token", tok})
		}
	}
	for _, line := range strings.Split(log, "\n") {
		lower := strings.ToLower(line)
		for _, s := range secrets {
			// As typed, and as a URL carries it.
			for _, v := range []string{s.value, url.QueryEscape(s.value), url.PathEscape(s.value)} {
				if strings.Contains(lower, strings.ToLower(v)) {
					t.Errorf("portaltest: the portal's log carries %s (%q):\n%s", s.what, s.value, line)
					break
				}
			}
		}
	}
}

type secret struct{ what, value string }

// secrets is what the log must never carry, as the database holds it now.
func secrets(t testing.TB, data *sql.DB) []secret {
	t.Helper()
	out := []secret{{"a demo password", demo.AgentPassword}, {"a demo password", demo.LeadPassword}}
	for _, q := range []struct{ what, query string }{
		{"a subscriber's email address", `SELECT email FROM subscribers`},
		{"a subscriber's name", `SELECT name FROM subscribers`},
		{"a subscriber's phone number", `SELECT phone FROM subscribers`},
		{"an eSIM's matching ID", `SELECT matching_id FROM esims`},
		{"a sign-in session id", `SELECT id FROM sessions`},
		{"a one-time form token", `SELECT token FROM form_submissions`},
	} {
		rows, err := data.Query(q.query)
		if err != nil {
			t.Errorf("portaltest: %s: %v", q.query, err)
			continue
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err == nil && len(v) >= 4 {
				out = append(out, secret{q.what, v})
			}
		}
		rows.Close()
	}
	return out
}
