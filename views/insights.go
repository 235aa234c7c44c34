package views

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
)

// The Insights page's charts are SVG drawn here, on the server: no chart
// script runs in the browser. Horizontal positions are percentages of the
// chart's width and vertical ones pixels, so a chart fills a phone or a wide
// screen while its text keeps its size. Colours come from classes in
// app.css; each IMSI profile also has a pattern (solid, stripes, dots), and
// every bar has its number written next to it, so the charts read without
// colour. A table of the same numbers follows each chart. The bars link to
// the eSIM List filtered to what they count; in the SVG they are out of the
// tab order, since the table's links are the same.

// InsightsView is what the Insights page shows.
type InsightsView struct {
	Insights    *db.Insights
	Days        int // the period of the funnel and the plans
	ReorderDays int
	LowStock    int
	MailHeld    bool
	TTL         time.Duration // how long the page keeps its figures
}

// InsightsPeriods are the periods the page offers, in days.
var InsightsPeriods = []int{7, 30, 90}

func (v InsightsView) period() db.Period { return v.Insights.Period(v.Days) }

// periodLabel reads "the last 30 days (2 Nov – 1 Dec)".
func (v InsightsView) periodLabel() string {
	p := v.period()
	return fmt.Sprintf("the last %d days (%s – %s)", p.Days, dayMonth(p.From), dayMonth(p.To))
}

func dayMonth(t time.Time) string { return t.UTC().Format("2 Jan") }

func isoDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// listURL is the eSIM List filtered by the pairs of name and value given.
func listURL(pairs ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	if len(q) == 0 {
		return "/esims"
	}
	return "/esims?" + q.Encode()
}

// periodListURL is the List of the lines allocated in the period, with more
// filters.
func periodListURL(p db.Period, pairs ...string) string {
	return listURL(append([]string{"state", db.StateAllocated, "from", isoDay(p.From), "to", isoDay(p.To)}, pairs...)...)
}

func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 3, 64) + "%" }

func pxs(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// share reads a part of a whole as "62%", or "—" of nothing.
func share(part, whole int) string {
	if whole == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", math.Round(float64(part)*100/float64(whole)))
}

func frac(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return min(max(part/whole, 0), 1)
}

// perDay reads an allocation rate: "~11 a day", "~2.5 a day".
func perDay(r float64) string {
	switch {
	case r == 0:
		return "none a day"
	case r < 0.05:
		return "under 0.1 a day"
	case r >= 10:
		return fmt.Sprintf("~%.0f a day", r)
	}
	return "~" + strconv.FormatFloat(math.Round(r*10)/10, 'f', -1, 64) + " a day"
}

// rateCell is a rate in a table: one decimal.
func rateCell(r float64) string { return strconv.FormatFloat(r, 'f', 1, 64) }

// niceCeil is the smallest of 1, 2, 5 times a power of ten at or above v,
// and at least 2, for an axis of counts whose middle line is a whole number.
func niceCeil(v float64) float64 {
	if v <= 2 {
		return 2
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// profilePattern is the pattern that fills a profile's bars.
func profilePattern(p int) string { return fmt.Sprintf("url(#ins-p%d)", p) }

// dayChart is the allocations chart: a column a day, stacked by profile,
// with the 7-day average as a line.
type dayChart struct {
	Height  int
	Bars    []dayBar
	Average []segment
	Grid    []gridLine
	Labels  []axisLabel
}

type dayBar struct {
	X, W string
	Segs []daySeg
}

type daySeg struct {
	Y, H    string
	Profile int
	N       int
	Href    string
	Title   string
}

type segment struct{ X1, X2, Y1, Y2 string }

type gridLine struct {
	Y, LabelY string
	Label     string
}

type axisLabel struct {
	X, Anchor, Text string
}

const (
	dayChartTop    = 14.0  // room for the top grid line's label
	dayChartPlot   = 170.0 // height of the bars' area
	dayChartBottom = 22.0  // room for the dates
)

func newDayChart(days []db.DayAllocations) dayChart {
	c := dayChart{Height: int(dayChartTop + dayChartPlot + dayChartBottom)}
	top := 0.0
	for _, d := range days {
		top = max(top, float64(d.Total), d.Average)
	}
	top = niceCeil(top)
	y := func(v float64) float64 { return dayChartTop + dayChartPlot*(1-v/top) }
	for _, v := range []float64{0, top / 2, top} {
		c.Grid = append(c.Grid, gridLine{Y: pxs(y(v)), LabelY: pxs(y(v) - 3), Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	n := float64(len(days))
	col := 1 / n
	for i, d := range days {
		b := dayBar{X: pct((float64(i) + 0.12) * col), W: pct(col * 0.76)}
		base := 0.0
		for j, p := range db.IMSIProfiles {
			v := float64(d.ByProfile[j])
			if v == 0 {
				continue
			}
			b.Segs = append(b.Segs, daySeg{
				Y: pxs(y(base + v)), H: pxs(y(base) - y(base+v)), Profile: p, N: d.ByProfile[j],
				Href:  listURL("state", db.StateAllocated, "profile", strconv.Itoa(p), "from", isoDay(d.Day), "to", isoDay(d.Day)),
				Title: fmt.Sprintf("%s: %d of profile %d (%d in all)", dayMonth(d.Day), d.ByProfile[j], p, d.Total),
			})
			base += v
		}
		c.Bars = append(c.Bars, b)
		if i > 0 && d.HasAverage && days[i-1].HasAverage {
			c.Average = append(c.Average, segment{
				X1: pct((float64(i) - 0.5) * col), X2: pct((float64(i) + 0.5) * col),
				Y1: pxs(y(days[i-1].Average)), Y2: pxs(y(d.Average)),
			})
		}
		if d.Day.Day() == 1 || d.Day.Day() == 15 {
			l := axisLabel{X: pct((float64(i) + 0.5) * col), Anchor: "middle", Text: dayMonth(d.Day)}
			switch {
			case float64(i) < n*0.04:
				l.Anchor = "start"
			case float64(i) > n*0.96:
				l.Anchor = "end"
			}
			c.Labels = append(c.Labels, l)
		}
	}
	return c
}

// hbarChart is a chart of horizontal bars, one a row: the row's label and
// its number above its bar.
type hbarChart struct {
	ID     string // prefix of the ids in it
	Title  string // its accessible name
	Desc   string
	Rows   []hbarRow
	Marker *hbarMarker // a vertical line across the rows, with its label
}

type hbarRow struct {
	Label string
	Value string // the number(s), as shown
	N     int64  // the number the bar is drawn from
	Frac  float64
	// Track, when above zero, is an outline the bar is drawn in: what
	// the bar is a part of (the data given, for the data used).
	Track   float64
	Href    string
	Pattern string // a fill pattern; "" draws the bar in its class's colour
	Class   string
}

type hbarMarker struct {
	Frac  float64
	Label string
}

const (
	hbarHead = 18.0 // room above the rows for the marker's label
	hbarRowH = 40.0
)

func (c hbarChart) height() int {
	h := float64(len(c.Rows)) * hbarRowH
	if c.Marker != nil {
		h += hbarHead
	}
	return int(h) + 2
}

func (c hbarChart) top() float64 {
	if c.Marker != nil {
		return hbarHead
	}
	return 0
}

func (c hbarChart) labelY(i int) string { return pxs(c.top() + float64(i)*hbarRowH + 14) }
func (c hbarChart) barY(i int) string   { return pxs(c.top() + float64(i)*hbarRowH + 20) }

// barW is a bar's width: at least a sliver when its number is not zero, so
// a small number is seen.
func barW(f float64, n int64) string {
	if n > 0 && f < 0.004 {
		f = 0.004
	}
	return pct(f)
}

func (c hbarChart) markerX() string { return pct(c.Marker.Frac) }

func (c hbarChart) markerAnchor() string {
	if c.Marker.Frac > 0.6 {
		return "end"
	}
	return "start"
}

// forecastChart draws each profile's days of stock left at its rate next to
// the reorder lead time.
func (v InsightsView) forecastChart(fs []db.StockForecast) hbarChart {
	scale := max(90.0, 2*float64(v.ReorderDays))
	c := hbarChart{ID: "forecast", Title: "Days of stock left at each profile's rate",
		Desc:   fmt.Sprintf("A bar for each IMSI profile, as long as its free eSIMs last at its rate, up to %.0f days; the line is the reorder lead time of %d days.", scale, v.ReorderDays),
		Marker: &hbarMarker{Frac: frac(float64(v.ReorderDays), scale), Label: fmt.Sprintf("lead time %d days", v.ReorderDays)}}
	for _, f := range fs {
		left := f.DaysLeft()
		r := hbarRow{Label: fmt.Sprintf("Profile %d · %s free", f.IMSIProfile, thousands(f.Free)), Pattern: profilePattern(f.IMSIProfile),
			Href: listURL("state", db.StateFree, "profile", strconv.Itoa(f.IMSIProfile)), Frac: frac(left, scale)}
		switch {
		case f.Free == 0:
			r.Value = "out of stock"
		case math.IsInf(left, 1):
			r.Value, r.Frac = "none allocated in 28 days", 1
		case left >= scale:
			r.Value = fmt.Sprintf("%s · over %.0f days", perDay(f.Rate()), scale)
		default:
			r.Value = fmt.Sprintf("%s · %.0f days", perDay(f.Rate()), math.Floor(left))
		}
		r.N = int64(f.Free)
		c.Rows = append(c.Rows, r)
	}
	return c
}

// forecastLine reads "Profile 7: 79 free · ~11 a day · runs out about 8 Dec ·
// reorder by 24 Nov".
func forecastLine(f db.StockForecast, now time.Time) string {
	s := fmt.Sprintf("Profile %d: %s free · %s", f.IMSIProfile, thousands(f.Free), perDay(f.Rate()))
	switch {
	case f.Free == 0:
		return s + " · out of stock now"
	case f.RunsOut.IsZero():
		return s + " · does not run out at this rate"
	}
	s += " · runs out about " + shortDate(f.RunsOut, now)
	if f.AtRisk {
		if isoDay(f.ReorderBy) == isoDay(now) {
			return s + " · reorder today"
		}
		return s + " · reorder now (it was due " + shortDate(f.ReorderBy, now) + ")"
	}
	return s + " · reorder by " + shortDate(f.ReorderBy, now)
}

func (v InsightsView) funnelChart(f db.Funnel) hbarChart {
	c := hbarChart{ID: "funnel", Title: "How far the lines allocated in " + v.periodLabel() + " got",
		Desc: fmt.Sprintf("%s lines allocated; a bar for each step, as a share of them.", thousands(f.Lines))}
	p := f.Period
	all := periodListURL(p)
	for _, s := range []struct {
		label string
		n     int
		href  string
	}{
		{"Lines allocated", f.Lines, all},
		{"QR email delivered", f.QRDelivered, all},
		{"Installed on the phone", f.Installed, periodListURL(p, "installed", db.InstalledYes)},
		{"First plan started", f.Started, all},
		{"Data used", f.DataUsed, all},
	} {
		c.Rows = append(c.Rows, hbarRow{Label: s.label, N: int64(s.n), Value: thousands(s.n) + " · " + share(s.n, f.Lines),
			Frac: frac(float64(s.n), float64(f.Lines)), Href: s.href, Class: "bar-funnel"})
	}
	return c
}

// topPlans is how many plans the plans charts show; the rest are summed.
const topPlans = 8

func (v InsightsView) plansChart(plans []db.PlanGiven) hbarChart {
	c := hbarChart{ID: "plans", Title: "Plans given in " + v.periodLabel(), Desc: "A bar for each plan, as long as how many were given."}
	top := 0
	for _, g := range plans {
		top = max(top, g.Plans)
	}
	for _, g := range plans[:min(len(plans), topPlans)] {
		c.Rows = append(c.Rows, hbarRow{Label: g.Plan.Name + " · profile " + strconv.Itoa(g.Plan.IMSIProfile), N: int64(g.Plans),
			Value: thousands(g.Plans), Frac: frac(float64(g.Plans), float64(top)), Pattern: profilePattern(g.Plan.IMSIProfile),
			Href: periodListURL(v.period(), "profile", strconv.Itoa(g.Plan.IMSIProfile))})
	}
	if rest := plans[min(len(plans), topPlans):]; len(rest) > 0 {
		n := 0
		for _, g := range rest {
			n += g.Plans
		}
		label := fmt.Sprintf("%d other plans", len(rest))
		if len(rest) == 1 {
			label = "1 other plan"
		}
		c.Rows = append(c.Rows, hbarRow{Label: label, N: int64(n), Value: thousands(n),
			Frac: frac(float64(n), float64(top)), Href: periodListURL(v.period()), Class: "bar-other"})
	}
	return c
}

func (v InsightsView) dataChart(plans []db.PlanGiven) hbarChart {
	c := hbarChart{ID: "data", Title: "Data given and used, plans given in " + v.periodLabel(),
		Desc: "For each plan, an outline as long as the data given, filled as far as the data used."}
	var top int64
	for _, g := range plans {
		top = max(top, g.DataBytes)
	}
	for _, g := range plans[:min(len(plans), topPlans)] {
		c.Rows = append(c.Rows, hbarRow{Label: g.Plan.Name, N: g.UsedBytes,
			Value: fmt.Sprintf("%s of %s used · %s", rules.FormatBytes(g.UsedBytes), rules.FormatBytes(g.DataBytes), share64(g.UsedBytes, g.DataBytes)),
			Frac:  frac(float64(g.UsedBytes), float64(top)), Track: frac(float64(g.DataBytes), float64(top)), Class: "bar-used",
			Href: periodListURL(v.period(), "profile", strconv.Itoa(g.Plan.IMSIProfile))})
	}
	return c
}

func share64(part, whole int64) string {
	if whole == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", math.Round(float64(part)*100/float64(whole)))
}

// outcomeRow is one way a plan given can stand.
type outcomeRow struct {
	Label string
	N     int
	Note  string
}

func outcomeRows(o db.PlanOutcomes) []outcomeRow {
	rows := []outcomeRow{
		{"Queued: not started yet", o.Queued, ""},
		{"Running", o.Running, ""},
		{"Used up: every byte used", o.UsedUp, ""},
		{"30 days over with data left", o.Expired, rules.FormatBytes(o.LeftBytes) + " left"},
		{"… of which never used", o.Unused, ""},
	}
	if o.Cancelled > 0 {
		rows = append(rows, outcomeRow{"Cancelled", o.Cancelled, ""})
	}
	return rows
}

func (v InsightsView) outcomeChart(all db.PlanGiven) hbarChart {
	c := hbarChart{ID: "outcomes", Title: "Where the plans given in " + v.periodLabel() + " stand",
		Desc: fmt.Sprintf("%s plans given; a bar for each way they stand now, as a share of them.", thousands(all.Plans))}
	for _, r := range outcomeRows(all.PlanOutcomes) {
		value := thousands(r.N) + " · " + share(r.N, all.Plans)
		if r.Note != "" && r.N > 0 {
			value += " · " + r.Note
		}
		c.Rows = append(c.Rows, hbarRow{Label: r.Label, N: int64(r.N), Value: value, Frac: frac(float64(r.N), float64(all.Plans)), Class: "bar-outcome"})
	}
	return c
}

// topDestinations is how many line names the destinations chart shows.
const topDestinations = 10

func (v InsightsView) destinationsChart(ds []db.Destination) hbarChart {
	c := hbarChart{ID: "destinations", Title: "Destinations of the lines allocated in " + v.periodLabel(),
		Desc: "A bar for each line name agents gave most, as long as how many lines got it."}
	top := 0
	for _, d := range ds {
		top = max(top, d.Lines)
	}
	for _, d := range ds[:min(len(ds), topDestinations)] {
		c.Rows = append(c.Rows, hbarRow{Label: d.Name, N: int64(d.Lines), Value: thousands(d.Lines), Frac: frac(float64(d.Lines), float64(top)),
			Href: periodListURL(v.period(), "q", d.Name), Class: "bar-destination"})
	}
	return c
}

// emailRows are the email health figures, in the order shown.
func emailRows(h db.EmailHealth) []outcomeRow {
	return []outcomeRow{
		{"Sent at the first attempt", h.SentFirst, ""},
		{"Sent after a retry", h.SentRetried, ""},
		{"Waiting for a retry", h.Retrying, ""},
		{"Failed", h.Failed, ""},
		{"Not tried yet", h.Waiting, ""},
	}
}

func (v InsightsView) emailChart(h db.EmailHealth) hbarChart {
	c := hbarChart{ID: "email", Title: "Emails queued in the last 7 days, by how their delivery went",
		Desc: fmt.Sprintf("%s emails; a bar for each outcome, as a share of them.", thousands(h.Total()))}
	for _, r := range emailRows(h) {
		row := hbarRow{Label: r.Label, N: int64(r.N), Value: thousands(r.N) + " · " + share(r.N, h.Total()),
			Frac: frac(float64(r.N), float64(h.Total())), Class: "bar-email"}
		if r.Label == "Failed" {
			row.Class, row.Href = "bar-failed", "#failed-emails"
		}
		c.Rows = append(c.Rows, row)
	}
	return c
}

// allocationsSummary reads "4,210 eSIMs allocated in the last 90 days;
// 12.3 a day over the last 7 whole days."
func allocationsSummary(days []db.DayAllocations) string {
	total := 0
	for _, d := range days {
		total += d.Total
	}
	s := fmt.Sprintf("%s eSIMs allocated in the last %d days", thousands(total), len(days))
	if n := len(days); n >= 2 && days[n-2].HasAverage {
		s += fmt.Sprintf("; %s a day over the 7 days to %s", rateCell(days[n-2].Average), dayMonth(days[n-2].Day))
	}
	return s + "."
}

func runsOutCell(f db.StockForecast) string {
	switch {
	case f.Free == 0:
		return "out of stock"
	case f.RunsOut.IsZero():
		return "not at this rate"
	}
	return date(f.RunsOut)
}

func reorderCell(f db.StockForecast) string {
	switch {
	case f.RunsOut.IsZero():
		return "—"
	case f.AtRisk:
		return "now (due " + date(f.ReorderBy) + ")"
	}
	return date(f.ReorderBy)
}

// avgCell is a 7-day average in the table.
func avgCell(d db.DayAllocations) string {
	if !d.HasAverage {
		return "—"
	}
	return rateCell(d.Average)
}

// weekLabel reads "6 Oct" for the week starting Monday 6 October.
func weekLabel(monday time.Time) string { return "Week of " + dayMonth(monday) }

func weekListURL(by int64, monday time.Time) string {
	return listURL("state", db.StateAllocated, "by", strconv.FormatInt(by, 10), "from", isoDay(monday), "to", isoDay(monday.AddDate(0, 0, 6)))
}

func periodHref(days int) string { return "/insights?days=" + strconv.Itoa(days) }

func emailWhen(e db.Email) string { return dateTime(e.QueuedAt) }
