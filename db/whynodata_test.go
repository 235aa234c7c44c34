package db

import (
	"testing"
	"time"
)

// TestWhyNoData has a case per verdict: what the line looks like, and what
// the agent reads.
func TestWhyNoData(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	euro := Plan{Name: "Euro 1", Region: "Europe", ValidityDays: 30, Destinations: []string{"DE", "ES", "FR"}}
	queued := LinePlan{Plan: euro, State: PlanQueued, DataBytes: 1000 * BytesPerMB, AddedAt: now.Add(-3 * day)}
	active := LinePlan{Plan: euro, State: PlanActive, DataBytes: 1000 * BytesPerMB, UsedBytes: 380 * BytesPerMB,
		ActivatedAt: now.Add(-3 * day), ExpiresAt: now.Add(27 * day)}
	usedUp := active
	usedUp.State, usedUp.UsedBytes, usedUp.EndedAt = PlanUsedUp, usedUp.DataBytes, time.Date(2026, 12, 3, 14, 20, 0, 0, time.UTC)
	expired := active
	expired.ActivatedAt, expired.ExpiresAt = now.Add(-40*day), time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	installed := func(plans ...LinePlan) ESIM {
		return ESIM{QRSentAt: now.Add(-4 * day), QRState: EmailSent, ProfileState: ProfileInstalled, ProfileStateAt: now.Add(-4 * day), Plans: plans}
	}
	in := func(e ESIM, country string) ESIM {
		e.LastAttachment = &Attachment{Country: country, AttachedAt: now.Add(-time.Hour)}
		return e
	}
	for _, tc := range []struct {
		name string
		line ESIM
		want Verdict
	}{
		{"QREmailFailed", ESIM{QRState: EmailFailed, Plans: []LinePlan{queued}},
			Verdict{Says: "The QR email failed — check the email address, then Resend QR email.", Fix: FixResend}},
		{"QREmailStillQueued", ESIM{QRState: EmailQueued, Plans: []LinePlan{queued}},
			Verdict{Says: "The QR email has not gone out yet: it is still in the outbox — wait a few minutes, or check the mail server."}},
		{"DeletedFromThePhone", func() ESIM {
			e := installed(active)
			e.ProfileState, e.ProfileStateAt = ProfileDeleted, time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
			return e
		}(), Verdict{Says: "Deleted from the phone on 2 Dec — Replace eSIM: a deleted eSIM cannot be installed again.", Fix: FixReplace}},
		{"TurnedOff", func() ESIM {
			e := installed(active)
			e.ProfileState, e.ProfileStateAt = ProfileDisabled, time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
			return e
		}(), Verdict{Says: "Turned off on the phone on 4 Dec — ask the customer to turn the eSIM on in Settings (Cellular or SIMs)."}},
		{"NotInstalled", ESIM{QRSentAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), QRState: EmailSent, Plans: []LinePlan{queued}},
			Verdict{Says: "Not installed yet: the QR email went out on 1 Dec — walk the customer through installing it, or Resend QR email.", Fix: FixResend}},
		{"UsedUp", in(installed(usedUp), "FR"), Verdict{Says: "Euro 1 used up on 3 Dec — Add plan.", Fix: FixAddPlan}},
		{"Ended", in(installed(expired), "FR"), Verdict{Says: "Euro 1 ended on 25 Nov — Add plan.", Fix: FixAddPlan}},
		{"NoPlan", installed(), Verdict{Says: "There is no plan on this line — Add plan.", Fix: FixAddPlan}},
		{"ConnectedWhereNoPlanCovers", in(installed(active), "JP"),
			Verdict{Says: "Installed, but the phone last connected in Japan, which Euro 1 does not cover — Add line with a plan for Japan.", Fix: FixAddLine}},
		{"WaitingForTheTrip", installed(queued),
			Verdict{Says: "Installed, and Euro 1 starts when the phone first uses data in Europe — check that data roaming is on for this eSIM."}},
		{"UncoveredData", func() ESIM {
			e := in(installed(active), "FR")
			e.UncoveredBytes = 12 * BytesPerMB
			return e
		}(), Verdict{Says: "Euro 1 is active with 620 MB left, but 12 MB was used with no plan to take it — tell the network operations team."}},
		{"AllGood", in(installed(active), "FR"), Verdict{OK: true, Says: "All good: Euro 1 active in France, 620 MB left, 27 days left."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := WhyNoData(tc.line, now); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
