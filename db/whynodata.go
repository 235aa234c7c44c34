package db

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Verdict is the answer to "Why no data?" on a line: what is wrong, in an
// agent's words, and what to do about it.
type Verdict struct {
	// OK is set when nothing the portal knows stops the data.
	OK bool
	// Says is the verdict and its fix, one sentence an agent can read out.
	Says string
	// Fix names the action on the line that fixes it: FixResend, FixReplace,
	// FixAddPlan, FixAddLine, or "" when the fix is on the phone.
	Fix string
}

// The actions a verdict points at.
const (
	FixResend  = "resend_qr"
	FixReplace = "replace_esim"
	FixAddPlan = "add_plan"
	FixAddLine = "add_line"
)

// WhyNoData answers "Why no data?" for line l at now from what the portal
// knows: the QR email, the profile on the phone, where the phone last
// connected against the plans' coverage, the plan carrying data and the
// plans waiting, and data no plan took. The rules are checked in order; the
// first that holds is the verdict.
func WhyNoData(l ESIM, now time.Time) Verdict {
	for _, rule := range whyNoDataRules {
		if v, ok := rule(l, now); ok {
			return v
		}
	}
	lp := l.PlanNow(now)
	where := ""
	if a := l.LastAttachment; a != nil && lp.Plan.Covers(a.Country) {
		where = " in " + CountryName(a.Country)
	}
	return Verdict{OK: true, Says: fmt.Sprintf("All good: %s active%s, %s left, %s.", lp.Plan.Name, where,
		FormatBytes(lp.LeftBytes()), DaysLeft(lp.ExpiresAt.Sub(now)))}
}

var whyNoDataRules = []func(ESIM, time.Time) (Verdict, bool){
	// The SM-DP+ has not released the profile, refused it, or reported that
	// the phone could not install it.
	func(l ESIM, now time.Time) (Verdict, bool) {
		switch {
		case l.SMDP.InstallError != "":
			return Verdict{Says: "The phone could not install the eSIM: " + l.SMDP.InstallError + ".", Fix: FixReplace}, true
		case l.SMDP.State == SMDPQueued:
			return Verdict{Says: l.SMDP.Waiting() + ": the QR email goes out once the SM-DP+ releases the profile."}, true
		case l.SMDP.State == SMDPRefused:
			return Verdict{Says: "The SM-DP+ refused this eSIM: " + l.SMDP.Refusal + ".", Fix: FixReplace}, true
		}
		return Verdict{}, false
	},
	// The QR code never reached the customer.
	func(l ESIM, now time.Time) (Verdict, bool) {
		if !l.QRSentAt.IsZero() || l.ProfileState != "" {
			return Verdict{}, false
		}
		switch l.QRState {
		case EmailFailed:
			return Verdict{Says: "The QR email failed — check the email address, then Resend QR email.", Fix: FixResend}, true
		case EmailQueued:
			return Verdict{Says: "The QR email has not gone out yet: it is still in the outbox — wait a few minutes, or check the mail server.", Fix: ""}, true
		}
		return Verdict{Says: "No QR email was sent for this eSIM — Resend QR email.", Fix: FixResend}, true
	},
	// The eSIM is gone from the phone, or switched off.
	func(l ESIM, now time.Time) (Verdict, bool) {
		switch l.ProfileState {
		case ProfileDeleted:
			return Verdict{Says: "Deleted from the phone on " + shortDay(l.ProfileStateAt) + " — Replace eSIM: a deleted eSIM cannot be installed again.", Fix: FixReplace}, true
		case ProfileDisabled:
			return Verdict{Says: "Turned off on the phone on " + shortDay(l.ProfileStateAt) + " — ask the customer to turn the eSIM on in Settings (Cellular or SIMs)."}, true
		}
		return Verdict{}, false
	},
	// Never installed.
	func(l ESIM, now time.Time) (Verdict, bool) {
		if l.ProfileState != "" && l.ProfileState != ProfileDownloaded {
			return Verdict{}, false
		}
		if l.LastAttachment != nil {
			return Verdict{}, false // the networks saw it: it is installed, whatever the SM-DP+ said
		}
		return Verdict{Says: "Not installed yet: the QR email went out on " + shortDay(l.QRSentAt) +
			" — walk the customer through installing it, or Resend QR email.", Fix: FixResend}, true
	},
	// No plan has data left, and none is waiting.
	func(l ESIM, now time.Time) (Verdict, bool) {
		if l.PlanNow(now) != nil || firstQueued(l) != nil {
			return Verdict{}, false
		}
		var last *LinePlan
		for i, lp := range l.Plans {
			if s := lp.StateAt(now); s == PlanUsedUp || s == PlanExpired {
				last = &l.Plans[i]
			}
		}
		switch {
		case last == nil:
			return Verdict{Says: "There is no plan on this line — Add plan.", Fix: FixAddPlan}, true
		case last.StateAt(now) == PlanUsedUp:
			return Verdict{Says: last.Plan.Name + " used up on " + shortDay(last.EndedAt) + " — Add plan.", Fix: FixAddPlan}, true
		}
		return Verdict{Says: last.Plan.Name + " ended on " + shortDay(last.ExpiresAt) + " — Add plan.", Fix: FixAddPlan}, true
	},
	// The phone is somewhere no plan with data covers.
	func(l ESIM, now time.Time) (Verdict, bool) {
		a := l.LastAttachment
		if a == nil || coveredNow(l, a.Country, now) {
			return Verdict{}, false
		}
		names := planNames(l, now)
		return Verdict{Says: fmt.Sprintf("Installed, but the phone last connected in %s, which %s does not cover — Add line with a plan for %s.",
			CountryName(a.Country), names, CountryName(a.Country)), Fix: FixAddLine}, true
	},
	// Nothing active yet: waiting for the trip.
	func(l ESIM, now time.Time) (Verdict, bool) {
		lp := firstQueued(l)
		if l.PlanNow(now) != nil || lp == nil {
			return Verdict{}, false
		}
		return Verdict{Says: fmt.Sprintf("Installed, and %s starts when the phone first uses data in %s — check that data roaming is on for this eSIM.",
			lp.Plan.Name, lp.Plan.Region)}, true
	},
	// Data the network let through with no plan: the network is at fault.
	func(l ESIM, now time.Time) (Verdict, bool) {
		if l.UncoveredBytes == 0 {
			return Verdict{}, false
		}
		lp := l.PlanNow(now)
		return Verdict{Says: fmt.Sprintf("%s is active with %s left, but %s was used with no plan to take it — tell the network operations team.",
			lp.Plan.Name, FormatBytes(lp.LeftBytes()), FormatBytes(l.UncoveredBytes))}, true
	},
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

func shortDay(t time.Time) string { return t.UTC().Format("2 Jan") }

// DaysLeft reads the time to a plan's end as "27 days left"; a day begun
// counts as a day left, so the last hours read "1 day left".
func DaysLeft(d time.Duration) string {
	days := int(math.Ceil(d.Hours() / 24))
	if days == 1 {
		return "1 day left"
	}
	return fmt.Sprintf("%d days left", days)
}
