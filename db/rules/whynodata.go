package rules

import (
	"fmt"
	"strings"
	"time"
)

// Why no data? and the line's headline come from one rule: Diagnose runs
// the checks below, in this order, on what the portal knows of a line, and
// both read its answer. The headline is the lead check (the first failure,
// else the first that waits, else the plan carrying the data); the checklist
// shows every check with the lead on top. So the two cannot disagree.
//
//  1. QR email delivered: the SM-DP+ released the profile and the QR email
//     was delivered (or the phone has the profile, which proves it).
//  2. Installed: the SM-DP+ or a network reports the profile on the phone,
//     and it was not deleted nor failed to install.
//  3. Turned on: the phone has not turned the eSIM off.
//  4. A plan with data: a plan is active with data left, or one waits to
//     start.
//  5. Covers where the phone is: a plan that can carry data covers the
//     country the phone last connected in; with none yet, the line waits.
//  6. No data with no plan: the networks let no data through that no plan
//     took (their fault, not the customer's).
//
// A check that cannot be known before an earlier one passes is Unknown, not
// failed: one cause is never shown as two.

// Results of a Check.
const (
	CheckPassed  = "passed"
	CheckFailed  = "failed"
	CheckWaiting = "waiting" // nothing is wrong, but something has to happen first
	CheckUnknown = "unknown" // nothing reported that tells either way
)

// The checks, in their order.
const (
	CheckQR        = "qr"
	CheckInstalled = "installed"
	CheckOn        = "on"
	CheckPlan      = "plan"
	CheckCovers    = "covers"
	CheckUncovered = "uncovered"
)

// The actions a failed check points at, each a button on the line.
const (
	FixResend  = "resend_qr"
	FixReplace = "replace_esim"
	FixAddPlan = "add_plan"
)

// Check is one check of a line, with its evidence.
type Check struct {
	Key    string // a Check… key
	Name   string // "QR email delivered"
	Result string // CheckPassed, CheckFailed, CheckWaiting or CheckUnknown
	// Says is the evidence in an agent's words, without its time: "Turned
	// off on the phone".
	Says string
	// At is when the evidence happened; zero when it has no time.
	At time.Time
	// Advice is what to do when the check fails or waits; Fix the action on
	// the line that does it ("" when the fix is on the phone), and Country
	// the destination Add plan opens with.
	Advice  string
	Fix     string
	Country string
}

// Diagnosis is a line's checks, in order.
type Diagnosis struct {
	Checks []Check
}

// OK is set when every check passed: nothing the portal knows stops the data.
func (d Diagnosis) OK() bool {
	for _, c := range d.Checks {
		if c.Result != CheckPassed {
			return false
		}
	}
	return true
}

// Lead is what the line's headline says and the checklist shows on top: the
// first failed check, else the first that waits, else the plan check.
func (d Diagnosis) Lead() Check {
	for _, result := range []string{CheckFailed, CheckWaiting} {
		for _, c := range d.Checks {
			if c.Result == result {
				return c
			}
		}
	}
	return d.check(CheckPlan)
}

// check is the check of key.
func (d Diagnosis) check(key string) Check {
	for _, c := range d.Checks {
		if c.Key == key {
			return c
		}
	}
	return Check{}
}

// Headline is the line's headline before its time and fix: "Using now:
// Euro 1 — 620 MB left, 27 days left", "No data: Turned off on the phone".
// It says "Using now" when the first five checks pass: data with no plan
// is the network's fault, and the phone has data.
func (d Diagnosis) Headline() string {
	lead := d.Lead()
	switch {
	case lead.Key == CheckUncovered: // the phone has data; the network let some through that no plan took
		return "Using now: " + d.check(CheckPlan).Says + ", but " + lead.Says
	case lead.Result == CheckFailed:
		return "No data: " + lead.Says
	case lead.Result == CheckWaiting:
		return "Nothing active yet: " + lead.Says
	}
	return "Using now: " + lead.Says
}

// Diagnose runs the checks of line l at now (the rule is at the top of this
// file).
func Diagnose(l ESIM, now time.Time) Diagnosis {
	qr := checkQR(l)
	installed := checkInstalled(l, qr)
	on := checkOn(l, installed)
	plan := checkPlan(l, now)
	return Diagnosis{Checks: []Check{qr, installed, on, plan, checkCovers(l, now, plan), checkUncovered(l)}}
}

func checkQR(l ESIM) Check {
	c := Check{Key: CheckQR, Name: "QR email delivered"}
	switch {
	case l.SMDP.State == SMDPQueued:
		c.Result, c.Says, c.Advice = CheckWaiting, l.SMDP.Waiting(), "The QR email goes out once the SM-DP+ releases the profile."
	case l.SMDP.State == SMDPRefused:
		c.Result, c.Says, c.Fix = CheckFailed, "The SM-DP+ refused this eSIM: "+l.SMDP.Refusal, FixReplace
		c.Advice = "Replace eSIM: the new one is ordered from the SM-DP+ afresh."
	case !l.QRSentAt.IsZero():
		c.Result, c.Says, c.At = CheckPassed, "Delivered", l.QRSentAt
	case l.ProfileState != "":
		c.Result, c.Says, c.At = CheckPassed, "The phone has the profile, so the QR code reached the customer", l.ProfileStateAt
	case l.QRState == EmailFailed:
		c.Result, c.Says, c.Fix = CheckFailed, "The QR email failed", FixResend
		c.Advice = "Check the email address, then Resend QR email."
	case l.QRState == EmailQueued:
		c.Result, c.Says = CheckWaiting, "The QR email is still in the outbox"
		c.Advice = "Wait a few minutes, or check the mail server."
	default:
		c.Result, c.Says, c.Fix, c.Advice = CheckFailed, "No QR email was sent for this eSIM", FixResend, "Resend QR email."
	}
	return c
}

func checkInstalled(l ESIM, qr Check) Check {
	c := Check{Key: CheckInstalled, Name: "Installed"}
	switch {
	case l.SMDP.InstallError != "":
		c.Result, c.Says, c.At, c.Fix = CheckFailed, "The phone could not install the eSIM: "+l.SMDP.InstallError, l.SMDP.InstallErrorAt, FixReplace
		c.Advice = "Replace eSIM."
	case l.ProfileState == ProfileDeleted:
		c.Result, c.Says, c.At, c.Fix = CheckFailed, "Deleted from the phone", l.ProfileStateAt, FixReplace
		c.Advice = "Replace eSIM: a deleted eSIM cannot be installed again."
	case l.ProfileState == ProfileInstalled || l.ProfileState == ProfileEnabled || l.ProfileState == ProfileDisabled:
		c.Result, c.Says, c.At = CheckPassed, "Installed on the phone", l.ProfileStateAt
	case l.LastAttachment != nil: // the networks saw it: it is installed, whatever the SM-DP+ said
		c.Result, c.Says, c.At = CheckPassed, "The phone connected in "+CountryName(l.LastAttachment.Country), l.LastAttachment.AttachedAt
	case qr.Result != CheckPassed:
		c.Result, c.Says = CheckUnknown, "Not before the QR code reaches the customer"
	default:
		c.Result, c.Says, c.At, c.Fix = CheckFailed, "Not installed yet: the QR email went out", l.QRSentAt, FixResend
		c.Advice = "Walk the customer through installing it, or Resend QR email."
	}
	return c
}

func checkOn(l ESIM, installed Check) Check {
	c := Check{Key: CheckOn, Name: "Turned on"}
	switch {
	case installed.Result != CheckPassed:
		c.Result, c.Says = CheckUnknown, "Not before it is installed"
	case l.ProfileState == ProfileDisabled:
		c.Result, c.Says, c.At = CheckFailed, "Turned off on the phone", l.ProfileStateAt
		c.Advice = "Ask the customer to turn the eSIM on in Settings (Cellular or SIMs)."
	case l.ProfileState == ProfileEnabled:
		c.Result, c.Says, c.At = CheckPassed, "Enabled on the phone", l.ProfileStateAt
	case l.LastAttachment != nil:
		c.Result, c.Says, c.At = CheckPassed, "The phone connected in "+CountryName(l.LastAttachment.Country), l.LastAttachment.AttachedAt
	default:
		c.Result, c.Says = CheckUnknown, "Not reported yet: the phone has not said it turned the eSIM on, nor connected"
	}
	return c
}

func checkPlan(l ESIM, now time.Time) Check {
	c := Check{Key: CheckPlan, Name: "A plan with data"}
	if lp := l.PlanNow(now); lp != nil {
		c.Result, c.At = CheckPassed, lp.ActivatedAt
		c.Says = fmt.Sprintf("%s — %s left, %s", lp.Plan.Name, FormatBytes(lp.LeftBytes()), DaysLeft(lp.ExpiresAt.Sub(now)))
		return c
	}
	if lp := firstQueued(l); lp != nil {
		c.Result, c.Says, c.At = CheckPassed, lp.Plan.Name+" waits to start", lp.AddedAt
		return c
	}
	c.Result, c.Fix, c.Advice = CheckFailed, FixAddPlan, "A new plan on this line gives the customer data again."
	if a := l.LastAttachment; a != nil {
		c.Country = a.Country
	}
	var last *LinePlan
	for i, lp := range l.Plans {
		if s := lp.StateAt(now); s == PlanUsedUp || s == PlanExpired {
			last = &l.Plans[i]
		}
	}
	switch {
	case last == nil:
		c.Says = "There is no plan on this line"
	case last.StateAt(now) == PlanUsedUp:
		c.Says, c.At = last.Plan.Name+" used up and nothing is queued", last.EndedAt
	default:
		c.Says, c.At = last.Plan.Name+" ended", last.ExpiresAt
	}
	if c.Country == "" && last != nil && len(last.Plan.Destinations) == 1 {
		c.Country = last.Plan.Destinations[0]
	}
	return c
}

func checkCovers(l ESIM, now time.Time, plan Check) Check {
	c := Check{Key: CheckCovers, Name: "Covers where the phone is"}
	a := l.LastAttachment
	switch {
	case plan.Result != CheckPassed:
		c.Result, c.Says = CheckUnknown, "Not while no plan has data"
		if a != nil {
			c.Says, c.At = "Last connected in "+CountryName(a.Country)+", with no plan to cover it", a.AttachedAt
		}
	case a != nil && !coveredNow(l, a.Country, now):
		c.Result, c.Says, c.At = CheckFailed, fmt.Sprintf("Connected in %s, which %s does not cover", CountryName(a.Country), planNames(l, now)), a.AttachedAt
		c.Fix, c.Country, c.Advice = FixAddPlan, a.Country, "A plan that covers "+CountryName(a.Country)+" gives the customer data there."
	case l.PlanNow(now) == nil:
		lp := firstQueued(l)
		c.Result, c.Says = CheckWaiting, fmt.Sprintf("%s starts when the phone first uses data in %s", lp.Plan.Name, lp.Plan.Region)
		c.Advice = "Check that data roaming is on for this eSIM."
	case a == nil:
		c.Result, c.Says = CheckPassed, l.PlanNow(now).Plan.Name+" is in use"
	default:
		c.Result, c.Says, c.At = CheckPassed, "Connected in "+CountryName(a.Country), a.AttachedAt
	}
	return c
}

func checkUncovered(l ESIM) Check {
	c := Check{Key: CheckUncovered, Name: "No data with no plan"}
	if l.UncoveredBytes == 0 {
		c.Result, c.Says = CheckPassed, "Every byte reported went to a plan"
		return c
	}
	c.Result, c.Says = CheckFailed, FormatBytes(l.UncoveredBytes)+" used with no plan to take it"
	c.Advice = "The network should have cut the data: tell the network operations team."
	return c
}

// firstQueued is the line's first plan still waiting to start, nil if none.
func firstQueued(l ESIM) *LinePlan {
	for i := range l.Plans {
		if l.Plans[i].State == PlanQueued {
			return &l.Plans[i]
		}
	}
	return nil
}

// carriesOrWaits reports whether a plan can carry data now: active with
// data, or queued to start.
func carriesOrWaits(lp LinePlan, now time.Time) bool {
	return lp.ActiveAt(now) || lp.State == PlanQueued
}

// coveredNow reports whether a plan of the line can carry data in country
// now.
func coveredNow(l ESIM, country string, now time.Time) bool {
	for _, lp := range l.Plans {
		if lp.Plan.Covers(country) && carriesOrWaits(lp, now) {
			return true
		}
	}
	return false
}

// planNames reads "Euro 1" or "Euro 1 or Euro 3": the line's plans that can
// carry data now.
func planNames(l ESIM, now time.Time) string {
	var names []string
	for _, lp := range l.Plans {
		if carriesOrWaits(lp, now) {
			names = append(names, lp.Plan.Name)
		}
	}
	return strings.Join(names, " or ")
}
