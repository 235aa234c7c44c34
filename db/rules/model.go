package rules

import (
	"fmt"
	"strconv"
	"time"
)

// Allowance is how many complimentary eSIMs a subscriber holds and may hold.
type Allowance struct {
	Used  int // allocated eSIM lines the subscriber holds
	Total int // qualifying domestic plans
}

// Left is how many more eSIMs the subscriber may be given.
func (a Allowance) Left() int { return max(a.Total-a.Used, 0) }

// String reads "1 of 2 used".
func (a Allowance) String() string { return fmt.Sprintf("%d of %d used", a.Used, a.Total) }

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

// Plan is an international data plan of the catalog.
type Plan struct {
	ID           int64
	Code         string
	Name         string
	Region       string
	DataMB       int
	ValidityDays int
	IMSIProfile  int
	PriceCents   int
	Currency     string // ISO 4217, one of Currencies
	Active       bool
	Destinations []string // ISO 3166-1 alpha-2, sorted
}

// Data reads "5 GB" or "500 MB".
func (p Plan) Data() string {
	if p.DataMB >= 1000 && p.DataMB%1000 == 0 {
		return fmt.Sprintf("%d GB", p.DataMB/1000)
	}
	return fmt.Sprintf("%d MB", p.DataMB)
}

// Price reads "$19.00", "€19.00" or "19.00 CHF".
func (p Plan) Price() string { return Money(p.PriceCents, p.Currency) }

// Covers reports whether the plan works in country (ISO alpha-2).
func (p Plan) Covers(country string) bool {
	for _, c := range p.Destinations {
		if c == country {
			return true
		}
	}
	return false
}

// ESIM states in the inventory.
const (
	StateFree      = "free"
	StateAllocated = "allocated"
	StateRetired   = "retired"
)

// ESIM is one eSIM of the inventory; when allocated, it is one of a
// subscriber's lines.
type ESIM struct {
	ICCID        string
	IMSIProfile  int
	SMDPAddress  string
	MatchingID   string
	State        string
	StockedAt    time.Time
	SubscriberID int64
	LineName     string
	AllocatedAt  time.Time
	AllocatedBy  string // the login's name
	Plans        []LinePlan
	// ProfileState is the profile's last state on the phone as the SM-DP+
	// reported it (a Profile… constant), "" before any report.
	ProfileState   string
	ProfileStateAt time.Time
	// QRSentAt is when the latest QR-code email was delivered; zero if none was.
	QRSentAt time.Time
	// LastAttachment is where the phone last attached to a network, nil if
	// it never did; only Store.ESIM loads it.
	LastAttachment *Attachment
	// UncoveredBytes is the data the networks reported that no plan took.
	UncoveredBytes int64
	// QRState is the state of the latest QR-code email (an Email… state), ""
	// when none was queued.
	QRState string
	// RetiredReason says why a retired eSIM was taken out of use.
	RetiredReason string
	// ReplacedBy is the eSIM that replaced this one and Replaces the one this
	// replaced, "" for none.
	ReplacedBy, Replaces string
	// SMDP is the eSIM's order at the SM-DP+ (db/provisioning.go).
	SMDP SMDPOrder
}

// PlanNow is the plan carrying the line's data at now: the active plan with
// data left that ends first; nil when none does.
func (e ESIM) PlanNow(now time.Time) *LinePlan {
	var best *LinePlan
	for i, lp := range e.Plans {
		if lp.ActiveAt(now) && (best == nil || lp.ExpiresAt.Before(best.ExpiresAt)) {
			best = &e.Plans[i]
		}
	}
	return best
}

// ActivationCode is the GSMA SGP.22 string a phone reads from the QR code.
func (e ESIM) ActivationCode() string {
	return ActivationCode(e.SMDPAddress, e.MatchingID)
}

// ActivationCode builds LPA:1$<SM-DP+ address>$<matching ID>.
func ActivationCode(smdp, matchingID string) string {
	return "LPA:1$" + smdp + "$" + matchingID
}

// Plan states on an eSIM (the rules are in charge.go).
const (
	PlanQueued    = "queued"    // nothing has used it yet
	PlanActive    = "active"    // started, with data and days left
	PlanUsedUp    = "used_up"   // its data ran out before its 30 days
	PlanExpired   = "expired"   // its 30 × 24 hours are over
	PlanCancelled = "cancelled" // cancelled before it started
)

// BytesPerMB is how the catalog's megabytes become bytes: 1 MB is 1,000,000
// bytes, as carriers sell data.
const BytesPerMB = 1_000_000

// LinePlan is a plan put on an eSIM.
type LinePlan struct {
	ID          int64
	OrderNumber string
	Plan        Plan
	State       string // as stored; see StateAt
	AddedAt     time.Time
	AddedBy     string
	ActivatedAt time.Time
	ExpiresAt   time.Time
	// DataBytes is the allowance it was sold with; UsedBytes what usage
	// records charged to it, never more than DataBytes.
	DataBytes int64
	UsedBytes int64
	// EndedAt is when it was used up or cancelled; zero otherwise.
	EndedAt time.Time
	// CancelReason is why it was cancelled, for a cancelled plan.
	CancelReason string
}

// StateAt is the plan's state at now: an active plan past its end is expired
// whether or not anything has written that down yet.
func (lp LinePlan) StateAt(now time.Time) string {
	if lp.State == PlanActive && !now.Before(lp.ExpiresAt) {
		return PlanExpired
	}
	return lp.State
}

// LeftBytes is the data the plan still has.
func (lp LinePlan) LeftBytes() int64 { return lp.DataBytes - lp.UsedBytes }

// ActiveAt reports whether the plan can carry data at t: started, not yet
// at its end, not ended early, and with data left.
func (lp LinePlan) ActiveAt(t time.Time) bool {
	return (lp.State == PlanActive || lp.State == PlanExpired) && !t.Before(lp.ActivatedAt) && t.Before(lp.ExpiresAt) &&
		lp.UsedBytes < lp.DataBytes
}

// Profile states of an eSIM on the phone, as the SM-DP+ reports them.
const (
	ProfileDownloaded = "downloaded"
	ProfileInstalled  = "installed"
	ProfileEnabled    = "enabled"
	ProfileDisabled   = "disabled"
	ProfileDeleted    = "deleted"
)

// ProfileEvents are the profile events the SM-DP+ reports.
var ProfileEvents = []string{ProfileDownloaded, ProfileInstalled, ProfileEnabled, ProfileDisabled, ProfileDeleted}

// Attachment is a network's report that an eSIM attached in a country.
type Attachment struct {
	ICCID      string
	Country    string // ISO 3166-1 alpha-2
	MCC        string // as reported; "" when the report gave the country
	AttachedAt time.Time
	ReceivedAt time.Time
}

// SM-DP+ order states.
const (
	SMDPQueued     = "queued"
	SMDPReleased   = "released"
	SMDPRefused    = "refused"
	SMDPCancelling = "cancelling"
	SMDPCancelled  = "cancelled"
)

// SMDPOrder is an eSIM's order at the SM-DP+, as a line shows it.
type SMDPOrder struct {
	State         string // an SMDP… state; "" when the eSIM was never ordered
	Attempts      int    // calls that did not go through
	NextAttemptAt time.Time
	LastError     string
	StatusCode    string // subjectCode/reasonCode of a refusal
	Refusal       string // a refusal in an agent's words
	// InstallError is the last failure the SM-DP+ reported from the phone,
	// in an agent's words, while no newer report came; InstallErrorAt is
	// when it happened.
	InstallError   string
	InstallErrorAt time.Time
}

// Waiting is what a line says while its order waits for the SM-DP+, "" once
// it does not.
func (o SMDPOrder) Waiting() string {
	if o.State != SMDPQueued {
		return ""
	}
	if o.Attempts == 0 {
		return "Waiting for the SM-DP+ to release the profile — the QR email goes out as soon as it does"
	}
	tries := "tries"
	if o.Attempts == 1 {
		tries = "try"
	}
	return fmt.Sprintf("Waiting for the SM-DP+ — %d %s, next at %s UTC", o.Attempts, tries, o.NextAttemptAt.UTC().Format("15:04"))
}

// Outbox email states. A queued email waits for the worker (or, with no mail
// server configured, is held).
const (
	EmailQueued = "queued"
	EmailSent   = "sent"
	EmailFailed = "failed"
)

// Notice kinds of the outbox.
const (
	EmailPlanStarted = "plan_started"
	EmailDataLow     = "data_low"
	EmailDataUsedUp  = "data_used_up"
	EmailEndsSoon    = "ends_soon"
	EmailPlanEnded   = "plan_ended"
	// EmailPlanCancelled confirms a plan cancelled before it started: an
	// order email, sent whatever the notice setting (db/cancelplan.go).
	EmailPlanCancelled = "plan_cancelled"
)
