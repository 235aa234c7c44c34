package db

import (
	"context"
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

// held is a subscriber as the portal holds it, for comparing with billing's state.
type held struct {
	id                         int64
	name, email, phone, status string
	asOf                       string
	plans                      []DomesticPlan
	billingIDs                 []string
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
