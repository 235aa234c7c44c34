package db

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"
)

// SearchSubscribers finds subscribers by the start of their account number,
// name, surname or email, or by any part of these or of their phone
// number's digits, best matches first: the account numbers that start with
// the query, in their order; then the names, the surnames and the email
// addresses that do, each in alphabetical order; then every other match, the
// oldest subscriber first. Each kind is read in the order of its own index
// and stops at limit, so a search costs about the same whether it matches
// ten subscribers or ten thousand: none sorts its matches.
func (s *Store) SearchSubscribers(ctx context.Context, query string, limit int) (_ []Subscriber, err error) {
	defer func() { err = failed("search subscribers", err) }()
	query = strings.TrimSpace(query)
	if query == "" || limit <= 0 {
		return nil, nil
	}
	prefix := escapeLike(query) + "%"
	lo, hi := nocaseRange(query)
	type tier struct {
		query string
		args  []any // before the limit, which is the last
	}
	tiers := []tier{
		{`SELECT ` + subscriberColumns + ` FROM subscribers WHERE account_number GLOB ? ORDER BY account_number LIMIT ?`,
			[]any{escapeGlob(strings.ToUpper(query)) + "*"}},
		{`SELECT ` + subscriberColumns + ` FROM subscribers INDEXED BY subscribers_name
			WHERE name LIKE ? ESCAPE '\' ORDER BY name COLLATE NOCASE, id LIMIT ?`, []any{prefix}},
		// SQLite makes a LIKE a range of the index by itself on a column,
		// but on this expression not for a query that starts with a digit:
		// the range is spelled out, and the LIKE keeps it exact.
		{`SELECT ` + subscriberColumns + ` FROM subscribers INDEXED BY subscribers_surname
			WHERE substr(name, instr(name, ' ') + 1) COLLATE NOCASE >= ? AND substr(name, instr(name, ' ') + 1) COLLATE NOCASE < ?
			AND substr(name, instr(name, ' ') + 1) LIKE ? ESCAPE '\'
			ORDER BY substr(name, instr(name, ' ') + 1) COLLATE NOCASE, id LIMIT ?`, []any{lo, hi, prefix}},
		{`SELECT ` + subscriberColumns + ` FROM subscribers INDEXED BY subscribers_email
			WHERE email LIKE ? ESCAPE '\' ORDER BY email COLLATE NOCASE, id LIMIT ?`, []any{prefix}},
	}
	if match := searchMatch(query); match != "" {
		// The trigram index hands out its matches in rowid order, so the
		// limit ends the read early. It also finds those of the kinds above,
		// which are skipped: it reads as many more as were found there.
		tiers = append(tiers, tier{`SELECT ` + subscriberColumns + ` FROM subscribers WHERE id IN
			(SELECT rowid FROM subscriber_search WHERE subscriber_search MATCH ? ORDER BY rowid LIMIT ?) ORDER BY id`, []any{match}})
	}
	var out []Subscriber
	seen := map[int64]bool{}
	for _, t := range tiers {
		if len(out) == limit {
			break
		}
		found, err := querySubscribers(ctx, s.read, t.query, append(t.args, limit-len(out)+len(seen))...)
		if err != nil {
			return nil, err
		}
		for _, sub := range found {
			if !seen[sub.ID] && len(out) < limit {
				seen[sub.ID] = true
				out = append(out, sub)
			}
		}
	}
	return out, nil
}

const subscriberColumns = `id, account_number, name, email, phone`

func querySubscribers(ctx context.Context, q queryer, query string, args ...any) ([]Subscriber, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Subscriber
	for rows.Next() {
		var sub Subscriber
		if err := rows.Scan(&sub.ID, &sub.AccountNumber, &sub.Name, &sub.Email, &sub.Phone); err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// searchMatch turns what the agent typed into a full-text query of the
// trigram index, or "" when it is too short for it. A query that looks like
// a phone number is also looked for among the phone digits.
func searchMatch(query string) string {
	if utf8.RuneCountInString(query) < 3 {
		return ""
	}
	phrase := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	match := "{account_number name email} : " + phrase(query)
	digits := onlyDigits(query)
	if len(digits) >= 3 && strings.Trim(query, "0123456789 +-()") == "" {
		match += " OR phone_digits : " + phrase(digits)
	}
	return match
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// nocaseRange is the range of NOCASE text that starts with prefix: NOCASE
// folds ASCII letters only, to lower case.
func nocaseRange(prefix string) (lo, hi string) {
	b := []byte(prefix)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	lo = string(b)
	b[len(b)-1]++ // past any text that starts with lo
	return lo, string(b)
}

// escapeGlob makes s match itself in a GLOB pattern.
func escapeGlob(s string) string {
	return strings.NewReplacer(`*`, `[*]`, `?`, `[?]`, `[`, `[[]`).Replace(s)
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Subscriber returns one subscriber.
func (s *Store) Subscriber(ctx context.Context, id int64) (_ Subscriber, err error) {
	defer func() { err = failed("load subscriber", err) }()
	return subscriber(ctx, s.read, id)
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func subscriber(ctx context.Context, q queryer, id int64) (Subscriber, error) {
	var sub Subscriber
	err := q.QueryRowContext(ctx, `SELECT id, account_number, name, email, phone FROM subscribers WHERE id = ?`, id).
		Scan(&sub.ID, &sub.AccountNumber, &sub.Name, &sub.Email, &sub.Phone)
	if errors.Is(err, sql.ErrNoRows) {
		return Subscriber{}, refuse(ErrNotFound, "", "No subscriber with that id.")
	}
	return sub, err
}

// DomesticPlans returns the subscriber's home plans, qualifying ones first.
func (s *Store) DomesticPlans(ctx context.Context, subscriberID int64) (_ []DomesticPlan, err error) {
	defer func() { err = failed("domestic plans", err) }()
	rows, err := s.read.QueryContext(ctx, `
		SELECT id, name, kind, lines, qualifies, since FROM domestic_plans
		WHERE subscriber_id = ? ORDER BY qualifies DESC, since, id`, subscriberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DomesticPlan
	for rows.Next() {
		var p DomesticPlan
		if err := rows.Scan(&p.ID, &p.Name, &p.Kind, &p.Lines, &p.Qualifies, dbTime{&p.Since}); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Allowance returns how many complimentary eSIMs the subscriber holds and may hold.
func (s *Store) Allowance(ctx context.Context, subscriberID int64) (_ Allowance, err error) {
	defer func() { err = failed("allowance", err) }()
	return allowance(ctx, s.read, subscriberID)
}

func allowance(ctx context.Context, q queryer, subscriberID int64) (Allowance, error) {
	var a Allowance
	err := q.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM esims WHERE subscriber_id = ?1 AND state = 'allocated'),
		       (SELECT count(*) FROM domestic_plans WHERE subscriber_id = ?1 AND qualifies)`, subscriberID).
		Scan(&a.Used, &a.Total)
	return a, err
}
