package db

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Found is a subscriber a search found, and what of theirs matched.
type Found struct {
	Subscriber
	// Matched names what matched: one of MatchICCID, MatchOrder,
	// MatchAccount, MatchName, MatchEmail, MatchPhone.
	Matched string
	// Value is what matched in full (the ICCID, the order number, the
	// account number, …) and Part the part of it the query matched.
	Value, Part string
	// Exact: a whole ICCID, order number or account number, which is only
	// ever one customer's.
	Exact bool
}

// What a search matched.
const (
	MatchICCID   = "iccid"
	MatchOrder   = "order"
	MatchAccount = "account"
	MatchName    = "name"
	MatchEmail   = "email"
	MatchPhone   = "phone"
)

// SearchSubscribers finds subscribers by the start of their account number,
// name, surname or email, or by any part of these or of their phone
// number's digits, best matches first: the ICCIDs that end in the query's
// digits and the orders it numbers; then the account numbers that start with
// the query, in their order; then the names, the surnames and the email
// addresses that do, each in alphabetical order; then every other match, the
// oldest subscriber first. Each kind is read in the order of its own index
// and stops at limit, so a search costs about the same whether it matches
// ten subscribers or ten thousand: none sorts its matches.
//
// An eSIM and its orders stay the customer's after Replace eSIM took the
// eSIM off their line: a retired eSIM's ICCID and its orders find whoever
// holds the line now, by the eSIMs that replaced it.
func (s *Store) SearchSubscribers(ctx context.Context, query string, limit int) (_ []Found, err error) {
	defer func() { err = failed("search subscribers", err) }()
	query = cleanSearch(query)
	if query == "" || limit <= 0 {
		return nil, nil
	}
	prefix := escapeLike(query) + "%"
	lo, hi := nocaseRange(query)
	type tier struct {
		query   string
		args    []any  // before the limit, which is the last
		matched string // what matched, when the query says; else worked out per subscriber
		// held: the query is a heldSQL, found are the subscribers who
		// hold its eSIMs now.
		held bool
	}
	var tiers []tier
	// What only one line or one order has: an ICCID, whole or its last four
	// or more digits, and an order number, as a customer reads them out.
	// Each also returns the ICCID or order number that matched.
	if digits := onlyDigits(query); len(digits) >= 4 && strings.Trim(query, "0123456789 -") == "" {
		args := []any{digits[len(digits)-4:], "*" + digits}
		// The ICCIDs are matched in the index alone, which holds them: only
		// those that match are read from the table.
		tiers = append(tiers, tier{heldSQL("e.iccid", `esims e`, `e.iccid IN (SELECT iccid FROM esims INDEXED BY esims_list_iccid_last4
			WHERE substr(iccid, -4) = ? AND iccid GLOB ?)`),
			append(args, args...), MatchICCID, true})
	}
	if numbers := s.orderNumbersOf(ctx, query); len(numbers) > 0 {
		tiers = append(tiers, tier{heldSQL("ep.order_number", `esim_plans ep JOIN esims e ON e.iccid = ep.iccid`,
			`ep.order_number IN (?`+strings.Repeat(", ?", len(numbers)-1)+`)`),
			anys(append(numbers, numbers...)), MatchOrder, true})
	}
	tiers = append(tiers, tier{`SELECT ` + subscriberColumns + `, account_number FROM subscribers WHERE account_number GLOB ? ORDER BY account_number LIMIT ?`,
		[]any{escapeGlob(strings.ToUpper(query)) + "*"}, MatchAccount, false})
	if strings.ContainsFunc(query, unicode.IsLetter) { // no name starts with a number
		tiers = append(tiers, []tier{
			{`SELECT ` + subscriberColumns + `, name FROM subscribers INDEXED BY subscribers_name
			WHERE name LIKE ? ESCAPE '\' ORDER BY name COLLATE NOCASE, id LIMIT ?`, []any{prefix}, MatchName, false},
			// SQLite makes a LIKE a range of the index by itself on a column,
			// but on this expression not for a query that starts with a digit:
			// the range is spelled out, and the LIKE keeps it exact.
			{`SELECT ` + subscriberColumns + `, name FROM subscribers INDEXED BY subscribers_surname
			WHERE substr(name, instr(name, ' ') + 1) COLLATE NOCASE >= ? AND substr(name, instr(name, ' ') + 1) COLLATE NOCASE < ?
			AND substr(name, instr(name, ' ') + 1) LIKE ? ESCAPE '\'
			ORDER BY substr(name, instr(name, ' ') + 1) COLLATE NOCASE, id LIMIT ?`, []any{lo, hi, prefix}, MatchName, false},
		}...)
	}
	tiers = append(tiers, tier{`SELECT ` + subscriberColumns + `, email FROM subscribers INDEXED BY subscribers_email
		WHERE email LIKE ? ESCAPE '\' ORDER BY email COLLATE NOCASE, id LIMIT ?`, []any{prefix}, MatchEmail, false})
	if digits, ok := phoneDigits(query); ok {
		// A number, as a customer reads it out: the end of an account
		// number (digits alone), then of a phone number, each a range of
		// its reversed index (0022), in that index's order. The trigram
		// index is not asked: every phone number puts its digits in it, and
		// a string of digits that few numbers hold reads all of them.
		if onlyDigits(query) == query {
			tiers = append(tiers, tier{`SELECT ` + subscriberColumns + `, account_number FROM subscribers INDEXED BY subscribers_account_end
				WHERE account_reversed >= ? AND account_reversed < ? ORDER BY account_reversed LIMIT ?`,
				anys(reversedRange(query)), MatchAccount, false})
		}
		tiers = append(tiers, tier{`SELECT ` + subscriberColumns + `, phone FROM subscribers INDEXED BY subscribers_phone_end
			WHERE phone_reversed >= ? AND phone_reversed < ? ORDER BY phone_reversed LIMIT ?`,
			anys(reversedRange(digits)), MatchPhone, false})
	} else if match := searchMatch(query); match != "" {
		// The trigram index hands out its matches in rowid order, so the
		// limit ends the read early. It also finds those of the kinds above,
		// which are skipped: it reads as many more as were found there.
		tiers = append(tiers, tier{`SELECT ` + subscriberColumns + `, '' FROM subscribers WHERE id IN
			(SELECT rowid FROM subscriber_search WHERE subscriber_search MATCH ? ORDER BY rowid LIMIT ?) ORDER BY id`, []any{match}, "", false})
	}
	var out []Found
	seen := map[int64]bool{}
	whole := false // a whole ICCID, order number, account number or email matched
	for _, t := range tiers {
		if len(out) == limit || whole {
			// A whole number or address is one customer's: the kinds after
			// the one that found it would only add values that hold it
			// inside them, the trigram index after a read of every entry
			// that shares a trigram with it.
			break
		}
		var found []Found
		if t.held {
			found, err = s.holdersOf(ctx, limit-len(out)+len(seen), t.query, t.args...)
		} else {
			found, err = queryFound(ctx, s.read, t.query, append(t.args, limit-len(out)+len(seen))...)
		}
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			if seen[f.ID] || len(out) == limit {
				continue
			}
			seen[f.ID] = true
			f.Matched = t.matched
			f.describeMatch(query)
			whole = whole || f.Exact || f.Matched == MatchEmail && strings.EqualFold(f.Value, query)
			out = append(out, f)
		}
	}
	return out, nil
}

// ExactMatch is the one subscriber a whole ICCID, order number or account
// number matched, if the search found exactly one such.
func ExactMatch(results []Found) (Found, bool) {
	var exact []Found
	for _, f := range results {
		if f.Exact {
			exact = append(exact, f)
		}
	}
	if len(exact) == 1 {
		return exact[0], true
	}
	return Found{}, false
}

// heldSQL reads the eSIMs e that from and where find, each with what it
// was found by (key): those on a line with their subscriber, read in one
// pass of the index where uses as before; then, with no subscriber, those
// Replace eSIM took off a line, with the eSIM that replaced them. Its
// arguments are where's, twice.
func heldSQL(key, from, where string) string {
	return `SELECT s.` + strings.ReplaceAll(subscriberColumns, ", ", ", s.") + `, ` + key + `, ''
		FROM ` + from + ` JOIN subscribers s ON s.id = e.subscriber_id WHERE ` + where + `
		UNION ALL
		SELECT 0, '', '', '', '', 0, '', NULL, NULL, ` + key + `, e.replaced_by FROM ` + from + `
		WHERE ` + where + ` AND e.replaced_by IS NOT NULL`
}

// holdersOf is the subscribers who hold the eSIMs a heldSQL query reads,
// now, the first limit by id, each with the least key of theirs as the
// Value: an eSIM that Replace eSIM took off a line is its holder's by the
// eSIMs that replaced it (lineHolder).
func (s *Store) holdersOf(ctx context.Context, limit int, query string, args ...any) ([]Found, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var all []Found
	var replaced []string // the eSIM that replaced each of all's without a subscriber
	for rows.Next() {
		var f Found
		var next string
		if f.Subscriber, err = scanSubscriber(rows, &f.Value, &next); err != nil {
			rows.Close()
			return nil, err
		}
		all = append(all, f)
		replaced = append(replaced, next)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	byID := map[int64]Found{}
	for i, f := range all {
		if replaced[i] != "" {
			owner, _, err := lineHolder(ctx, s.read, replaced[i])
			if err != nil {
				return nil, err
			}
			if owner == 0 {
				continue
			}
			if f.Subscriber, err = subscriber(ctx, s.read, owner); err != nil {
				return nil, err
			}
		}
		if had, ok := byID[f.ID]; !ok || f.Value < had.Value {
			byID[f.ID] = f
		}
	}
	out := slices.SortedFunc(maps.Values(byID), func(a, b Found) int { return cmp.Compare(a.ID, b.ID) })
	return out[:min(limit, len(out))], nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// describeMatch says what of the subscriber the query matched, and whether
// it is a whole ICCID, order number or account number.
func (f *Found) describeMatch(query string) {
	switch f.Matched {
	case MatchICCID:
		digits := onlyDigits(query)
		f.Part, f.Exact = digits, digits == f.Value
		return
	case MatchOrder:
		// A serial alone matched the serial; anything else the whole number.
		f.Part, f.Exact = f.Value, true
		if _, whole := orderNumberOf(query); !whole {
			f.Part = f.Value[strings.LastIndexByte(f.Value, '-')+1:]
		}
		return
	}
	// The text kinds, and the trigram index's matches, which may be any of
	// them: the first field that holds the query.
	for _, c := range []struct{ matched, value string }{
		{MatchAccount, f.AccountNumber}, {MatchName, f.Name}, {MatchEmail, f.Email},
	} {
		if f.Matched != "" && f.Matched != c.matched {
			continue
		}
		if i := indexFold(c.value, query); i >= 0 {
			f.Matched, f.Value, f.Part = c.matched, c.value, c.value[i:i+len(query)]
			f.Exact = c.matched == MatchAccount && len(query) == len(c.value)
			return
		}
	}
	if f.Matched == "" {
		f.Matched, f.Value, f.Part = MatchPhone, f.Phone, ""
	}
}

// indexFold is where needle first is in s, ignoring the case of ASCII
// letters (as the search does); -1 if it is not.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

// orderNumbersOf reads the order numbers a query may be, as a customer
// reads one out: "ORD-2026-000123", "ord 2026 123" or "2026-000123" is one;
// a serial alone, "000123" as printed, is that serial in each year the
// portal has taken orders in, oldest first.
func (s *Store) orderNumbersOf(ctx context.Context, query string) []string {
	if number, ok := orderNumberOf(query); ok {
		return []string{number}
	}
	if len(query) < 6 || len(query) > 9 || onlyDigits(query) != query {
		return nil
	}
	n, _ := strconv.Atoi(query)
	// The first and the last order number are the ends of its index.
	var first, last string
	if err := s.read.QueryRowContext(ctx, `SELECT coalesce((SELECT min(order_number) FROM esim_plans), ''),
		coalesce((SELECT max(order_number) FROM esim_plans), '')`).Scan(&first, &last); err != nil || first == "" {
		return nil
	}
	year := func(number string) int {
		y, _ := strconv.Atoi(strings.TrimPrefix(number, "ORD-")[:min(4, len(number))])
		return y
	}
	var out []string
	for year, to := year(first), year(last); year <= to && year > 0; year++ {
		out = append(out, fmt.Sprintf("ORD-%04d-%06d", year, n))
	}
	return out
}

// orderNumberOf reads an order number as a customer reads it out:
// "ORD-2026-000123", "ord 2026 123" or "2026-000123".
func orderNumberOf(query string) (string, bool) {
	q := strings.TrimSpace(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(query)), "ORD"))
	q = strings.TrimSpace(strings.TrimPrefix(q, "-"))
	year, serial, ok := strings.Cut(strings.ReplaceAll(q, " ", "-"), "-")
	if !ok || len(year) != 4 || onlyDigits(year) != year || serial == "" || onlyDigits(serial) != serial || len(serial) > 9 {
		return "", false
	}
	n, err := strconv.Atoi(serial)
	if err != nil {
		return "", false
	}
	return fmt.Sprintf("ORD-%s-%06d", year, n), true
}

const subscriberColumns = `id, account_number, name, email, phone, plan_notices, status, billing_as_of, billing_changed_at`

// scanSubscriber reads subscriberColumns, and then extra.
func scanSubscriber(row interface{ Scan(...any) error }, extra ...any) (Subscriber, error) {
	var sub Subscriber
	var asOf, changed nullTime
	err := row.Scan(append([]any{&sub.ID, &sub.AccountNumber, &sub.Name, &sub.Email, &sub.Phone, &sub.PlanNotices, &sub.Status, &asOf, &changed}, extra...)...)
	sub.BillingAsOf, sub.BillingChangedAt = asOf.Time, changed.Time
	return sub, err
}

func queryFound(ctx context.Context, q queryer, query string, args ...any) ([]Found, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Found
	for rows.Next() {
		var f Found
		if f.Subscriber, err = scanSubscriber(rows, &f.Value); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// searchMatch turns what the agent typed into a full-text query of the
// trigram index of account numbers, names and emails, or "" when it is too
// short for it.
func searchMatch(query string) string {
	if utf8.RuneCountInString(query) < 3 {
		return ""
	}
	return `{account_number name email} : "` + strings.ReplaceAll(query, `"`, `""`) + `"`
}

// phoneDigits reads a query that is a number, as a phone number is written
// in any format: digits, spaces, dashes, dots, brackets, and an
// international prefix written + or 00 (left out of the digits, as the
// kept numbers have it as +). ok is false for anything else, or for fewer
// than 3 digits.
func phoneDigits(query string) (digits string, ok bool) {
	if strings.Trim(query, "0123456789 +-().") != "" {
		return "", false
	}
	digits = onlyDigits(query)
	if strings.HasPrefix(query, "00") {
		digits = strings.TrimPrefix(digits, "00")
	}
	return digits, len(digits) >= 3
}

// reversedRange is the range of a reversed index (0022) whose values are
// those that end with end: from end back to front, to the same with its
// last character one higher.
func reversedRange(end string) []string {
	b := []byte(end)
	slices.Reverse(b)
	lo := string(b)
	b[len(b)-1]++
	return []string{lo, string(b)}
}

// cleanSearch is what was typed into a search box as the store looks for
// it: valid UTF-8, without control or invisible format characters (a NUL
// ends an FTS5 query string early), every run of spaces one space, trimmed.
// Every search input goes through it.
func cleanSearch(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "") {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
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
	sub, err := scanSubscriber(q.QueryRowContext(ctx, `SELECT `+subscriberColumns+` FROM subscribers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Subscriber{}, refuse(ErrNotFound, "", "No subscriber with that id.")
	}
	return sub, err
}

// DomesticPlans returns the subscriber's home plans, qualifying ones first.
func (s *Store) DomesticPlans(ctx context.Context, subscriberID int64) (_ []DomesticPlan, err error) {
	defer func() { err = failed("domestic plans", err) }()
	rows, err := s.read.QueryContext(ctx, `
		SELECT id, coalesce(billing_id, ''), name, kind, lines, qualifies, since FROM domestic_plans
		WHERE subscriber_id = ? ORDER BY qualifies DESC, since, id`, subscriberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DomesticPlan
	for rows.Next() {
		var p DomesticPlan
		if err := rows.Scan(&p.ID, &p.BillingID, &p.Name, &p.Kind, &p.Lines, &p.Qualifies, dbTime{&p.Since}); err != nil {
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

// allowance counts the subscriber's eSIMs in their own index. The SQLite
// built in picks it by itself today; an older one (the sqlite3 shell's
// 3.40) walks every allocated eSIM instead, as heldLinesQuery did, so the
// index is named.
func allowance(ctx context.Context, q queryer, subscriberID int64) (Allowance, error) {
	var a Allowance
	err := q.QueryRowContext(ctx, allowanceQuery, subscriberID).Scan(&a.Used, &a.Total)
	return a, err
}

const allowanceQuery = `
		SELECT (SELECT count(*) FROM esims INDEXED BY esims_line_name WHERE subscriber_id = ?1 AND state = 'allocated'),
		       (SELECT count(*) FROM domestic_plans WHERE subscriber_id = ?1 AND qualifies)`

// Kinds of home plan: each Unlimited All plan or Unlimited bundle entitles
// the subscriber to one complimentary travel eSIM.
var domesticKinds = []string{"unlimited_all", "unlimited_bundle", "other"}

// NewSubscriber is a customer as the carrier's records have them, with their
// home plans. Of the home plans, Name, Kind (one of unlimited_all,
// unlimited_bundle, other), Lines and Since are read; a zero Since is the
// customer's.
type NewSubscriber struct {
	Subscriber           // ID is not read
	Since      time.Time // customer since; the change's time when zero
	Home       []DomesticPlan
}

// AddSubscribers adds customers with their home plans, all in one change, and
// returns them with their ids. The portal's screens never add subscribers:
// they come from the carrier's customer records, and this is how a data set
// such as the demo's gets them. Every subscriber needs an account number, a
// name and an email address, and an account number already taken is refused.
func (s *Store) AddSubscribers(ctx context.Context, subs []NewSubscriber) ([]Subscriber, error) {
	var errs Errors
	for _, ns := range subs {
		sub := ns.Subscriber
		if sub.AccountNumber == "" || sub.Name == "" || !strings.Contains(sub.Email, "@") {
			errs = append(errs, refuse(ErrInvalid, "", fmt.Sprintf("subscriber %q needs an account number, a name and an email address", sub.AccountNumber)))
		}
		for _, p := range ns.Home {
			if !slices.Contains(domesticKinds, p.Kind) {
				errs = append(errs, refuse(ErrInvalid, "", fmt.Sprintf("subscriber %s: home plan %q is of kind %q, not one of %s",
					sub.AccountNumber, p.Name, p.Kind, strings.Join(domesticKinds, ", "))))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var out []Subscriber
	err := s.inTx(ctx, func(ctx context.Context, tx *change) error {
		out = make([]Subscriber, 0, len(subs))
		for _, ns := range subs {
			sub, since := ns.Subscriber, ns.Since
			if since.IsZero() {
				since = tx.now
			}
			err := tx.QueryRowContext(ctx, `INSERT INTO subscribers (account_number, name, email, phone, created_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (account_number) DO NOTHING RETURNING id, plan_notices, status`,
				sub.AccountNumber, sub.Name, sub.Email, sub.Phone, formatTime(since)).Scan(&sub.ID, &sub.PlanNotices, &sub.Status)
			if errors.Is(err, sql.ErrNoRows) {
				return refuse(ErrConflict, "", "Account number "+sub.AccountNumber+" is already a subscriber's.")
			}
			if err != nil {
				return fmt.Errorf("store: unable to add subscriber %s: %w", sub.AccountNumber, err)
			}
			for _, p := range ns.Home {
				if p.Since.IsZero() {
					p.Since = since
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO domestic_plans (subscriber_id, name, kind, lines, since) VALUES (?, ?, ?, ?, ?)`,
					sub.ID, p.Name, p.Kind, max(p.Lines, 1), formatTime(p.Since)); err != nil {
					return fmt.Errorf("store: unable to add home plan %q of %s: %w", p.Name, sub.AccountNumber, err)
				}
			}
			out = append(out, sub)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
