package emails

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
)

// noticeView is what a notice about a plan says, in both its HTML and text
// forms: a lead sentence, the facts of the plan, and what happens next.
type noticeView struct {
	Name  string
	Lead  string
	Facts []fact
	Then  []string
	Brand string
}

type fact struct{ Label, Value string }

// PlanNotice renders a notice about a plan (db/rules/notices.go says when each
// kind goes out).
func (r Renderer) PlanNotice(m db.PlanMail) (db.Message, error) {
	lp := m.Plan
	if lp.OrderNumber == "" || lp.Plan.Name == "" {
		return db.Message{}, errors.New("emails: a plan notice needs the order number and the plan")
	}
	v := noticeView{Name: greetingName(m.Subscriber.Name), Brand: r.brand()}
	v.Facts = []fact{{"Plan", lp.Plan.Name}, {"Order number", lp.OrderNumber}, {"eSIM line", m.LineName}}
	var subject string
	switch m.Kind {
	case db.EmailPlanStarted:
		subject = fmt.Sprintf("Your %s plan has started", lp.Plan.Name)
		v.Lead = fmt.Sprintf("Your %s plan on line %s started in %s on %s.", lp.Plan.Name, m.LineName, rules.CountryName(m.Country), when(lp.ActivatedAt))
		v.Facts = append(v.Facts, fact{"Data", rules.FormatBytes(lp.DataBytes)}, fact{"Ends", when(lp.ExpiresAt)})
		v.Then = []string{fmt.Sprintf("It ends on %s or when its data is used up, whichever comes first. It does not renew.", when(lp.ExpiresAt))}
	case db.EmailDataLow:
		subject = fmt.Sprintf("%s: %d%% of your data used", lp.Plan.Name, m.LowPercent)
		v.Lead = fmt.Sprintf("You have used %s of the %s of your %s plan on line %s: %s is left.",
			rules.FormatBytes(lp.UsedBytes), rules.FormatBytes(lp.DataBytes), lp.Plan.Name, m.LineName, rules.FormatBytes(lp.LeftBytes()))
		v.Facts = append(v.Facts, fact{"Data left", rules.FormatBytes(lp.LeftBytes())}, fact{"Ends", when(lp.ExpiresAt)})
		v.Then = []string{afterThis(m, "When its data runs out")}
	case db.EmailDataUsedUp:
		subject = fmt.Sprintf("%s: your data is used up", lp.Plan.Name)
		v.Lead = fmt.Sprintf("Your %s plan on line %s used up its %s on %s.", lp.Plan.Name, m.LineName, rules.FormatBytes(lp.DataBytes), when(lp.EndedAt))
		if c := m.Current; c != nil {
			v.Then = []string{fmt.Sprintf("Your %s plan has taken over: %s of data until %s. There is nothing you need to do.",
				c.Plan.Name, rules.FormatBytes(c.LeftBytes()), when(c.ExpiresAt))}
		} else {
			v.Then = []string{afterThis(m, "Next")}
		}
	case db.EmailEndsSoon:
		subject = fmt.Sprintf("%s ends on %s", lp.Plan.Name, lp.ExpiresAt.UTC().Format("2 January"))
		v.Lead = fmt.Sprintf("Your %s plan on line %s ends on %s, in %s. It still has %s of data.",
			lp.Plan.Name, m.LineName, when(lp.ExpiresAt), inAbout(lp.ExpiresAt.Sub(m.At)), rules.FormatBytes(lp.LeftBytes()))
		v.Facts = append(v.Facts, fact{"Data left", rules.FormatBytes(lp.LeftBytes())}, fact{"Ends", when(lp.ExpiresAt)})
		v.Then = []string{"The plan does not renew, and data it has left at its end does not carry over.", afterThis(m, "After it ends")}
	case db.EmailPlanEnded:
		subject = fmt.Sprintf("%s has ended", lp.Plan.Name)
		v.Lead = fmt.Sprintf("Your %s plan on line %s ended on %s, %d days after it started.", lp.Plan.Name, m.LineName, when(lp.ExpiresAt), lp.Plan.ValidityDays)
		v.Then = []string{afterThis(m, "Next")}
	case db.EmailPlanCancelled:
		subject = fmt.Sprintf("Order %s cancelled: %s on line %s", lp.OrderNumber, lp.Plan.Name, m.LineName)
		v.Lead = fmt.Sprintf("Your %s plan on line %s is cancelled, as you asked. It had not started, so none of its data was used.",
			lp.Plan.Name, m.LineName)
		v.Facts = append(v.Facts, fact{"Cancelled on", when(m.At)}, fact{"Reason", m.Reason})
		v.Then = []string{"The other plans on your eSIM are not affected. If this was a mistake, contact our support."}
	default:
		return db.Message{}, fmt.Errorf("emails: no notice of kind %q", m.Kind)
	}
	v.Facts = append(v.Facts, fact{"eSIM ICCID", m.ICCID})
	html, err := renderHTML(noticeHTML(subject, v))
	if err != nil {
		return db.Message{}, err
	}
	return db.Message{Subject: subject, Text: noticeText(v), HTML: html}, nil
}

// afterThis says what the line has once the plan is over: the plan that
// carries it, the plans waiting, or how to get more data.
func afterThis(m db.PlanMail, lead string) string {
	switch {
	case m.Current != nil:
		return fmt.Sprintf("%s, your %s plan carries on: %s of data until %s.", lead, m.Current.Plan.Name,
			rules.FormatBytes(m.Current.LeftBytes()), when(m.Current.ExpiresAt))
	case len(m.Queued) > 0:
		names := make([]string, len(m.Queued))
		for i, q := range m.Queued {
			names[i] = q.Plan.Name + " (" + rules.FormatBytes(q.DataBytes) + ")"
		}
		return fmt.Sprintf("%s, the next plan on this line starts by itself when your phone uses data in its destinations: %s.",
			lead, strings.Join(names, ", "))
	}
	return "Nothing else is on this line. To get more data, contact our support and ask for a new plan on your eSIM line " +
		m.LineName + ": it goes on the same eSIM, with nothing new to install."
}

// inAbout reads a time left as "3 days" or "20 hours".
func inAbout(left time.Duration) string {
	if left >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(math.Round(left.Hours()/24)))
	}
	return fmt.Sprintf("%d hours", int(math.Max(1, math.Round(left.Hours()))))
}

// when is a moment as the customer reads it: date and time, with the zone.
func when(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

func noticeText(v noticeView) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("Hello %s,", v.Name)
	p("")
	p("%s", v.Lead)
	p("")
	width := 0
	for _, f := range v.Facts {
		width = max(width, len(f.Label)+1)
	}
	for _, f := range v.Facts {
		p("%-*s %s", width, f.Label+":", f.Value)
	}
	for _, t := range v.Then {
		p("")
		p("%s", t)
	}
	p("")
	p("%s", v.Brand)
	return b.String()
}
