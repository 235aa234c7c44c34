package rules

import (
	"strings"
	"testing"
	"time"
)

// TestDiagnose has a case per way a line can be: every check's result in
// order, and the lead check the headline and the top of Why no data? show,
// with its evidence, time and fix.
func TestDiagnose(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	euro := Plan{Name: "Euro 1", Region: "Europe", ValidityDays: 30, Destinations: []string{"DE", "ES", "FR"}}
	japan := Plan{Name: "Japan", Region: "Asia", ValidityDays: 30, Destinations: []string{"JP"}}
	queued := LinePlan{Plan: euro, State: PlanQueued, DataBytes: 1000 * BytesPerMB, AddedAt: now.Add(-3 * day)}
	active := LinePlan{Plan: euro, State: PlanActive, DataBytes: 1000 * BytesPerMB, UsedBytes: 380 * BytesPerMB,
		ActivatedAt: now.Add(-3 * day), ExpiresAt: now.Add(27 * day)}
	usedUp := active
	usedUp.State, usedUp.UsedBytes, usedUp.EndedAt = PlanUsedUp, usedUp.DataBytes, time.Date(2026, 12, 3, 14, 20, 0, 0, time.UTC)
	expired := active
	expired.ActivatedAt, expired.ExpiresAt = now.Add(-40*day), time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	expiredJapan := expired
	expiredJapan.Plan = japan
	sent := now.Add(-4 * day)
	installed := func(plans ...LinePlan) ESIM {
		return ESIM{QRSentAt: sent, QRState: EmailSent, ProfileState: ProfileInstalled, ProfileStateAt: sent, Plans: plans}
	}
	in := func(e ESIM, country string) ESIM {
		e.LastAttachment = &Attachment{Country: country, AttachedAt: now.Add(-time.Hour)}
		return e
	}
	profile := func(e ESIM, state string, at time.Time) ESIM {
		e.ProfileState, e.ProfileStateAt = state, at
		return e
	}
	dec2, dec4 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC), time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		line    ESIM
		results string // of the six checks, in order: p(assed), f(ailed), w(aiting), u(nknown)
		lead    Check  // Key, Result, Says, At, Fix and Country
		head    string
	}{
		{"QREmailFailed", ESIM{QRState: EmailFailed, Plans: []LinePlan{queued}}, "fuupwp",
			Check{Key: CheckQR, Result: CheckFailed, Says: "The QR email failed", Fix: FixResend},
			"No data: The QR email failed"},
		{"QREmailStillQueued", ESIM{QRState: EmailQueued, Plans: []LinePlan{queued}}, "wuupwp",
			Check{Key: CheckQR, Result: CheckWaiting, Says: "The QR email is still in the outbox"},
			"Nothing active yet: The QR email is still in the outbox"},
		{"NoQREmail", ESIM{Plans: []LinePlan{queued}}, "fuupwp",
			Check{Key: CheckQR, Result: CheckFailed, Says: "No QR email was sent for this eSIM", Fix: FixResend},
			"No data: No QR email was sent for this eSIM"},
		{"DeletedFromThePhone", profile(installed(active), ProfileDeleted, dec2), "pfuppp",
			Check{Key: CheckInstalled, Result: CheckFailed, Says: "Deleted from the phone", At: dec2, Fix: FixReplace},
			"No data: Deleted from the phone"},
		{"InstallError", func() ESIM {
			e := installed(queued)
			e.ProfileState, e.SMDP.InstallError, e.SMDP.InstallErrorAt = ProfileDownloaded, "too many download attempts", dec2
			return e
		}(), "pfupwp",
			Check{Key: CheckInstalled, Result: CheckFailed, Says: "The phone could not install the eSIM: too many download attempts", At: dec2, Fix: FixReplace},
			"No data: The phone could not install the eSIM: too many download attempts"},
		{"TurnedOff", profile(installed(active), ProfileDisabled, dec4), "ppfppp",
			Check{Key: CheckOn, Result: CheckFailed, Says: "Turned off on the phone", At: dec4},
			"No data: Turned off on the phone"},
		// Isabella Martínez's case: turned off, and the plan ended. Both
		// fail; the first is the lead, and the headline says that one.
		{"TurnedOffAndEnded", in(profile(installed(expired), ProfileDisabled, dec4), "FR"), "ppffup",
			Check{Key: CheckOn, Result: CheckFailed, Says: "Turned off on the phone", At: dec4},
			"No data: Turned off on the phone"},
		{"NotInstalled", ESIM{QRSentAt: dec2, QRState: EmailSent, Plans: []LinePlan{queued}}, "pfupwp",
			Check{Key: CheckInstalled, Result: CheckFailed, Says: "Not installed yet: the QR email went out", At: dec2, Fix: FixResend},
			"No data: Not installed yet: the QR email went out"},
		{"UsedUp", in(installed(usedUp), "FR"), "pppfup",
			Check{Key: CheckPlan, Result: CheckFailed, Says: "Euro 1 used up and nothing is queued", At: usedUp.EndedAt, Fix: FixAddPlan, Country: "FR"},
			"No data: Euro 1 used up and nothing is queued"},
		{"Ended", in(installed(expired), "ES"), "pppfup",
			Check{Key: CheckPlan, Result: CheckFailed, Says: "Euro 1 ended", At: expired.ExpiresAt, Fix: FixAddPlan, Country: "ES"},
			"No data: Euro 1 ended"},
		{"EndedNeverConnectedOneCountry", installed(expiredJapan), "ppufup",
			Check{Key: CheckPlan, Result: CheckFailed, Says: "Japan ended", At: expired.ExpiresAt, Fix: FixAddPlan, Country: "JP"},
			"No data: Japan ended"},
		{"NoPlan", installed(), "ppufup",
			Check{Key: CheckPlan, Result: CheckFailed, Says: "There is no plan on this line", Fix: FixAddPlan},
			"No data: There is no plan on this line"},
		{"ConnectedWhereNoPlanCovers", in(installed(active), "JP"), "ppppfp",
			Check{Key: CheckCovers, Result: CheckFailed, Says: "Connected in Japan, which Euro 1 does not cover", At: now.Add(-time.Hour), Fix: FixAddPlan, Country: "JP"},
			"No data: Connected in Japan, which Euro 1 does not cover"},
		{"WaitingForTheTrip", installed(queued), "ppupwp",
			Check{Key: CheckCovers, Result: CheckWaiting, Says: "Euro 1 starts when the phone first uses data in Europe"},
			"Nothing active yet: Euro 1 starts when the phone first uses data in Europe"},
		{"UncoveredData", func() ESIM {
			e := in(installed(active), "FR")
			e.UncoveredBytes = 12 * BytesPerMB
			return e
		}(), "pppppf",
			Check{Key: CheckUncovered, Result: CheckFailed, Says: "12 MB used with no plan to take it"},
			"Using now: Euro 1 — 620 MB left, 27 days left, but 12 MB used with no plan to take it"},
		{"AllGood", in(profile(installed(active), ProfileEnabled, sent), "FR"), "pppppp",
			Check{Key: CheckPlan, Result: CheckPassed, Says: "Euro 1 — 620 MB left, 27 days left", At: active.ActivatedAt},
			"Using now: Euro 1 — 620 MB left, 27 days left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Diagnose(tc.line, now)
			var results strings.Builder
			for _, c := range d.Checks {
				results.WriteByte(c.Result[0])
				if c.Name == "" || c.Says == "" {
					t.Errorf("check %s has no name or evidence: %+v", c.Key, c)
				}
				if c.Result == CheckFailed && c.Advice == "" {
					t.Errorf("failed check %s says nothing to do", c.Key)
				}
			}
			if got := results.String(); got != tc.results {
				t.Errorf("results %s, want %s", got, tc.results)
			}
			lead := d.Lead()
			got := Check{Key: lead.Key, Result: lead.Result, Says: lead.Says, At: lead.At, Fix: lead.Fix, Country: lead.Country}
			if got != tc.lead {
				t.Errorf("lead\n got  %+v\n want %+v", got, tc.lead)
			}
			if h := d.Headline(); h != tc.head {
				t.Errorf("headline %q, want %q", h, tc.head)
			}
			if ok := tc.results == "pppppp"; d.OK() != ok {
				t.Errorf("OK = %v, want %v", d.OK(), ok)
			}
		})
	}
}
