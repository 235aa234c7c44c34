package rules

import (
	"fmt"
	"math/bits"
	"time"
)

// Data on every plan: how the usage the networks report is charged to the
// plans of an eSIM. These rules decide which plan a byte is charged to and
// when a plan starts and ends; they are written in the README too
// ("Data and the plan queue"), and ChargeUsage below is the one place that
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
// whose start is older than the usage window is refused (db/retention.go).
// The records of one request are applied eSIM by eSIM in the order of their
// start. Nothing a record charged moves later. The invariant, checked in the
// tests (Store.CheckUsage): every record's bytes are charged to plans or left
// uncovered, and every plan's data used is the sum of what records charged
// it.

// Usage is a record to charge: Bytes used in Country (ISO alpha-2) over
// [Start, End].
type Usage struct {
	Country    string
	Bytes      int64
	Start, End time.Time
}

// Holder is what the rules need of the eSIM a record is about: its state,
// and the eSIM that took its line and when, if one did (rule 6).
type Holder struct {
	State      string
	ReplacedBy string
	ReplacedAt time.Time
}

// TimeFormat is how the store keeps times, fixed-width UTC to the
// millisecond so that they sort as text; the API answers read the same.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// stamp writes a time in a reason the way the store keeps it.
func stamp(t time.Time) string { return t.UTC().Format(TimeFormat) }

// window spreads a record's bytes evenly over its window.
type window struct {
	start, end time.Time
	bytes      int64
}

// bytesUntil is how many of the record's bytes were used before t.
func (w window) bytesUntil(t time.Time) int64 {
	if !w.end.After(w.start) || !t.Before(w.end) {
		return w.bytes
	}
	if !t.After(w.start) {
		return 0
	}
	return mulDiv(w.bytes, t.Sub(w.start).Milliseconds(), w.end.Sub(w.start).Milliseconds())
}

// momentOf is when the record had used n of its bytes.
func (w window) momentOf(n int64) time.Time {
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

// Charged is what ChargeUsage did to the plans, by index into them.
type Charged struct {
	Charged   []int         // plans in the order they were charged
	Bytes     map[int]int64 // what each was charged
	Started   []int         // plans the record started
	UsedUp    []int         // plans whose data it used up
	Uncovered int64         // bytes no plan took
	Reason    string        // why, when some were uncovered
}

// ChargeUsage charges one record to plans, the plans of its eSIM in the order
// they were added, changing them in place by the rules at the top of this
// file. now is the portal's clock: a plan started so long ago that its 30
// days are already over is stored as expired.
func ChargeUsage(plans []LinePlan, u Usage, now time.Time) Charged {
	out := Charged{Bytes: map[int]int64{}}
	w := window{start: u.Start, end: u.End, bytes: u.Bytes}
	var used int64 // bytes of the record placed so far
	t := u.Start
	for used < u.Bytes {
		if i := activeCovering(plans, u.Country, t); i >= 0 {
			lp := &plans[i]
			until := minTime(u.End, lp.ExpiresAt)
			take := min(w.bytesUntil(until)-used, lp.LeftBytes())
			if take > 0 {
				if out.Bytes[i] == 0 {
					out.Charged = append(out.Charged, i)
				}
				out.Bytes[i] += take
				lp.UsedBytes += take
				used += take
			}
			if lp.LeftBytes() == 0 {
				lp.State, lp.EndedAt = PlanUsedUp, maxTime(t, w.momentOf(used))
				out.UsedUp = append(out.UsedUp, i)
				t = lp.EndedAt
			} else {
				t = until
			}
			continue
		}
		i, reason := planToStart(plans, u.Country, t)
		if i >= 0 {
			StartPlan(&plans[i], t, now)
			out.Started = append(out.Started, i)
			continue
		}
		next, ok := nextChance(plans, u.Country, t)
		if !ok || !next.Before(u.End) {
			out.Uncovered += u.Bytes - used
			out.Reason = reason
			break
		}
		if gap := w.bytesUntil(next) - used; gap > 0 {
			out.Uncovered += gap
			out.Reason = reason
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
			return -1, fmt.Sprintf("older than the activation of %s at %s", lp.OrderNumber, stamp(lp.ActivatedAt))
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

// StartPlan starts a queued plan at t, for its 30 × 24 hours; a start so long
// ago that they are over is stored as expired.
func StartPlan(lp *LinePlan, t, now time.Time) {
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

// ChargeToLine charges a record of the eSIM e to plans, its line's: all of
// it while e is the line's eSIM, the part before the moment it was replaced
// when it was (rule 6), and none of it otherwise.
func ChargeToLine(plans []LinePlan, u Usage, e Holder, now time.Time) Charged {
	switch {
	case e.State == StateAllocated:
		return ChargeUsage(plans, u, now)
	case e.ReplacedBy == "":
		return Charged{Uncovered: u.Bytes, Reason: "the eSIM is " + e.State + ": nobody's line"}
	}
	replaced := "the eSIM was replaced by " + e.ReplacedBy + " at " + stamp(e.ReplacedAt) + ": nobody's line since"
	if !u.Start.Before(e.ReplacedAt) {
		return Charged{Uncovered: u.Bytes, Reason: replaced}
	}
	before := u
	if u.End.After(e.ReplacedAt) {
		before.End = e.ReplacedAt
		before.Bytes = window{u.Start, u.End, u.Bytes}.bytesUntil(e.ReplacedAt)
	}
	o := ChargeUsage(plans, before, now)
	if after := u.Bytes - before.Bytes; after > 0 {
		o.Uncovered += after
		if o.Reason == "" {
			o.Reason = replaced
		}
	}
	return o
}

// The life of a plan on an eSIM, as the networks and the SM-DP+ report it.
//
// A plan is queued until the phone uses it: an attachment to a network in
// one of its destinations, or usage there (ChargeUsage, which also has how data
// is charged and when a plan is used up). It is then active from that moment
// for exactly validity_days × 24 hours: active while activated_at <= t <
// expires_at, unless its data runs out first. In UTC, where every time here
// lives, that is the same instant as adding calendar days, and it leaves no
// daylight-saving hour to argue about.
//
// When the phone attaches in country X at t (PlanToActivate):
//   - a plan covering X that is active at t and still has data covers the
//     attachment: nothing changes;
//   - otherwise the oldest queued plan covering X (lowest esim_plans.id) that
//     was on the eSIM at t becomes active at t;
//   - a report older than a start already made for a plan covering X changes
//     nothing: reports can arrive late and out of order, and a plan the
//     customer has started is never moved or doubled by a stale one;
//   - an attachment no plan covers is recorded and changes nothing.
//
// The stored state becomes 'expired' when the notice scheduler sends the
// plan's Ended notice (db/notices.go); nothing reads it for that:
// LinePlan.StateAt and the rules look at expires_at.

// PlanToActivate picks the plan an attachment in country at t starts, or
// says why none starts. plans are in the order they were added.
func PlanToActivate(plans []LinePlan, country string, t time.Time) (*LinePlan, string) {
	if i := activeCovering(plans, country, t); i >= 0 {
		return nil, "covered by active plan " + plans[i].OrderNumber
	}
	i, reason := planToStart(plans, country, t)
	if i < 0 {
		return nil, reason
	}
	return &plans[i], ""
}
