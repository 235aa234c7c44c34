package emails

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carrier/esim-admin/db"
)

// LowStock renders the daily email that tells a team lead an IMSI profile's
// stock runs out within the reorder lead time (db.NotifyLowStock). It is
// signed by the portal, not by the carrier's brand: it is for its staff.
func (r Renderer) LowStock(m db.LowStockMail) (db.Message, error) {
	f := m.Forecast
	if m.Lead.Email == "" || !db.ValidIMSIProfile(f.IMSIProfile) {
		return db.Message{}, errors.New("emails: a low-stock email needs the lead's address and the profile")
	}
	v := noticeView{Name: greetingName(m.Lead.Name), Brand: "eSIM Admin Portal"}
	var subject string
	if f.Free == 0 {
		subject = fmt.Sprintf("Out of stock: no free profile %d eSIMs", f.IMSIProfile)
		v.Lead = fmt.Sprintf("There are no free eSIMs of IMSI profile %d left: Add line refuses plans of this profile until a delivery is imported.", f.IMSIProfile)
	} else {
		subject = fmt.Sprintf("Low stock: profile %d eSIMs run out about %s", f.IMSIProfile, f.RunsOut.UTC().Format("2 January"))
		stock := fmt.Sprintf("the %d free eSIMs of IMSI profile %d run out", f.Free, f.IMSIProfile)
		if f.Free == 1 {
			stock = fmt.Sprintf("the last free eSIM of IMSI profile %d goes", f.IMSIProfile)
		}
		v.Lead = fmt.Sprintf("At the rate they are handed out, %s about %s: within the reorder lead time of %s.",
			stock, day(f.RunsOut), plural(f.ReorderDays, "day"))
	}
	v.Facts = []fact{
		{"IMSI profile", fmt.Sprint(f.IMSIProfile)},
		{"Free eSIMs", fmt.Sprint(f.Free)},
		{"Allocated a day", fmt.Sprintf("%s over the last 14 days, %s over the last 28", rate(f.Rate14), rate(f.Rate28))},
	}
	if f.Free > 0 {
		reorder := day(f.ReorderBy)
		if f.ReorderBy.Before(utcMidnight(m.At)) {
			reorder += " (passed)"
		}
		v.Facts = append(v.Facts, fact{"Runs out", "about " + day(f.RunsOut)}, fact{"Reorder by", reorder})
	}
	v.Then = []string{
		"Reorder now. When the delivery arrives, import it on eSIM → List → Import eSIMs.",
		"Team lead → Insights has the forecast of every profile. This email comes once a day while the forecast says the stock runs out within the lead time.",
	}
	html, err := renderHTML(noticeHTML(subject, v))
	if err != nil {
		return db.Message{}, err
	}
	return db.Message{Subject: subject, Text: noticeText(v), HTML: html}, nil
}

// day is a date as team leads read it, in UTC.
func day(t time.Time) string { return t.UTC().Format("Mon 2 January 2006") }

func utcMidnight(t time.Time) time.Time {
	y, mo, d := t.UTC().Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

// rate reads an allocation rate: "11", "2.5", "0".
func rate(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0f", r)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", r), ".0")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
