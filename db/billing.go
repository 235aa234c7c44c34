package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The carrier's billing system (BSS/CRM) owns the subscriber: account
// number, name, email, phone, account status and home plans. The portal
// mirrors it through the subscriber API and billing's files, and these are
// the rules of what a change means for the travel eSIMs:
//
//   - A state is billing's whole view at its as_of. One older than the
//     state held is stale and ignored: updates arrive out of order. The same
//     state again changes nothing and writes no audit entry.
//   - The allowance follows the home plans. A downgrade that leaves more
//     complimentary lines than qualifying plans keeps every line and plan
//     running and refuses new lines until a qualifying plan is added.
//   - suspended: no new line and no new plan; running plans go on.
//   - closed: the profile is read-only history; it stays findable, marked.
//   - A changed email address is where the next emails go; emails already
//     queued keep the address they were written to.
//   - Agents do not edit what billing owns: only billing changes these.

// Subscriber statuses, as billing keeps them.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusClosed    = "closed"
)

var statuses = []string{StatusActive, StatusSuspended, StatusClosed}

// Limits of what billing sends, so that one bad record cannot fill a page.
const (
	maxAccountNumberLen = 40
	maxNameLen          = 200
	maxEmailLen         = 254
	maxHomePlans        = 50
	maxHomePlanLines    = 100
	// MaxBillingBatch is the most subscribers one call or one batch of a
	// file applies at once.
	MaxBillingBatch = 1000
)

// HomePlan is a home plan as billing has it.
type HomePlan struct {
	BillingID string // billing's own id of the plan
	Name      string
	Kind      string // unlimited_all, unlimited_bundle, other
	Lines     int
	Since     time.Time // zero: the state's as_of
}

// BillingSubscriber is a subscriber's whole state as billing knows it at AsOf.
type BillingSubscriber struct {
	AccountNumber string
	Name          string
	Email         string
	Phone         string
	Status        string
	HomePlans     []HomePlan
	AsOf          time.Time
}

// Outcomes of applying one billing state.
const (
	SyncCreated   = "created"
	SyncUpdated   = "updated"
	SyncUnchanged = "unchanged"
	SyncStale     = "stale" // older than the state held: ignored
)

// SyncResult is what applying one billing state did.
type SyncResult struct {
	AccountNumber string
	SubscriberID  int64
	Outcome       string
	Changes       []string // what changed, for an update: "email", "status", "home plans"…
	// OverAllowance is set when the subscriber holds more complimentary
	// lines than qualifying plans after the change.
	OverAllowance string
}

// Changed reports whether the state changed what the portal holds.
func (r SyncResult) Changed() bool { return r.Outcome == SyncCreated || r.Outcome == SyncUpdated }

// NormalAccountNumber is an account number as the portal keeps it: upper case,
// as agents' searches look for it.
func NormalAccountNumber(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// NormalPhone keeps a phone number as +digits when billing wrote it with an
// international prefix (+ or 00), else its digits: the way search finds it
// however the agent types it.
func NormalPhone(s string) string {
	s = strings.TrimSpace(s)
	digits := onlyDigits(s)
	switch {
	case strings.HasPrefix(s, "+"):
		return "+" + digits
	case strings.HasPrefix(s, "00"):
		return "+" + strings.TrimPrefix(digits, "00")
	}
	return digits
}

// CheckBillingSubscriber checks one state, every field at once; field names
// each refusal's field behind its record, such as "subscribers[3].email".
func CheckBillingSubscriber(b BillingSubscriber, now time.Time, field func(string) string) Errors {
	var errs Errors
	bad := func(name, msg string) { errs = append(errs, refuse(ErrInvalid, field(name), msg)) }
	text := func(name, v string, max int, required bool) {
		switch {
		case v == "" && required:
			bad(name, name+" is required")
		case !utf8.ValidString(v) || strings.ContainsFunc(v, unprintable):
			bad(name, name+" has control or invisible characters")
		case utf8.RuneCountInString(v) > max:
			bad(name, fmt.Sprintf("%s is longer than %d characters", name, max))
		}
	}
	text("account_number", b.AccountNumber, maxAccountNumberLen, true)
	if b.AccountNumber != "" && strings.Trim(strings.ToUpper(b.AccountNumber), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") != "" {
		bad("account_number", "account_number may hold only letters, digits and - _ . /")
	}
	text("name", strings.TrimSpace(b.Name), maxNameLen, true)
	text("email", b.Email, maxEmailLen, true)
	if local, domain, ok := strings.Cut(b.Email, "@"); b.Email != "" && (!ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(b.Email, " \t<>,;\"")) {
		bad("email", "email is not an email address")
	}
	if b.Phone != "" {
		digits := onlyDigits(b.Phone)
		if strings.Trim(b.Phone, "0123456789 +-().") != "" || len(digits) < 6 || len(digits) > 15 {
			bad("phone", "phone must be a phone number of 6 to 15 digits, such as +447700900123")
		}
	}
	if !slices.Contains(statuses, b.Status) {
		bad("status", "status must be one of "+strings.Join(statuses, ", "))
	}
	switch {
	case b.AsOf.IsZero():
		bad("as_of", "as_of is required: billing's time of this state")
	case b.AsOf.After(now.Add(maxClockAhead)):
		bad("as_of", "as_of is in the future: more than 5 minutes ahead of the portal's clock")
	}
	if len(b.HomePlans) > maxHomePlans {
		bad("home_plans", fmt.Sprintf("at most %d home plans", maxHomePlans))
	}
	ids := map[string]bool{}
	for i, p := range b.HomePlans {
		pf := func(name string) string { return "home_plans[" + strconv.Itoa(i) + "]." + name }
		text(pf("id"), p.BillingID, 64, true)
		text(pf("name"), strings.TrimSpace(p.Name), maxNameLen, true)
		if ids[p.BillingID] && p.BillingID != "" {
			bad(pf("id"), "home plan id "+p.BillingID+" is given twice")
		}
		ids[p.BillingID] = true
		if !slices.Contains(domesticKinds, p.Kind) {
			bad(pf("kind"), "kind must be one of "+strings.Join(domesticKinds, ", "))
		}
		if p.Lines < 1 || p.Lines > maxHomePlanLines {
			bad(pf("lines"), fmt.Sprintf("lines must be from 1 to %d", maxHomePlanLines))
		}
	}
	return errs
}

// maxClockAhead is how far ahead of the portal's clock billing's as_of may be.
const maxClockAhead = 5 * time.Minute

// CheckBillingBatch checks a batch of states, every field of every record
// at once, each refusal named by its record's index ("subscribers[3].email");
// an account may be in a batch only once.
func CheckBillingBatch(subs []BillingSubscriber, now time.Time) Errors {
	var errs Errors
	seen := make(map[string]int, len(subs))
	for i, b := range subs {
		field := func(name string) string { return "subscribers[" + strconv.Itoa(i) + "]." + name }
		errs = append(errs, CheckBillingSubscriber(b, now, field)...)
		acct := NormalAccountNumber(b.AccountNumber)
		if j, twice := seen[acct]; twice && acct != "" {
			errs = append(errs, refuse(ErrInvalid, field("account_number"), fmt.Sprintf("account %s is also subscribers[%d]", acct, j)))
		}
		seen[acct] = i
	}
	return errs
}

// SyncSubscribers applies billing's states, all or nothing, in one change:
// every bad record is refused by its index and nothing is written. by is
// the API client that sent them, for the audit log.
func (s *Store) SyncSubscribers(ctx context.Context, subs []BillingSubscriber, clientID int64) (_ []SyncResult, err error) {
	defer func() { err = failed("update subscribers from billing", err) }()
	if len(subs) > MaxBillingBatch {
		return nil, refuse(ErrTooLarge, "subscribers", fmt.Sprintf("%d subscribers: at most %d at once; split the batch", len(subs), MaxBillingBatch))
	}
	if errs := CheckBillingBatch(subs, s.Now()); len(errs) > 0 {
		return nil, errs
	}
	var out []SyncResult
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		out = make([]SyncResult, len(subs))
		sy, err := newSyncer(ctx, tx, clientID)
		if err != nil {
			return err
		}
		defer sy.close()
		norm := make([]BillingSubscriber, len(subs))
		for i, b := range subs {
			norm[i] = normalBilling(b)
		}
		held, err := sy.loadHeld(ctx, norm)
		if err != nil {
			return err
		}
		var fresh []BillingSubscriber
		for i, b := range norm {
			if out[i], err = sy.apply(ctx, b, held[b.AccountNumber]); err != nil {
				return fmt.Errorf("account %s: %w", b.AccountNumber, err)
			}
			if out[i].Outcome == SyncCreated {
				fresh = append(fresh, b)
			}
		}
		ids, err := sy.createAll(ctx, fresh)
		if err != nil {
			return err
		}
		for i := range out {
			if out[i].Outcome == SyncCreated {
				out[i].SubscriberID = ids[out[i].AccountNumber]
			}
		}
		return nil
	})
	return out, err
}

// syncer applies billing states inside one change with statements prepared
// once for a whole batch.
type syncer struct {
	tx                                 *change
	clientID                           int64
	update, touch                      *sql.Stmt
	insertPlan, updatePlan, deletePlan *sql.Stmt
	lines                              *sql.Stmt
}

func newSyncer(ctx context.Context, tx *change, clientID int64) (*syncer, error) {
	sy := &syncer{tx: tx, clientID: clientID}
	stmts := []struct {
		dst **sql.Stmt
		sql string
	}{
		{&sy.update, `UPDATE subscribers SET name = ?, email = ?, phone = ?, status = ?, billing_as_of = ?, billing_changed_at = ? WHERE id = ?`},
		{&sy.touch, `UPDATE subscribers SET billing_as_of = ? WHERE id = ?`},
		{&sy.insertPlan, `INSERT INTO domestic_plans (subscriber_id, billing_id, name, kind, lines, since) VALUES (?, ?, ?, ?, ?, ?)`},
		{&sy.updatePlan, `UPDATE domestic_plans SET billing_id = ?, name = ?, kind = ?, lines = ?, since = ? WHERE id = ?`},
		{&sy.deletePlan, `DELETE FROM domestic_plans WHERE id = ?`},
		{&sy.lines, `SELECT (SELECT count(*) FROM esims WHERE subscriber_id = ?1 AND state = 'allocated'),
			(SELECT count(*) FROM domestic_plans WHERE subscriber_id = ?1 AND qualifies)`},
	}
	for _, st := range stmts {
		var err error
		if *st.dst, err = tx.PrepareContext(ctx, st.sql); err != nil {
			sy.close()
			return nil, err
		}
	}
	return sy, nil
}

func (sy *syncer) close() {
	for _, st := range []*sql.Stmt{sy.update, sy.touch, sy.insertPlan, sy.updatePlan, sy.deletePlan, sy.lines} {
		if st != nil {
			st.Close()
		}
	}
}

// held is a subscriber as the portal holds it, for comparing with billing's state.
type held struct {
	id                         int64
	name, email, phone, status string
	asOf                       string
	plans                      []DomesticPlan
	billingIDs                 []string
}

// apply applies the state of a subscriber the portal holds; one it does
// not hold comes out as created, for createAll.
func (sy *syncer) apply(ctx context.Context, b BillingSubscriber, h *held) (SyncResult, error) {
	r := SyncResult{AccountNumber: b.AccountNumber}
	asOf := formatTime(b.AsOf)
	if h == nil {
		r.Outcome = SyncCreated
		return r, nil
	}
	r.SubscriberID = h.id
	if h.asOf > asOf {
		r.Outcome = SyncStale
		return r, nil
	}
	var err error
	adopted := adoptHomePlans(h, b.HomePlans)
	b.HomePlans = sinceHeld(b.HomePlans, b.AsOf, *h)
	r.Changes = billingChanges(*h, b)
	if len(r.Changes) == 0 {
		r.Outcome = SyncUnchanged
		if asOf > h.asOf {
			if _, err = sy.touch.ExecContext(ctx, asOf, h.id); err != nil {
				return r, err
			}
		}
		if adopted { // keep billing's ids of the plans it took as they were
			err = sy.replacePlans(ctx, *h, b)
		}
		return r, err
	}
	r.Outcome = SyncUpdated
	now := formatTime(sy.tx.now)
	if _, err := sy.update.ExecContext(ctx, b.Name, b.Email, b.Phone, b.Status, asOf, now, h.id); err != nil {
		return r, err
	}
	if err := sy.replacePlans(ctx, *h, b); err != nil {
		return r, err
	}
	if r.OverAllowance, err = sy.overAllowance(ctx, h.id); err != nil {
		return r, err
	}
	detail := strings.Join(r.Changes, "; ")
	if r.OverAllowance != "" {
		detail += ". " + r.OverAllowance
	}
	return r, auditClient(ctx, sy.tx, sy.clientID, "billing_update", h.id, detail)
}

// createAll inserts the new subscribers with their home plans and audit
// entries, each kind in a few statements of many rows: the search index
// (FTS5) writes what it holds at every statement, so one a row would be
// most of a first load's time.
func (sy *syncer) createAll(ctx context.Context, subs []BillingSubscriber) (map[string]int64, error) {
	ids := make(map[string]int64, len(subs))
	if len(subs) == 0 {
		return ids, nil
	}
	now := formatTime(sy.tx.now)
	err := insertRows(ctx, sy.tx, `INSERT INTO subscribers (account_number, name, email, phone, status, billing_as_of, billing_changed_at, created_at) VALUES `,
		8, len(subs), func(i int) []any {
			b := subs[i]
			return []any{b.AccountNumber, b.Name, b.Email, b.Phone, b.Status, formatTime(b.AsOf), now, now}
		}, ` RETURNING id, account_number`, func(rows *sql.Rows) error {
			var id int64
			var account string
			if err := rows.Scan(&id, &account); err != nil {
				return err
			}
			ids[account] = id
			return nil
		})
	if err != nil {
		return nil, err
	}
	type plan struct {
		sub int64
		p   HomePlan
	}
	var plans []plan
	for _, b := range subs {
		for _, p := range sinceHeld(b.HomePlans, b.AsOf, held{}) {
			plans = append(plans, plan{ids[b.AccountNumber], p})
		}
	}
	err = insertRows(ctx, sy.tx, `INSERT INTO domestic_plans (subscriber_id, billing_id, name, kind, lines, since) VALUES `,
		6, len(plans), func(i int) []any {
			p := plans[i]
			return []any{p.sub, p.p.BillingID, p.p.Name, p.p.Kind, p.p.Lines, formatTime(p.p.Since)}
		}, "", nil)
	if err != nil {
		return nil, err
	}
	return ids, insertRows(ctx, sy.tx, `INSERT INTO audit_log (at, api_client_id, action, subscriber_id, detail) VALUES `,
		5, len(subs), func(i int) []any {
			b := subs[i]
			return []any{now, nullID(sy.clientID), "billing_create", ids[b.AccountNumber],
				fmt.Sprintf("status %s; home plans: %s", b.Status, homePlanNames(b.HomePlans))}
		}, "", nil)
}

// insertRows inserts n rows of cols values each, as many to a statement as
// SQLite's limit of parameters allows; each RETURNING row goes to scan.
func insertRows(ctx context.Context, tx *change, insert string, cols, n int, row func(int) []any, returning string, scan func(*sql.Rows) error) error {
	const maxParams = 32766
	per := maxParams / cols
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		args := make([]any, 0, (end-start)*cols)
		for i := start; i < end; i++ {
			args = append(args, row(i)...)
		}
		query := insert + strings.TrimSuffix(strings.Repeat(one+", ", end-start), ", ") + returning
		if scan == nil {
			if _, err := tx.ExecContext(ctx, query, args...); err != nil {
				return err
			}
			continue
		}
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

// loadHeld reads the subscribers of a batch the portal holds, with their
// home plans, in two statements: one a subscriber would cost a first load
// and a nightly export more than the rest of their work.
func (sy *syncer) loadHeld(ctx context.Context, subs []BillingSubscriber) (map[string]*held, error) {
	accounts := make([]string, len(subs))
	for i, b := range subs {
		accounts[i] = b.AccountNumber
	}
	list, err := json.Marshal(accounts)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*held, len(subs))
	byID := make(map[int64]*held, len(subs))
	rows, err := sy.tx.QueryContext(ctx, `SELECT id, account_number, name, email, phone, status, coalesce(billing_as_of, '')
		FROM subscribers WHERE account_number IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		h := &held{}
		var account string
		if err := rows.Scan(&h.id, &account, &h.name, &h.email, &h.phone, &h.status, &h.asOf); err != nil {
			return nil, err
		}
		out[account], byID[h.id] = h, h
		ids = append(ids, h.id)
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return out, err
	}
	if list, err = json.Marshal(ids); err != nil {
		return nil, err
	}
	plans, err := sy.tx.QueryContext(ctx, `SELECT subscriber_id, id, coalesce(billing_id, ''), name, kind, lines, since FROM domestic_plans
		WHERE subscriber_id IN (SELECT value FROM json_each(?)) ORDER BY subscriber_id, id`, string(list))
	if err != nil {
		return nil, err
	}
	defer plans.Close()
	for plans.Next() {
		var p DomesticPlan
		var sub int64
		var billingID string
		if err := plans.Scan(&sub, &p.ID, &billingID, &p.Name, &p.Kind, &p.Lines, dbTime{&p.Since}); err != nil {
			return nil, err
		}
		h := byID[sub]
		h.plans = append(h.plans, p)
		h.billingIDs = append(h.billingIDs, billingID)
	}
	return out, plans.Err()
}

// replacePlans makes the subscriber's home plans billing's: a plan billing
// still has (by its id) is updated in place, the others go, new ones come.
func (sy *syncer) replacePlans(ctx context.Context, h held, b BillingSubscriber) error {
	kept := map[string]int64{}
	for i, p := range h.plans {
		if id := h.billingIDs[i]; id != "" && slices.ContainsFunc(b.HomePlans, func(n HomePlan) bool { return n.BillingID == id }) {
			kept[id] = p.ID
			continue
		}
		if _, err := sy.deletePlan.ExecContext(ctx, p.ID); err != nil {
			return err
		}
	}
	for _, p := range b.HomePlans {
		var err error
		if id, ok := kept[p.BillingID]; ok {
			_, err = sy.updatePlan.ExecContext(ctx, p.BillingID, p.Name, p.Kind, p.Lines, formatTime(p.Since), id)
		} else {
			_, err = sy.insertPlan.ExecContext(ctx, h.id, p.BillingID, p.Name, p.Kind, p.Lines, formatTime(p.Since))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// overAllowance says so when the subscriber holds more complimentary lines
// than qualifying plans: every line runs on, no new one is given.
func (sy *syncer) overAllowance(ctx context.Context, id int64) (string, error) {
	var a Allowance
	if err := sy.lines.QueryRowContext(ctx, id).Scan(&a.Used, &a.Total); err != nil {
		return "", err
	}
	return a.Over(), nil
}

// Over says what it means when a subscriber holds more complimentary lines
// than qualifying plans, as after a downgrade in billing; "" when they do not.
func (a Allowance) Over() string {
	if a.Used <= a.Total {
		return ""
	}
	return fmt.Sprintf("%s, %s: no new line until a qualifying plan is added",
		plural(a.Used, "line", "lines"), plural(a.Total, "qualifying plan", "qualifying plans"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// adoptHomePlans gives a home plan the portal held before billing named it
// (loaded with no id of billing's) the id of billing's plan that is the same
// (name, kind and lines), so that billing's first state of a subscriber
// changes only what it really changes.
func adoptHomePlans(h *held, plans []HomePlan) (adopted bool) {
	for i, id := range h.billingIDs {
		if id != "" {
			continue
		}
		p := h.plans[i]
		for _, n := range plans {
			if n.Name == p.Name && n.Kind == p.Kind && n.Lines == p.Lines && !slices.Contains(h.billingIDs, n.BillingID) {
				h.billingIDs[i] = n.BillingID
				adopted = true
				break
			}
		}
	}
	return adopted
}

// sinceHeld fills in the start of the home plans billing sent without one:
// a plan the portal holds keeps its own, a new one starts at the state's
// as_of.
func sinceHeld(plans []HomePlan, asOf time.Time, h held) []HomePlan {
	for i, p := range plans {
		if !p.Since.IsZero() {
			continue
		}
		plans[i].Since = asOf
		for j, id := range h.billingIDs {
			if id == p.BillingID && id != "" {
				plans[i].Since = h.plans[j].Since
			}
		}
	}
	return plans
}

// normalBilling is a state as the portal keeps it.
func normalBilling(b BillingSubscriber) BillingSubscriber {
	b.AccountNumber = NormalAccountNumber(b.AccountNumber)
	b.Name = strings.Join(strings.Fields(b.Name), " ")
	b.Email = strings.TrimSpace(b.Email)
	b.Phone = NormalPhone(b.Phone)
	b.AsOf = b.AsOf.UTC().Truncate(time.Millisecond)
	plans := make([]HomePlan, len(b.HomePlans))
	for i, p := range b.HomePlans {
		p.Name = strings.Join(strings.Fields(p.Name), " ")
		p.Since = p.Since.UTC().Truncate(time.Millisecond)
		plans[i] = p
	}
	slices.SortFunc(plans, func(a, b HomePlan) int { return strings.Compare(a.BillingID, b.BillingID) })
	b.HomePlans = plans
	return b
}

// billingChanges lists what billing's state changes of what the portal
// holds, as the audit log says it; nil when nothing.
func billingChanges(h held, b BillingSubscriber) []string {
	var out []string
	if h.name != b.Name {
		out = append(out, fmt.Sprintf("name %s → %s", h.name, b.Name))
	}
	if h.email != b.Email {
		out = append(out, "email changed") // the address itself stays out of the log
	}
	if NormalPhone(h.phone) != b.Phone {
		out = append(out, "phone changed")
	}
	if h.status != b.Status {
		out = append(out, fmt.Sprintf("status %s → %s", h.status, b.Status))
	}
	type plan struct {
		name, kind string
		lines      int
		since      string
	}
	was := map[string]plan{}
	var added, removed, changed []string
	for i, p := range h.plans {
		id := h.billingIDs[i]
		if id == "" || !slices.ContainsFunc(b.HomePlans, func(n HomePlan) bool { return n.BillingID == id }) {
			removed = append(removed, p.Name)
			continue
		}
		was[id] = plan{p.Name, p.Kind, p.Lines, formatTime(p.Since)}
	}
	for _, p := range b.HomePlans {
		old, ok := was[p.BillingID]
		switch {
		case !ok:
			added = append(added, p.Name)
		case old != plan{p.Name, p.Kind, p.Lines, formatTime(p.Since)}:
			changed = append(changed, p.Name)
		}
	}
	if len(added)+len(removed)+len(changed) > 0 {
		var parts []string
		for _, p := range added {
			parts = append(parts, "+"+p)
		}
		for _, p := range removed {
			parts = append(parts, "−"+p)
		}
		for _, p := range changed {
			parts = append(parts, p+" changed")
		}
		out = append(out, "home plans: "+strings.Join(parts, ", "))
	}
	return out
}

func homePlanNames(plans []HomePlan) string {
	if len(plans) == 0 {
		return "none"
	}
	names := make([]string, len(plans))
	for i, p := range plans {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// SubscriberByAccount returns the subscriber of an account number, as
// billing and agents write it.
func (s *Store) SubscriberByAccount(ctx context.Context, account string) (_ Subscriber, err error) {
	defer func() { err = failed("load subscriber by account", err) }()
	sub, err := scanSubscriber(s.read.QueryRowContext(ctx, `SELECT `+subscriberColumns+` FROM subscribers WHERE account_number = ?`,
		NormalAccountNumber(account)))
	if errors.Is(err, sql.ErrNoRows) {
		return sub, refuse(ErrNotFound, "", "No subscriber with account number "+NormalAccountNumber(account)+".")
	}
	return sub, err
}

// OverAllowance lists the subscribers who hold more complimentary lines than
// qualifying plans, as after a downgrade in billing, with their allowance:
// the team leads' list of who may be given no new line.
func (s *Store) OverAllowance(ctx context.Context, limit int) (_ []SubscriberAllowance, err error) {
	defer func() { err = failed("subscribers over their allowance", err) }()
	rows, err := s.read.QueryContext(ctx, `
		SELECT `+prefixed("s.", subscriberColumns)+`, u.used,
			(SELECT count(*) FROM domestic_plans d WHERE d.subscriber_id = s.id AND d.qualifies) AS total
		FROM (SELECT subscriber_id, count(*) AS used FROM esims WHERE state = 'allocated' GROUP BY subscriber_id) u
		JOIN subscribers s ON s.id = u.subscriber_id
		WHERE u.used > total ORDER BY s.name COLLATE NOCASE, s.id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SubscriberAllowance
	for rows.Next() {
		var sa SubscriberAllowance
		var err error
		if sa.Subscriber, err = scanSubscriber(rows, &sa.Allowance.Used, &sa.Allowance.Total); err != nil {
			return nil, err
		}
		out = append(out, sa)
	}
	return out, rows.Err()
}

// SubscriberAllowance is a subscriber with their allowance.
type SubscriberAllowance struct {
	Subscriber
	Allowance Allowance
}

func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ", ")
	for i, p := range parts {
		parts[i] = prefix + p
	}
	return strings.Join(parts, ", ")
}

// changeable loads the subscriber a change is about and refuses the change
// when billing's status forbids it (RefuseForStatus).
func changeable(ctx context.Context, tx queryer, id int64, newThing bool) (Subscriber, error) {
	sub, err := subscriber(ctx, tx, id)
	if err != nil {
		return sub, err
	}
	if e := RefuseForStatus(sub, newThing); e != nil {
		return sub, e
	}
	return sub, nil
}

// RefuseForStatus is the refusal of a change to a subscriber that billing
// suspended or closed, or nil: newThing is a new line or plan, which a
// suspended account may not get either; a closed account is read-only.
func RefuseForStatus(sub Subscriber, newThing bool) *Error {
	switch {
	case sub.Status == StatusClosed:
		return refuse(ErrNotEligible, "", sub.Name+"'s account is closed in billing: the profile is read-only history.")
	case sub.Status == StatusSuspended && newThing:
		return refuse(ErrNotEligible, "", sub.Name+"'s account is suspended in billing: no new line or plan until billing restores it. Running plans go on.")
	}
	return nil
}

// MaxClosingShare is the share of the subscribers a full import may close
// without being told how many to expect: a file cut short, or the export
// of the wrong system, must not close a carrier's customers.
const MaxClosingShare = 0.02

// CheckClosing refuses a full import that would close more than
// MaxClosingShare of the held subscribers, unless allow says exactly how
// many closings are expected.
func CheckClosing(closing, held, allow int) error {
	switch {
	case allow > 0 && closing != allow:
		return refuse(ErrConflict, "", fmt.Sprintf("the file would close %d subscribers, not the %d that --allow-closing expects; nothing was changed", closing, allow))
	case allow == 0 && float64(closing) > MaxClosingShare*float64(held):
		return refuse(ErrConflict, "", fmt.Sprintf("the file would close %d of %d subscribers, more than %.0f%%; nothing was changed. If that is right, run it again with --allow-closing %d",
			closing, held, MaxClosingShare*100, closing))
	}
	return nil
}

// EachOpenAccount calls fn with the account number of every subscriber
// billing has not closed, in order.
func (s *Store) EachOpenAccount(ctx context.Context, fn func(string) error) (err error) {
	defer func() { err = failed("list open accounts", err) }()
	rows, err := s.read.QueryContext(ctx, `SELECT account_number FROM subscribers WHERE status <> 'closed' ORDER BY account_number`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CloseAccounts closes the subscribers of these accounts, which billing's
// full export no longer holds, as of asOf; each closing is audited. Up to
// MaxBillingBatch at once.
func (s *Store) CloseAccounts(ctx context.Context, accounts []string, asOf time.Time, clientID int64) (closed int, err error) {
	defer func() { err = failed("close accounts missing from billing", err) }()
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		closed = 0
		for _, a := range accounts {
			var id int64
			var status string
			err := tx.QueryRowContext(ctx, `SELECT id, status FROM subscribers
				WHERE account_number = ? AND status <> 'closed' AND coalesce(billing_as_of, '') <= ?`, a, formatTime(asOf)).Scan(&id, &status)
			if errors.Is(err, sql.ErrNoRows) {
				continue // closed already, or billing sent a newer state since
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET status = 'closed', billing_as_of = ?, billing_changed_at = ? WHERE id = ?`,
				formatTime(asOf), formatTime(tx.now), id); err != nil {
				return err
			}
			closed++
			if err := auditClient(ctx, tx, clientID, "billing_update", id, "status "+status+" → closed: not in billing's full export"); err != nil {
				return err
			}
		}
		return nil
	})
	return closed, err
}
