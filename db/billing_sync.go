package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The SQL of billing's states: loading what the portal holds of a batch,
// writing what changed, and the lists team leads and the full import read.
// The rules they apply are in billing.go.

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
	return s.syncChecked(ctx, subs, clientID)
}

// SyncSubscriber applies one subscriber's state, as SyncSubscribers does a
// batch of one; its refusals name its fields bare ("email"), not by a
// record's index.
func (s *Store) SyncSubscriber(ctx context.Context, sub BillingSubscriber, clientID int64) (_ SyncResult, err error) {
	defer func() { err = failed("update subscriber from billing", err) }()
	if errs := CheckBillingSubscriber(sub, s.Now(), func(name string) string { return name }); len(errs) > 0 {
		return SyncResult{}, errs
	}
	out, err := s.syncChecked(ctx, []BillingSubscriber{sub}, clientID)
	if err != nil {
		return SyncResult{}, err
	}
	return out[0], nil
}

// syncChecked applies states already checked, all or none, in one change.
func (s *Store) syncChecked(ctx context.Context, subs []BillingSubscriber, clientID int64) (out []SyncResult, err error) {
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		out = make([]SyncResult, len(subs))
		sy := &syncer{tx: tx, clientID: clientID}
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
		if err := sy.updateAll(ctx); err != nil {
			return err
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

// syncer applies billing states inside one change.
type syncer struct {
	tx       *change
	clientID int64
	updates  []update // subscribers whose details change, written together by updateAll
}

// The statements a sync runs for each subscriber, through the writer's
// kept statements.
const (
	touchSubscriber = `UPDATE subscribers SET billing_as_of = ? WHERE id = ?`
	insertHomePlan  = `INSERT INTO domestic_plans (subscriber_id, billing_id, name, kind, lines, since) VALUES (?, ?, ?, ?, ?, ?)`
	updateHomePlan  = `UPDATE domestic_plans SET billing_id = ?, name = ?, kind = ?, lines = ?, since = ? WHERE id = ?`
	deleteHomePlan  = `DELETE FROM domestic_plans WHERE id = ?`
)

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
			if _, err = sy.tx.ExecContext(ctx, touchSubscriber, asOf, h.id); err != nil {
				return r, err
			}
		}
		if adopted { // keep billing's ids of the plans it took as they were
			err = sy.replacePlans(ctx, *h, b)
		}
		return r, err
	}
	r.Outcome = SyncUpdated
	sy.updates = append(sy.updates, update{*h, b})
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

// update is a subscriber whose details billing changed.
type update struct {
	h held
	b BillingSubscriber
}

// detailColumns are the subscriber's columns billing owns, each with its
// value in a state. A held phone is compared as it is, not normalised as
// billingChanges compares it for the log: a phone kept in an older form is
// written normalised with the subscriber's next change.
var detailColumns = []struct {
	name      string
	held, new func(u update) string
}{
	{"name", func(u update) string { return u.h.name }, func(u update) string { return u.b.Name }},
	{"email", func(u update) string { return u.h.email }, func(u update) string { return u.b.Email }},
	{"phone", func(u update) string { return u.h.phone }, func(u update) string { return u.b.Phone }},
	{"status", func(u update) string { return u.h.status }, func(u update) string { return u.b.Status }},
}

// updateAll writes the changed details of the batch's subscribers, one
// statement for each set of changed columns, for the search index's sake
// as createAll. A column whose value is the same is not written: each
// index on it would have an entry rewritten for nothing, on a page of its
// own at a million subscribers, and a name, email or phone written makes
// the search index's trigger rewrite the subscriber's row.
func (sy *syncer) updateAll(ctx context.Context) error {
	now := formatTime(sy.tx.now)
	groups := map[int][]update{}
	var masks []int
	for _, u := range sy.updates {
		mask := 0
		for i, c := range detailColumns {
			if c.held(u) != c.new(u) {
				mask |= 1 << i
			}
		}
		if groups[mask] == nil {
			masks = append(masks, mask)
		}
		groups[mask] = append(groups[mask], u)
	}
	for _, mask := range masks {
		var set []string
		var cols []func(update) string
		for i, c := range detailColumns {
			if mask&(1<<i) != 0 {
				set = append(set, fmt.Sprintf("%s = v.column%d", c.name, len(set)+2))
				cols = append(cols, c.new)
			}
		}
		set = append(set, fmt.Sprintf("billing_as_of = v.column%d, billing_changed_at = v.column%d", len(set)+2, len(set)+3))
		group := groups[mask]
		err := manyRows(ctx, sy.tx, `UPDATE subscribers SET `+strings.Join(set, ", ")+` FROM (VALUES `, len(cols)+3, len(group), func(i int) []any {
			u := group[i]
			row := []any{u.h.id}
			for _, c := range cols {
				row = append(row, c(u))
			}
			return append(row, formatTime(u.b.AsOf), now)
		}, `) AS v WHERE subscribers.id = v.column1`, nil)
		if err != nil {
			return err
		}
	}
	return nil
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
	err := manyRows(ctx, sy.tx, `INSERT INTO subscribers (account_number, name, email, phone, status, billing_as_of, billing_changed_at, created_at) VALUES `,
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
	err = manyRows(ctx, sy.tx, `INSERT INTO domestic_plans (subscriber_id, billing_id, name, kind, lines, since) VALUES `,
		6, len(plans), func(i int) []any {
			p := plans[i]
			return []any{p.sub, p.p.BillingID, p.p.Name, p.p.Kind, p.p.Lines, formatTime(p.p.Since)}
		}, "", nil)
	if err != nil {
		return nil, err
	}
	return ids, manyRows(ctx, sy.tx, `INSERT INTO audit_log (at, api_client_id, action, subscriber_id, detail) VALUES `,
		5, len(subs), func(i int) []any {
			b := subs[i]
			return []any{now, nullID(sy.clientID), "billing_create", ids[b.AccountNumber],
				fmt.Sprintf("status %s; home plans: %s", b.Status, homePlanNames(b.HomePlans))}
		}, "", nil)
}

// manyRows runs head, n rows of cols values each, then tail, with as many
// rows to a statement as SQLite's limit of parameters allows: an INSERT …
// VALUES, or an UPDATE … FROM (VALUES …). Each row a RETURNING tail gives
// goes to scan.
func manyRows(ctx context.Context, tx *change, head string, cols, n int, row func(int) []any, tail string, scan func(*sql.Rows) error) error {
	const maxParams = 32766
	per := maxParams / cols
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		args := make([]any, 0, (end-start)*cols)
		for i := start; i < end; i++ {
			args = append(args, row(i)...)
		}
		query := head + strings.TrimSuffix(strings.Repeat(one+", ", end-start), ", ") + tail
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
		if _, err := sy.tx.ExecContext(ctx, deleteHomePlan, p.ID); err != nil {
			return err
		}
	}
	for _, p := range b.HomePlans {
		var err error
		if id, ok := kept[p.BillingID]; ok {
			_, err = sy.tx.ExecContext(ctx, updateHomePlan, p.BillingID, p.Name, p.Kind, p.Lines, formatTime(p.Since), id)
		} else {
			_, err = sy.tx.ExecContext(ctx, insertHomePlan, h.id, p.BillingID, p.Name, p.Kind, p.Lines, formatTime(p.Since))
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
	a, err := allowance(ctx, sy.tx, id)
	return a.Over(), err
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
