package db

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/carrier/esim-admin/db/rules"
)

// Limits of a usage report.
const (
	MaxUsageRecords = 1000
	MaxUsageBytes   = 1_000_000_000_000 // 1 TB in one record is a broken meter
	MaxUsageWindow  = 24 * time.Hour
	maxRecordIDLen  = 100
)

// UsageReport is one usage record as a network reports it: Bytes used by the
// eSIM ICCID in the country of MCC (or Country, or both if they agree)
// between Start and End.
type UsageReport struct {
	ID      string
	ICCID   string
	MCC     string
	Country string
	Bytes   int64
	Start   time.Time
	End     time.Time
}

// UsageResult is what one record did.
type UsageResult struct {
	ID      string
	ICCID   string
	Country string
	// Duplicate is set when the record id was applied before: nothing changed.
	Duplicate bool
	Charges   []UsageCharge
	Started   []PlanEvent // plans the record started
	UsedUp    []PlanEvent // plans whose data it used up
	Uncovered int64       // bytes no plan took
	// Reason says why bytes were uncovered, when some were.
	Reason string
}

// UsageCharge is the part of a record charged to one plan.
type UsageCharge struct {
	OrderNumber string
	Plan        string
	Bytes       int64
}

// PlanEvent is a plan starting or ending: At is the moment; ExpiresAt is its
// 30-day end, for a start.
type PlanEvent struct {
	OrderNumber string
	Plan        string
	At          time.Time
	ExpiresAt   time.Time
}

// usage is a checked record: its country is known and its times are in UTC
// to the millisecond.
type usage struct {
	UsageReport
	index int
}

// ValidateUsage checks every record of a report at once, as RecordUsage
// does, without recording anything: a caller that has refusals of its own
// (a time it could not read) can then list them all together.
func (s *Store) ValidateUsage(ctx context.Context, reports []UsageReport) error {
	iccids := make([]string, 0, len(reports))
	for _, r := range reports {
		iccids = append(iccids, strings.TrimSpace(r.ICCID))
	}
	// eSIMs are never deleted, so what the read pool knows now stays known.
	known, err := usageLines(ctx, s.read, iccids)
	if err != nil {
		return failed("validate usage", err)
	}
	_, err = s.checkUsage(reports, known)
	return err
}

// checkUsage checks every record of a report at once; Field names the record
// by its index, "records[3].bytes". With known, an ICCID it lacks is refused
// too.
func (s *Store) checkUsage(reports []UsageReport, known map[string]usageLine) ([]usage, error) {
	if len(reports) == 0 {
		return nil, refuse(ErrInvalid, "records", "records is empty: send at least one usage record")
	}
	if len(reports) > MaxUsageRecords {
		return nil, refuse(ErrTooLarge, "records", fmt.Sprintf("%d records: at most %d a request", len(reports), MaxUsageRecords))
	}
	var errs Errors
	out := make([]usage, len(reports))
	for i, r := range reports {
		field := func(name string) string { return "records[" + strconv.Itoa(i) + "]." + name }
		bad := func(name, msg string) { errs = append(errs, refuse(ErrInvalid, field(name), msg)) }
		u := usage{UsageReport: r, index: i}
		u.ID = strings.TrimSpace(r.ID)
		u.ICCID = strings.TrimSpace(r.ICCID)
		switch {
		case u.ID == "":
			bad("id", "id is required: the network's own id of the record")
		case len(u.ID) > maxRecordIDLen || strings.IndexFunc(u.ID, func(c rune) bool { return !unicode.IsPrint(c) || c == ' ' }) >= 0:
			bad("id", fmt.Sprintf("id must be at most %d printable characters without spaces", maxRecordIDLen))
		}
		line, isKnown := known[u.ICCID]
		if err := CheckICCID(u.ICCID); err != nil {
			bad("iccid", err.Error())
		} else if known != nil && !isKnown {
			bad("iccid", "no eSIM with ICCID "+u.ICCID)
		}
		country, err := countryOf(u.MCC, u.Country)
		if err != nil {
			bad(err.Field, err.Message)
		}
		u.Country = country
		switch {
		case r.Bytes < 0:
			bad("bytes", "bytes is negative")
		case r.Bytes > MaxUsageBytes:
			bad("bytes", "bytes is over 1 TB in one record")
		}
		var startErr, endErr error
		u.Start, startErr = s.checkReportTime("start", r.Start)
		u.End, endErr = s.checkReportTime("end", r.End)
		for _, err := range []error{startErr, endErr} {
			if e := Refusals(err); len(e) > 0 {
				bad(e[0].Field, e[0].Message)
			}
		}
		if startErr == nil && endErr == nil {
			switch {
			case u.End.Before(u.Start):
				bad("end", "end is before start")
			case u.End.Sub(u.Start) > MaxUsageWindow:
				bad("end", "the window from start to end is over 24 hours")
			}
		}
		if startErr == nil {
			if refusal := s.Retention.checkKept("start", keptUsage, u.Start, s.Now()); refusal != nil {
				bad("start", refusal.Message)
			}
		}
		if startErr == nil && isKnown {
			if refusal := checkStocked("start", u.Start, ESIM{ICCID: u.ICCID, StockedAt: line.stockedAt}); refusal != nil {
				bad("start", refusal.Message)
			}
		}
		out[i] = u
	}
	return out, errs.Err()
}

// countryOf works out a report's country from its MCC, its ISO code, or both
// when they agree.
func countryOf(mcc, country string) (string, *Error) {
	mcc, country = strings.TrimSpace(mcc), strings.ToUpper(strings.TrimSpace(country))
	switch {
	case mcc == "" && country == "":
		return "", refuse(ErrInvalid, "mcc", "give the mcc or the country of the network")
	case mcc != "":
		c, ok := rules.CountryOfMCC(mcc)
		if !ok {
			return "", refuse(ErrInvalid, "mcc", fmt.Sprintf("unknown mobile country code %q", mcc))
		}
		if country != "" && country != c {
			return "", refuse(ErrInvalid, "country", fmt.Sprintf("mcc %s is %s, not %s", mcc, c, country))
		}
		return c, nil
	case !rules.KnownCountry(country):
		return "", refuse(ErrInvalid, "country", fmt.Sprintf("unknown country %q: give an ISO 3166-1 alpha-2 code such as DE", country))
	}
	return country, nil
}

// RecordUsage applies a network's usage records, all or nothing, in one
// change: one bad record and nothing is recorded, and the error lists every
// bad record. by is the team lead who simulated the use in the demo; the zero
// Login is the network. The results are in the order of the records.
func (s *Store) RecordUsage(ctx context.Context, reports []UsageReport, by Login) ([]UsageResult, error) {
	recs, err := s.checkUsage(reports, nil)
	if Refusals(err) != nil {
		// The unknown ICCIDs too, so one refusal names every bad record.
		return nil, s.ValidateUsage(ctx, reports)
	}
	if err != nil {
		return nil, err
	}
	var out []UsageResult
	keep := s.Retention
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		out, err = applyUsage(ctx, tx, recs, by, keep)
		return err
	})
	if err != nil {
		return nil, failed("record usage", err)
	}
	return out, nil
}

// applyUsage is RecordUsage inside its change, in three steps: it loads the
// lines and plans the records are about, charges the records to them by the
// rules (chargeBatch, rules.ChargeToLine), and writes what the rules did. A
// change of the rules changes none of the SQL.
func applyUsage(ctx context.Context, tx *change, recs []usage, by Login, keep RetentionSettings) ([]UsageResult, error) {
	b, err := loadUsage(ctx, tx, recs, keep)
	if err != nil {
		return nil, err
	}
	return writeUsage(ctx, tx, recs, b, chargeBatch(recs, b, tx.now), by)
}

// usageBatch is what a batch of usage is charged against: the eSIMs of its
// records, the line each belongs to, the plans of each line as the rules
// change them, the record ids already applied, and each plan as it was
// before the batch.
type usageBatch struct {
	lines  map[string]usageLine  // by ICCID
	keys   map[string]string     // ICCID → line key (lineKeys)
	plans  map[string][]LinePlan // by line key
	seen   map[string]bool       // record ids applied before
	before map[int64]planBefore  // by plan
}

// planBefore is a plan as a batch found it: a plan whose data used or state
// differs after the rules is written, and its notices compared against it.
type planBefore struct {
	used  int64
	state string // most batches only add to the data used
}

// loadUsage loads a batch's eSIMs, lines and plans. The usage window is
// checked again at the change's time: the retention pass may have rolled up
// records of that age since checkUsage ran.
func loadUsage(ctx context.Context, tx *change, recs []usage, keep RetentionSettings) (usageBatch, error) {
	var b usageBatch
	iccids, ids := make([]string, 0, len(recs)), make([]string, 0, len(recs))
	for _, r := range recs {
		iccids = append(iccids, r.ICCID)
		ids = append(ids, r.ID)
	}
	var err error
	if b.lines, err = usageLines(ctx, tx, iccids); err != nil {
		return b, err
	}
	var unknown Errors
	for _, r := range recs {
		l, ok := b.lines[r.ICCID]
		if !ok {
			unknown = append(unknown, refuse(ErrInvalid, "records["+strconv.Itoa(r.index)+"].iccid", "no eSIM with ICCID "+r.ICCID))
		} else if refusal := checkStocked("start", r.Start, ESIM{ICCID: r.ICCID, StockedAt: l.stockedAt}); refusal != nil {
			unknown = append(unknown, refuse(ErrInvalid, "records["+strconv.Itoa(r.index)+"].start", refusal.Message))
		} else if refusal := keep.checkKept("start", keptUsage, r.Start, tx.now); refusal != nil {
			unknown = append(unknown, refuse(ErrInvalid, "records["+strconv.Itoa(r.index)+"].start", refusal.Message))
		}
	}
	if len(unknown) > 0 {
		return b, unknown
	}
	if b.seen, err = knownUsageRecords(ctx, tx, ids); err != nil {
		return b, err
	}
	if b.keys, err = lineKeys(ctx, tx, b.lines); err != nil {
		return b, err
	}
	if b.plans, err = plansByLine(ctx, tx, b.keys); err != nil {
		return b, err
	}
	b.before = map[int64]planBefore{}
	for _, ps := range b.plans {
		for _, lp := range ps {
			b.before[lp.ID] = planBefore{lp.UsedBytes, lp.State}
		}
	}
	return b, nil
}

// usageCharged is what the rules did with one record of a batch.
type usageCharged struct {
	rec       int    // index into the batch's records
	key       string // the line it was charged to
	duplicate bool   // its id was applied before: nothing changed
	rules.Charged
}

// chargeBatch charges a batch's records to the plans of b, which it changes
// in place: eSIM by eSIM in the order of their start, each record id once
// (rules.ChargeToLine has the rules). It reads and writes no table.
func chargeBatch(recs []usage, b usageBatch, now time.Time) []usageCharged {
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		return cmp.Or(strings.Compare(recs[x].ICCID, recs[y].ICCID), recs[x].Start.Compare(recs[y].Start))
	})
	out := make([]usageCharged, 0, len(recs))
	for _, k := range order {
		r := recs[k]
		if b.seen[r.ID] {
			out = append(out, usageCharged{rec: k, duplicate: true})
			continue
		}
		b.seen[r.ID] = true
		key, l := b.keys[r.ICCID], b.lines[r.ICCID]
		o := rules.ChargeToLine(b.plans[key], rules.Usage{Country: r.Country, Bytes: r.Bytes, Start: r.Start, End: r.End},
			rules.Holder{State: l.state, ReplacedBy: l.replacedBy, ReplacedAt: l.replacedAt}, now)
		out = append(out, usageCharged{rec: k, key: key, Charged: o})
	}
	return out
}

// writeUsage writes what the rules did with a batch: its records and their
// charges, the plans they changed, the audit entries and the notices due,
// and returns what each record did.
func writeUsage(ctx context.Context, tx *change, recs []usage, b usageBatch, charged []usageCharged, by Login) ([]UsageResult, error) {
	// A batch runs a few statements per record: prepared once, and with ids
	// given here (the change holds the write lock) rather than read back.
	var recordID int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM usage_records`).Scan(&recordID); err != nil {
		return nil, err
	}
	records := newRowWriter(tx, `usage_records`, `id, record_id, iccid, country, mcc, bytes, start_at, end_at, uncovered_bytes, received_at`, 10)
	defer records.close()
	charges := newRowWriter(tx, `usage_charges`, `usage_record, esim_plan_id, bytes`, 3, records) // a charge's record must be there first
	defer charges.close()

	startedIn := map[int64]string{} // by plan: the country of the record that started it
	out := make([]UsageResult, len(recs))
	received := formatTime(tx.now)
	for _, c := range charged {
		r := recs[c.rec]
		res := &out[c.rec]
		*res = UsageResult{ID: r.ID, ICCID: r.ICCID, Country: r.Country, Duplicate: c.duplicate}
		if c.duplicate {
			continue
		}
		key, line, ps := c.key, b.lines[c.key], b.plans[c.key]
		res.Uncovered = c.Uncovered
		if c.Uncovered > 0 {
			res.Reason = c.Reason
		}
		recordID++
		if err := records.add(ctx, recordID, r.ID, r.ICCID, r.Country, nullString(strings.TrimSpace(r.MCC)), r.Bytes,
			formatTime(r.Start), formatTime(r.End), c.Uncovered, received); err != nil {
			return nil, err
		}
		for _, i := range c.Charged.Charged {
			lp := ps[i]
			if err := charges.add(ctx, recordID, lp.ID, c.Bytes[i]); err != nil {
				return nil, err
			}
			res.Charges = append(res.Charges, UsageCharge{OrderNumber: lp.OrderNumber, Plan: lp.Plan.Name, Bytes: c.Bytes[i]})
		}
		for _, i := range c.Started {
			lp := ps[i]
			startedIn[lp.ID] = r.Country
			res.Started = append(res.Started, PlanEvent{OrderNumber: lp.OrderNumber, Plan: lp.Plan.Name, At: lp.ActivatedAt, ExpiresAt: lp.ExpiresAt})
			if err := audit(ctx, tx, by, "activate_plan", line.subscriberID, key,
				fmt.Sprintf("plan %s, order %s: data used in %s at %s; active until %s",
					lp.Plan.Name, lp.OrderNumber, rules.CountryName(r.Country), rules.DateTime(lp.ActivatedAt), rules.DateTime(lp.ExpiresAt))); err != nil {
				return nil, err
			}
		}
		for _, i := range c.UsedUp {
			lp := ps[i]
			res.UsedUp = append(res.UsedUp, PlanEvent{OrderNumber: lp.OrderNumber, Plan: lp.Plan.Name, At: lp.EndedAt})
			if err := audit(ctx, tx, by, "plan_used_up", line.subscriberID, key,
				fmt.Sprintf("plan %s, order %s: its %s used up at %s", lp.Plan.Name, lp.OrderNumber, lp.Plan.Data(), rules.DateTime(lp.EndedAt))); err != nil {
				return nil, err
			}
		}
		if by.ID != 0 {
			if err := audit(ctx, tx, by, "simulate_usage", line.subscriberID, r.ICCID,
				fmt.Sprintf("%s used in %s at %s", rules.FormatBytes(r.Bytes), rules.CountryName(r.Country), rules.DateTime(r.End))); err != nil {
				return nil, err
			}
		}
	}
	if err := records.flush(ctx); err != nil {
		return nil, err
	}
	if err := charges.flush(ctx); err != nil {
		return nil, err
	}
	for key, ps := range b.plans {
		changed := false
		for _, lp := range ps {
			var err error
			was := b.before[lp.ID]
			switch {
			case lp.State != was.state:
				_, err = tx.ExecContext(ctx, `UPDATE esim_plans SET state = ?, activated_at = ?, expires_at = ?, used_bytes = ?, ended_at = ? WHERE id = ?`,
					lp.State, timeArg(lp.ActivatedAt), timeArg(lp.ExpiresAt), lp.UsedBytes, timeArg(lp.EndedAt), lp.ID)
			case lp.UsedBytes != was.used:
				// Data used alone leaves the scheduler's partial indexes as they are.
				_, err = tx.ExecContext(ctx, `UPDATE esim_plans SET used_bytes = ? WHERE id = ?`, lp.UsedBytes, lp.ID)
			default:
				continue
			}
			if err != nil {
				return nil, err
			}
			changed = true
		}
		if changed {
			if err := usageNotices(ctx, tx, key, ps, b.before, startedIn); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// usageNotices queues what a batch of usage owes the customer of one line:
// for each plan it changed, in queue order, Plan started, then Data used up
// or Data running low (db/rules/notices.go has the rules). plans are the line's
// plans after the batch; the line is read again only when a notice is due,
// which few batches of a thousand records bring.
func usageNotices(ctx context.Context, tx *change, iccid string, plans []LinePlan, before map[int64]planBefore, startedIn map[int64]string) error {
	var due []PlanMail
	for _, lp := range plans {
		if country := startedIn[lp.ID]; country != "" && rules.StartNoticeDue(lp, tx.now) {
			due = append(due, PlanMail{Kind: EmailPlanStarted, Plan: lp, Country: country})
		}
		if was, seen := before[lp.ID]; seen && was.used != lp.UsedBytes {
			if kind := rules.NoticeAfterUsage(lp, was.used, tx.notices.LowPercent, tx.now); kind != "" {
				due = append(due, PlanMail{Kind: kind, Plan: lp})
			}
		}
	}
	if len(due) == 0 {
		return nil
	}
	l, err := loadNoticeLine(ctx, tx, iccid)
	if err != nil {
		return err
	}
	for _, m := range due {
		if _, err := queueNotice(ctx, tx, l, m); err != nil {
			return err
		}
	}
	return nil
}

// plansByLine loads the plans of the lines usage is charged to, by line key
// (lineKeys): the plans of every eSIM with that key, in the order they were
// added, so that records of a replaced eSIM and of the one that replaced it
// charge one list.
func plansByLine(ctx context.Context, q queryer, keys map[string]string) (map[string][]LinePlan, error) {
	iccids := make([]string, 0, len(keys))
	for iccid := range keys {
		iccids = append(iccids, iccid)
	}
	slices.Sort(iccids)
	byESIM, err := usagePlans(ctx, q, iccids)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]LinePlan, len(byESIM))
	for _, iccid := range iccids {
		key := keys[iccid]
		if key == iccid && len(out[key]) == 0 {
			out[key] = byESIM[iccid] // most lines: one eSIM, its plans in order
			continue
		}
		out[key] = append(out[key], byESIM[iccid]...)
		slices.SortFunc(out[key], func(a, b LinePlan) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// usagePlans loads the plans of the eSIMs that usage is charged to, in the
// order they were added, cancelled ones left out. It reads the catalog once
// rather than a plan's destinations per row: a batch meets a thousand lines.
func usagePlans(ctx context.Context, q queryer, iccids []string) (map[string][]LinePlan, error) {
	catalog := map[int64]Plan{}
	rows, err := q.QueryContext(ctx, `SELECT `+planColumns+` FROM plans p`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		catalog[p.ID] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT iccid, id, order_number, plan_id, state, added_at, activated_at, expires_at, data_bytes, used_bytes, ended_at,
		price_cents, currency FROM esim_plans WHERE iccid IN (SELECT value FROM json_each(?)) AND state <> 'cancelled' ORDER BY iccid, id`, jsonList(iccids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]LinePlan{}
	for rows.Next() {
		var iccid string
		var planID int64
		var lp LinePlan
		var activated, expires, ended nullTime
		var price int
		var currency string
		if err := rows.Scan(&iccid, &lp.ID, &lp.OrderNumber, &planID, &lp.State, dbTime{&lp.AddedAt}, &activated, &expires,
			&lp.DataBytes, &lp.UsedBytes, &ended, &price, &currency); err != nil {
			return nil, err
		}
		// The order's price is the price paid, not the catalog's now.
		lp.Plan = catalog[planID]
		lp.Plan.PriceCents, lp.Plan.Currency = price, currency
		lp.ActivatedAt, lp.ExpiresAt, lp.EndedAt = activated.Time, expires.Time, ended.Time
		out[iccid] = append(out[iccid], lp)
	}
	return out, rows.Err()
}

// usageLine is what applying usage needs of an eSIM.
type usageLine struct {
	state        string
	subscriberID int64
	stockedAt    time.Time
	replacedBy   string    // the eSIM that took its line, if one did
	replacedAt   time.Time // and when
}

func usageLines(ctx context.Context, q queryer, iccids []string) (map[string]usageLine, error) {
	rows, err := q.QueryContext(ctx, `SELECT iccid, state, coalesce(subscriber_id, 0), stocked_at, coalesce(replaced_by, ''), replaced_at
		FROM esims WHERE iccid IN (SELECT value FROM json_each(?))`, jsonList(iccids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]usageLine{}
	for rows.Next() {
		var iccid string
		var l usageLine
		var replacedAt nullTime
		if err := rows.Scan(&iccid, &l.state, &l.subscriberID, dbTime{&l.stockedAt}, &l.replacedBy, &replacedAt); err != nil {
			return nil, err
		}
		l.replacedAt = replacedAt.Time
		out[iccid] = l
	}
	return out, rows.Err()
}

// lineKeys follows each replaced eSIM of lines to the eSIM that holds its
// line now (rule 6), adding the eSIMs on the way to lines. The key of an
// eSIM that was never replaced is its own ICCID: records that share a key
// are charged to one list of plans, the line's.
func lineKeys(ctx context.Context, q queryer, lines map[string]usageLine) (map[string]string, error) {
	keys := map[string]string{}
	var replaced []string
	for iccid, l := range lines {
		keys[iccid] = iccid
		if l.replacedBy != "" {
			replaced = append(replaced, iccid)
		}
	}
	for _, iccid := range replaced {
		// Each replacement takes a free eSIM, so the chain ends; it is a
		// step or two long.
		last := iccid
		for lines[last].replacedBy != "" {
			next := lines[last].replacedBy
			if _, read := lines[next]; !read {
				more, err := usageLines(ctx, q, []string{next})
				if err != nil {
					return nil, err
				}
				if _, ok := more[next]; !ok {
					return nil, fmt.Errorf("eSIM %s was replaced by %s, which is not in the inventory", last, next)
				}
				lines[next] = more[next]
			}
			last = next
		}
		for at := iccid; ; at = lines[at].replacedBy {
			keys[at] = last
			if at == last {
				break
			}
		}
	}
	return keys, nil
}

// knownUsageRecords returns which of the record ids were applied before.
func knownUsageRecords(ctx context.Context, q queryer, ids []string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT record_id FROM usage_records WHERE record_id IN (SELECT value FROM json_each(?))`, jsonList(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		seen[id] = true
	}
	return seen, rows.Err()
}

// jsonList passes a list of strings as one query argument, for json_each.
func jsonList(ss []string) string {
	b, _ := json.Marshal(ss)
	return string(b)
}

// CheckUsage verifies the invariant of the rules above over the whole
// database, record by record and plan by plan: every record's bytes are the
// bytes it charged to plans plus its uncovered bytes, and every plan's data
// used is what records charged to it, the rolled-up ones (retention.go)
// included. Together they say that, for every line, the bytes on its plans
// plus its uncovered bytes equal the bytes of the records it accepted — also
// after Replace eSIM moved its plans to another ICCID. Rolled-up records
// keep no charges of their own, so for them it checks the sums: the bytes of
// every rollup less their uncovered bytes are what the plans' rollups say
// they charged. It names the first record or plan that is off.
func (s *Store) CheckUsage(ctx context.Context) error {
	var id string
	var a, b int64
	err := s.read.QueryRowContext(ctx, `
		SELECT u.record_id, u.bytes, u.uncovered_bytes + coalesce((SELECT sum(c.bytes) FROM usage_charges c WHERE c.usage_record = u.id), 0) AS placed
		FROM usage_records u WHERE u.bytes <> placed LIMIT 1`).Scan(&id, &a, &b)
	if err == nil {
		return fmt.Errorf("check usage: record %s has %d bytes, but %d were charged or left uncovered", id, a, b)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("check usage: %w", err)
	}
	err = s.read.QueryRowContext(ctx, `
		SELECT ep.order_number, ep.used_bytes, coalesce((SELECT sum(c.bytes) FROM usage_charges c WHERE c.esim_plan_id = ep.id), 0)
			+ coalesce((SELECT r.bytes FROM usage_plan_rollups r WHERE r.esim_plan_id = ep.id), 0) AS charged
		FROM esim_plans ep WHERE ep.used_bytes <> charged LIMIT 1`).Scan(&id, &a, &b)
	if err == nil {
		return fmt.Errorf("check usage: plan %s has used %d bytes, but records charged it %d", id, a, b)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("check usage: %w", err)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT (SELECT coalesce(sum(bytes - uncovered_bytes), 0) FROM usage_days),
		(SELECT coalesce(sum(bytes), 0) FROM usage_plan_rollups)`).Scan(&a, &b); err != nil {
		return fmt.Errorf("check usage: %w", err)
	}
	if a != b {
		return fmt.Errorf("check usage: the rolled-up records charged %d bytes to plans, but the plans' rollups hold %d", a, b)
	}
	return nil
}
