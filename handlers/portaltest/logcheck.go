package portaltest

import (
	"database/sql"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/demo"
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
	idx := indexSecrets(secrets)
	for _, line := range strings.Split(log, "\n") {
		for _, s := range idx.in(strings.ToLower(line)) {
			t.Errorf("portaltest: the portal's log carries %s (%q):\n%s", s.what, s.value, line)
		}
	}
}

// secretIndex finds which secrets a line carries, as typed or as a URL
// carries them, whatever the letter case, in one pass over the line: a
// benchmark's log of thousands of lines, against tens of thousands of
// subscribers, would take minutes to check secret by secret.
type secretIndex struct {
	secrets  []secret
	byPrefix map[string][]needle // needles of prefixLen bytes or more, by their first bytes
	short    []needle            // the few shorter ones
}

type needle struct {
	text   string // lower case
	secret int
}

const prefixLen = 4

func indexSecrets(secrets []secret) secretIndex {
	idx := secretIndex{secrets: secrets, byPrefix: map[string][]needle{}}
	for i, s := range secrets {
		for _, v := range []string{s.value, url.QueryEscape(s.value), url.PathEscape(s.value)} {
			n := needle{strings.ToLower(v), i}
			if len(n.text) < prefixLen {
				idx.short = append(idx.short, n)
				continue
			}
			idx.byPrefix[n.text[:prefixLen]] = append(idx.byPrefix[n.text[:prefixLen]], n)
		}
	}
	return idx
}

// in returns the secrets the lower-cased line carries, each once.
func (idx secretIndex) in(lower string) []secret {
	found := map[int]bool{}
	for _, n := range idx.short {
		if strings.Contains(lower, n.text) {
			found[n.secret] = true
		}
	}
	for i := 0; i+prefixLen <= len(lower); i++ {
		for _, n := range idx.byPrefix[lower[i:i+prefixLen]] {
			if strings.HasPrefix(lower[i:], n.text) {
				found[n.secret] = true
			}
		}
	}
	out := make([]secret, 0, len(found))
	for _, i := range slices.Sorted(maps.Keys(found)) {
		out = append(out, idx.secrets[i])
	}
	return out
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
