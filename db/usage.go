package db

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Data on every plan: how the usage the networks report is charged to the
// plans of an eSIM. These rules decide which plan a byte is charged to and
// when a plan starts and ends; they are written in the README too
// ("Data and the plan queue"), and chargeUsage below is the one place that
// applies them.
//
// A plan on an eSIM is queued until something uses it, then active for
// 30 × 24 hours from the moment it started, unless its data runs out first:
// then it is used up at that moment. Plans on one eSIM form a queue in the
// order they were added.
//
// A usage record says: B bytes used in country X over [start, end]. The bytes
// are taken as spread evenly over the window, and go, from start on:
//
//  1. to the active plan covering X that still has data (if two do, the one
//     that ends first, then the older);
//  2. when that plan's allowance is reached inside the window, it is used up
//     at that moment (interpolated linearly) and the rest of the record goes
//     on from there; when it reaches its 30-day end inside the window, the
//     rest goes on from its end;
//  3. when no active plan with data covers X, the oldest queued plan covering
//     X that was already on the eSIM starts at that moment: usage means the
//     phone is connected there, which is what starts a plan;
//  4. nothing starts when a plan covering X already started later than that
//     moment: the record is late, and an activation already made never moves.
//     The bytes until the next moment a plan could take them (that later
//     start, or a plan being added) are uncovered, and so is the rest of the
//     record when that moment is past its end;
//  5. what no plan takes is uncovered: kept on the record and shown, since the
//     network should have cut the data. Records of an eSIM that is nobody's
//     line are all uncovered;
//  6. but a replaced eSIM was its line until the moment it was replaced, and
//     networks report late: its bytes until then go to the line's plans, by
//     these rules, wherever those plans are now (the ones that had not ended
//     moved to the eSIM that replaced it, and on again if that one was
//     replaced too). Its bytes after that moment are uncovered.
//
// A record id is applied once: the same id again changes nothing and says so.
// That can be checked only while the records are kept whole, so a record
// whose start is older than the usage window is refused (retention.go).
// The records of one request are applied eSIM by eSIM in the order of their
// start. Nothing a record charged moves later. The invariant, checked in the
// tests (CheckUsage): every record's bytes are charged to plans or left
// uncovered, and every plan's data used is the sum of what records charged
// it.

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

// usageWindow spreads a record's bytes evenly over its window.
type usageWindow struct {
	start, end time.Time
	bytes      int64
}

// bytesUntil is how many of the record's bytes were used before t.
func (w usageWindow) bytesUntil(t time.Time) int64 {
	if !w.end.After(w.start) || !t.Before(w.end) {
		return w.bytes
	}
	if !t.After(w.start) {
		return 0
	}
	return mulDiv(w.bytes, t.Sub(w.start).Milliseconds(), w.end.Sub(w.start).Milliseconds())
}

// momentOf is when the record had used n of its bytes.
func (w usageWindow) momentOf(n int64) time.Time {
	if !w.end.After(w.start) || w.bytes == 0 {
		return w.start
	}
	ms := mulDiv(w.end.Sub(w.start).Milliseconds(), n, w.bytes)
	return w.start.Add(time.Duration(ms) * time.Millisecond)
}

// mulDiv is a*b/c rounded down, exact for a*b past int64; b <= c keeps the
// quotient within a.
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// usageOutcome is what chargeUsage did to the plans, by index into them.
type usageOutcome struct {
	charged   []int // plans in the order they were charged
	bytes     map[int]int64
	started   []int
	usedUp    []int
	uncovered int64
	reason    string
}

// chargeUsage charges one record to plans, the plans of its eSIM in the order
// they were added, changing them in place by the rules at the top of this
// file. now is the portal's clock: a plan started so long ago that its 30
// days are already over is stored as expired.
func chargeUsage(plans []LinePlan, u UsageReport, now time.Time) usageOutcome {
	out := usageOutcome{bytes: map[int]int64{}}
	w := usageWindow{start: u.Start, end: u.End, bytes: u.Bytes}
	var used int64 // bytes of the record placed so far
	t := u.Start
	for used < u.Bytes {
		if i := activeCovering(plans, u.Country, t); i >= 0 {
			lp := &plans[i]
			until := minTime(u.End, lp.ExpiresAt)
			take := min(w.bytesUntil(until)-used, lp.LeftBytes())
			if take > 0 {
				if out.bytes[i] == 0 {
					out.charged = append(out.charged, i)
				}
				out.bytes[i] += take
				lp.UsedBytes += take
				used += take
			}
			if lp.LeftBytes() == 0 {
				lp.State, lp.EndedAt = PlanUsedUp, maxTime(t, w.momentOf(used))
				out.usedUp = append(out.usedUp, i)
				t = lp.EndedAt
			} else {
				t = until
			}
			continue
		}
		i, reason := planToStart(plans, u.Country, t)
		if i >= 0 {
			startPlan(&plans[i], t, now)
			out.started = append(out.started, i)
			continue
		}
		next, ok := nextChance(plans, u.Country, t)
		if !ok || !next.Before(u.End) {
			out.uncovered += u.Bytes - used
			out.reason = reason
			break
		}
		if gap := w.bytesUntil(next) - used; gap > 0 {
			out.uncovered += gap
			out.reason = reason
			used += gap
		}
		t = next
	}
	return out
}

// activeCovering is the index of the plan that carries data in country at t:
// active then, with data left, and of those the one that ends first; -1 if
// there is none.
func activeCovering(plans []LinePlan, country string, t time.Time) int {
	best := -1
	for i, lp := range plans {
		if lp.Plan.Covers(country) && lp.ActiveAt(t) && (best < 0 || lp.ExpiresAt.Before(plans[best].ExpiresAt)) {
			best = i
		}
	}
	return best
}

// planToStart picks the plan that starts at t for use or an attachment in
// country when no active plan with data covers it (rules 3 and 4), or says
// why none does.
func planToStart(plans []LinePlan, country string, t time.Time) (int, string) {
	covering := false
	for _, lp := range plans {
		if !lp.Plan.Covers(country) || lp.State == PlanCancelled {
			continue
		}
		covering = true
		if lp.State != PlanQueued && lp.ActivatedAt.After(t) {
			return -1, fmt.Sprintf("older than the activation of %s at %s", lp.OrderNumber, formatTime(lp.ActivatedAt))
		}
	}
	if !covering {
		return -1, "no plan covers " + country
	}
	usedUp := ""
	for i, lp := range plans {
		switch {
		case !lp.Plan.Covers(country):
		case lp.State == PlanQueued && !lp.AddedAt.After(t):
			return i, ""
		case lp.State == PlanUsedUp:
			usedUp = lp.OrderNumber
		}
	}
	if usedUp != "" {
		return -1, fmt.Sprintf("%s is used up and no plan is queued for %s", usedUp, country)
	}
	return -1, "no queued plan covers " + country
}

// nextChance is the first moment after t at which a plan covering country
// could take data again: a start already made, or a plan being added.
func nextChance(plans []LinePlan, country string, t time.Time) (time.Time, bool) {
	var next time.Time
	for _, lp := range plans {
		if !lp.Plan.Covers(country) {
			continue
		}
		var at time.Time
		switch lp.State {
		case PlanQueued:
			at = lp.AddedAt
		case PlanActive, PlanExpired, PlanUsedUp:
			at = lp.ActivatedAt
		}
		if at.After(t) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next, !next.IsZero()
}

// startPlan starts a queued plan at t, for its 30 × 24 hours; a start so long
// ago that they are over is stored as expired.
func startPlan(lp *LinePlan, t, now time.Time) {
	lp.ActivatedAt = t
	lp.ExpiresAt = t.Add(time.Duration(lp.Plan.ValidityDays) * 24 * time.Hour)
	lp.State = PlanActive
	if !now.Before(lp.ExpiresAt) {
		lp.State = PlanExpired
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
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
		c, ok := CountryOfMCC(mcc)
		if !ok {
			return "", refuse(ErrInvalid, "mcc", fmt.Sprintf("unknown mobile country code %q", mcc))
		}
		if country != "" && country != c {
			return "", refuse(ErrInvalid, "country", fmt.Sprintf("mcc %s is %s, not %s", mcc, c, country))
		}
		return c, nil
	case !KnownCountry(country):
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

// applyUsage is RecordUsage inside its change. The usage window is checked
// again at the change's time: the retention pass may have rolled up records
// of that age since checkUsage ran.
func applyUsage(ctx context.Context, tx *change, recs []usage, by Login, keep RetentionSettings) ([]UsageResult, error) {
	iccids, ids := make([]string, 0, len(recs)), make([]string, 0, len(recs))
	for _, r := range recs {
		iccids = append(iccids, r.ICCID)
		ids = append(ids, r.ID)
	}
	lines, err := usageLines(ctx, tx, iccids)
	if err != nil {
		return nil, err
	}
	var unknown Errors
	for _, r := range recs {
		l, ok := lines[r.ICCID]
		if !ok {
			unknown = append(unknown, refuse(ErrInvalid, "records["+strconv.Itoa(r.index)+"].iccid", "no eSIM with ICCID "+r.ICCID))
		} else if refusal := checkStocked("start", r.Start, ESIM{ICCID: r.ICCID, StockedAt: l.stockedAt}); refusal != nil {
			unknown = append(unknown, refuse(ErrInvalid, "records["+strconv.Itoa(r.index)+"].start", refusal.Message))
		} else if refusal := keep.checkKept("start", keptUsage, r.Start, tx.now); refusal != nil {
			unknown = append(unknown, refuse(ErrInvalid, "records["+strconv.Itoa(r.index)+"].start", refusal.Message))
		}
	}
	if len(unknown) > 0 {
		return nil, unknown
	}
	seen, err := knownUsageRecords(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	keys, err := lineKeys(ctx, tx, lines)
	if err != nil {
		return nil, err
	}
	plans, err := plansByLine(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	usedBefore := map[int64]int64{}   // by plan: what the notices compare against
	stateBefore := map[int64]string{} // by plan: most batches only add to the data used
	for _, ps := range plans {
		for _, lp := range ps {
			usedBefore[lp.ID], stateBefore[lp.ID] = lp.UsedBytes, lp.State
		}
	}
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
	updPlan, err := tx.PrepareContext(ctx, `UPDATE esim_plans SET state = ?, activated_at = ?, expires_at = ?, used_bytes = ?, ended_at = ?
		WHERE id = ?`)
	if err != nil {
		return nil, err
	}
	defer updPlan.Close()
	// Data used alone leaves the scheduler's partial indexes as they are.
	updUsed, err := tx.PrepareContext(ctx, `UPDATE esim_plans SET used_bytes = ? WHERE id = ?`)
	if err != nil {
		return nil, err
	}
	defer updUsed.Close()

	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(strings.Compare(recs[a].ICCID, recs[b].ICCID), recs[a].Start.Compare(recs[b].Start))
	})
	type planRef struct {
		iccid string
		i     int
	}
	changed := map[planRef]bool{}
	startedIn := map[int64]string{} // by plan: the country of the record that started it
	out := make([]UsageResult, len(recs))
	received := formatTime(tx.now)
	for _, k := range order {
		r := recs[k]
		res := &out[k]
		*res = UsageResult{ID: r.ID, ICCID: r.ICCID, Country: r.Country}
		if seen[r.ID] {
			res.Duplicate = true
			continue
		}
		seen[r.ID] = true
		key := keys[r.ICCID]
		line := lines[key]
		ps := plans[key]
		o := chargeToLine(ps, r.UsageReport, lines[r.ICCID], tx.now)
		res.Uncovered = o.uncovered
		if o.uncovered > 0 {
			res.Reason = o.reason
		}
		recordID++
		if err := records.add(ctx, recordID, r.ID, r.ICCID, r.Country, nullString(strings.TrimSpace(r.MCC)), r.Bytes,
			formatTime(r.Start), formatTime(r.End), o.uncovered, received); err != nil {
			return nil, err
		}
		for _, i := range o.charged {
			lp := ps[i]
			if err := charges.add(ctx, recordID, lp.ID, o.bytes[i]); err != nil {
				return nil, err
			}
			res.Charges = append(res.Charges, UsageCharge{OrderNumber: lp.OrderNumber, Plan: lp.Plan.Name, Bytes: o.bytes[i]})
			changed[planRef{key, i}] = true
		}
		for _, i := range o.started {
			lp := ps[i]
			changed[planRef{key, i}] = true
			startedIn[lp.ID] = r.Country
			res.Started = append(res.Started, PlanEvent{OrderNumber: lp.OrderNumber, Plan: lp.Plan.Name, At: lp.ActivatedAt, ExpiresAt: lp.ExpiresAt})
			if err := audit(ctx, tx, by, "activate_plan", line.subscriberID, key,
				fmt.Sprintf("plan %s, order %s: data used in %s at %s; active until %s",
					lp.Plan.Name, lp.OrderNumber, CountryName(r.Country), auditTime(lp.ActivatedAt), auditTime(lp.ExpiresAt))); err != nil {
				return nil, err
			}
		}
		for _, i := range o.usedUp {
			lp := ps[i]
			res.UsedUp = append(res.UsedUp, PlanEvent{OrderNumber: lp.OrderNumber, Plan: lp.Plan.Name, At: lp.EndedAt})
			if err := audit(ctx, tx, by, "plan_used_up", line.subscriberID, key,
				fmt.Sprintf("plan %s, order %s: its %s used up at %s", lp.Plan.Name, lp.OrderNumber, lp.Plan.Data(), auditTime(lp.EndedAt))); err != nil {
				return nil, err
			}
		}
		if by.ID != 0 {
			if err := audit(ctx, tx, by, "simulate_usage", line.subscriberID, r.ICCID,
				fmt.Sprintf("%s used in %s at %s", FormatBytes(r.Bytes), CountryName(r.Country), auditTime(r.End))); err != nil {
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
	noticeLines := map[string]bool{}
	for ref := range changed {
		lp := plans[ref.iccid][ref.i]
		if lp.State == stateBefore[lp.ID] {
			_, err = updUsed.ExecContext(ctx, lp.UsedBytes, lp.ID)
		} else {
			_, err = updPlan.ExecContext(ctx, lp.State, timeArg(lp.ActivatedAt), timeArg(lp.ExpiresAt), lp.UsedBytes, timeArg(lp.EndedAt), lp.ID)
		}
		if err != nil {
			return nil, err
		}
		noticeLines[ref.iccid] = true
	}
	for iccid := range noticeLines {
		if err := usageNotices(ctx, tx, iccid, plans[iccid], usedBefore, startedIn); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// usageNotices queues what a batch of usage owes the customer of one line:
// for each plan it changed, in queue order, Plan started, then Data used up
// or Data running low (notices.go has the rules). plans are the line's
// plans after the batch; the line is read again only when a notice is due,
// which few batches of a thousand records bring.
func usageNotices(ctx context.Context, tx *change, iccid string, plans []LinePlan, usedBefore map[int64]int64, startedIn map[int64]string) error {
	var due []PlanMail
	for _, lp := range plans {
		if country := startedIn[lp.ID]; country != "" && tx.now.Before(lp.ExpiresAt) {
			due = append(due, PlanMail{Kind: EmailPlanStarted, Plan: lp, Country: country})
		}
		if before, seen := usedBefore[lp.ID]; seen && before != lp.UsedBytes {
			if kind := noticeAfterUsage(lp, before, tx.notices.LowPercent, tx.now); kind != "" {
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

// chargeToLine charges a record of the eSIM e to plans, its line's: all of
// it while e is the line's eSIM, the part before the moment it was replaced
// when it was (rule 6), and none of it otherwise.
func chargeToLine(plans []LinePlan, u UsageReport, e usageLine, now time.Time) usageOutcome {
	switch {
	case e.state == StateAllocated:
		return chargeUsage(plans, u, now)
	case e.replacedBy == "" || !u.Start.Before(e.replacedAt):
		reason := "the eSIM is " + e.state + ": nobody's line"
		if e.replacedBy != "" {
			reason = "the eSIM was replaced by " + e.replacedBy + " at " + formatTime(e.replacedAt) + ": nobody's line since"
		}
		return usageOutcome{uncovered: u.Bytes, reason: reason}
	}
	before := u
	if u.End.After(e.replacedAt) {
		before.End = e.replacedAt
		before.Bytes = usageWindow{u.Start, u.End, u.Bytes}.bytesUntil(e.replacedAt)
	}
	o := chargeUsage(plans, before, now)
	if after := u.Bytes - before.Bytes; after > 0 {
		o.uncovered += after
		if o.reason == "" {
			o.reason = "the eSIM was replaced by " + e.replacedBy + " at " + formatTime(e.replacedAt) + ": nobody's line since"
		}
	}
	return o
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

// FormatBytes reads a number of bytes as carriers sell data, with 1 MB =
// 1,000,000 bytes: "380 MB", "2.96 GB", "12.5 GB", "512 kB"; nothing reads
// "0 MB". Gigabytes keep three figures, so data left is not rounded into
// more than there is by much.
func FormatBytes(n int64) string {
	switch {
	case n == 0:
		return "0 MB"
	case n >= 10_000_000_000:
		return decimal((n+50_000_000)/100_000_000, 1) + " GB"
	case n >= 1_000_000_000:
		return decimal((n+5_000_000)/10_000_000, 2) + " GB"
	case n >= 1_000_000:
		return strconv.FormatInt((n+500_000)/1_000_000, 10) + " MB"
	case n >= 1_000:
		return strconv.FormatInt((n+500)/1_000, 10) + " kB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// decimal writes n hundredths (places 2) or tenths (places 1) without
// trailing zeros: 296 → "2.96", 250 → "2.5", 300 → "3".
func decimal(n int64, places int) string {
	s := strconv.FormatInt(n, 10)
	for len(s) <= places {
		s = "0" + s
	}
	whole, frac := s[:len(s)-places], strings.TrimRight(s[len(s)-places:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
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
