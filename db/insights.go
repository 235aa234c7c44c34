package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Insights: the team leads' figures (Team lead → Insights) and the daily
// low-stock email. What each figure counts, also in the README ("Insights"):
//
//   - Allocations: eSIMs allocated on each UTC day, by IMSI profile, and the
//     average of the 7 days up to each day.
//   - Stock forecast, per profile: the free eSIMs now; the allocation rate of
//     the last 14 and of the last 28 whole UTC days; when the free eSIMs run
//     out at the higher of the two rates, so that rising demand brings the
//     date closer and a quiet week does not push it away; and the day to
//     reorder, that date less the reorder lead time. Nothing allocated in 28
//     days: the stock does not run out at that rate.
//   - Funnel, of the lines allocated in a period: the QR email delivered; the
//     profile installed on the phone (the last report is installed, enabled,
//     disabled or deleted: past a download; or a network saw the phone, which
//     it cannot without the eSIM installed); a plan started; data used. Each
//     step counts the lines that reached it, whatever the others.
//   - Plans given in a period (every plan added, the first plan of each line
//     included): by plan, their data and the data used of it, and where each
//     stands now (queued, running, used up, 30 days over with data left).
//   - Destinations: the line names of the lines allocated in a period, case
//     and a trailing number ("France 2") aside: agents name a line after the
//     country the customer travels to, or the plan's region.
//   - Agents: lines allocated and plans added by each login, per week
//     (Monday to Sunday, UTC).
//   - Email health: the emails queued in the last 7 days, by how their
//     delivery went.
//
// The figures are read in one read transaction, grouped by UTC day over the
// last InsightDays days; a period is a sum of its days. That reads every
// allocation and plan of those days: the page keeps the figures for a few
// minutes (handlers/insights.go) instead of reading them on every request.

// InsightDays is how many UTC days of figures Insights reads, today
// included: the 90 days of the allocations chart and the 6 before its first
// day, for that day's 7-day average.
const InsightDays = 96

// AllocationDays is how many days the allocations chart shows.
const AllocationDays = 90

// EmailHealthDays is the window of the email health figures.
const EmailHealthDays = 7

// DefaultReorderDays is the reorder lead time unless configured otherwise:
// how many days a delivery of eSIMs takes to arrive.
const DefaultReorderDays = 14

// Insights are the figures at one moment.
type Insights struct {
	At   time.Time    // when they were read
	Days []InsightDay // the last InsightDays UTC days, oldest first; the last is today, so far
	Free map[int]int  // free eSIMs of each IMSI profile
	// Emails is the outbox over the last EmailHealthDays days.
	Emails EmailHealth
	// Logins and Plans name the logins and plans the figures count.
	Logins map[int64]string
	Plans  map[int64]Plan
}

// InsightDay is what happened on one UTC day.
type InsightDay struct {
	Day   time.Time
	Lines []LineFigures // lines allocated that day, by profile and login
	Plans []PlanFigures // plans added that day, by plan and login
	Names []NameCount   // line names of the lines allocated that day
}

// LineFigures are the lines of one IMSI profile allocated on one day by one
// login, and how many of them reached each step of the funnel by now.
type LineFigures struct {
	IMSIProfile int
	By          int64
	Lines       int
	QRDelivered int
	Installed   int
	Started     int
	DataUsed    int
}

// PlanFigures are the plans of one catalog plan added on one day by one
// login (0 when none), and where they stand now.
type PlanFigures struct {
	PlanID    int64
	By        int64
	Plans     int
	DataBytes int64 // their allowances
	UsedBytes int64 // the data used of them
	PlanOutcomes
}

// PlanOutcomes are where plans stand now (LinePlan.StateAt).
type PlanOutcomes struct {
	Queued    int   // not started yet
	Running   int   // started, with days and data left
	UsedUp    int   // every byte used
	Expired   int   // 30 days over with data left
	Unused    int   // of Expired: no data used at all
	Cancelled int   // cancelled before they started
	LeftBytes int64 // the data left on Expired
}

func (o *PlanOutcomes) add(p PlanOutcomes) {
	o.Queued += p.Queued
	o.Running += p.Running
	o.UsedUp += p.UsedUp
	o.Expired += p.Expired
	o.Unused += p.Unused
	o.Cancelled += p.Cancelled
	o.LeftBytes += p.LeftBytes
}

// NameCount is how many lines a name was given.
type NameCount struct {
	Name  string
	Lines int
}

// EmailHealth is how the delivery of the emails queued since Since went.
type EmailHealth struct {
	Since       time.Time
	SentFirst   int // delivered at the first attempt
	SentRetried int // delivered after one or more failed attempts
	Retrying    int // failed at least once, waiting for the next attempt
	Waiting     int // not tried yet: held with no mail server, or about to go
	Failed      int // failed for good
	// FailedEmails are the latest of the failed ones, newest first.
	FailedEmails []Email
}

// Total is every email queued in the window.
func (h EmailHealth) Total() int {
	return h.SentFirst + h.SentRetried + h.Retrying + h.Waiting + h.Failed
}

// Retried is every email that needed more than one attempt, or is waiting
// for one.
func (h EmailHealth) Retried() int { return h.SentRetried + h.Retrying }

// maxFailedEmails bounds the failed emails Insights lists.
const maxFailedEmails = 20

// utcDay is the UTC day t falls on, at midnight.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Insights reads the figures at the store's clock.
func (s *Store) Insights(ctx context.Context) (_ *Insights, err error) {
	defer func() { err = failed("insights", err) }()
	now := s.Now().UTC()
	today := utcDay(now)
	first := today.AddDate(0, 0, -(InsightDays - 1))
	in := &Insights{At: now, Days: make([]InsightDay, InsightDays), Free: map[int]int{}, Logins: map[int64]string{}, Plans: map[int64]Plan{}}
	for i := range in.Days {
		in.Days[i].Day = first.AddDate(0, 0, i)
	}
	dayIndex := func(day string) (int, bool) {
		t, err := time.Parse(time.DateOnly, day)
		if err != nil {
			return 0, false
		}
		i := int(t.Sub(first).Hours() / 24)
		return i, i >= 0 && i < len(in.Days)
	}
	// One read transaction: the funnel, the chart and the forecast agree.
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	args := []any{sql.Named("since", formatTime(first)), sql.Named("now", formatTime(now))}
	each := func(query string, scan func(*sql.Rows) error) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	// The lines of each day and how far they got: a walk of the days'
	// allocations in esims_list_allocated, with a lookup of each line's QR
	// emails and plans.
	err = each(`SELECT substr(e.allocated_at, 1, 10), e.imsi_profile, e.allocated_by, count(*),
			sum(EXISTS (SELECT 1 FROM outbox o WHERE o.iccid = e.iccid AND o.kind = 'qr' AND o.state = 'sent')),
			sum(coalesce(`+installedStates+`, 0)),
			sum(EXISTS (SELECT 1 FROM esim_plans ep WHERE ep.iccid = e.iccid AND ep.activated_at IS NOT NULL)),
			sum(EXISTS (SELECT 1 FROM esim_plans ep WHERE ep.iccid = e.iccid AND ep.used_bytes > 0))
		FROM esims e INDEXED BY esims_list_allocated
		WHERE e.allocated_at IS NOT NULL AND e.allocated_at >= :since
		GROUP BY 1, 2, 3`, func(rows *sql.Rows) error {
		var day string
		var f LineFigures
		if err := rows.Scan(&day, &f.IMSIProfile, &f.By, &f.Lines, &f.QRDelivered, &f.Installed, &f.Started, &f.DataUsed); err != nil {
			return err
		}
		if i, ok := dayIndex(day); ok {
			in.Days[i].Lines = append(in.Days[i].Lines, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lines: %w", err)
	}
	err = each(`SELECT substr(e.allocated_at, 1, 10), e.line_name, count(*)
		FROM esims e INDEXED BY esims_list_allocated
		WHERE e.allocated_at IS NOT NULL AND e.allocated_at >= :since
		GROUP BY 1, 2`, func(rows *sql.Rows) error {
		var day string
		var n NameCount
		if err := rows.Scan(&day, &n.Name, &n.Lines); err != nil {
			return err
		}
		if i, ok := dayIndex(day); ok {
			in.Days[i].Names = append(in.Days[i].Names, n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("line names: %w", err)
	}
	err = each(`SELECT substr(ep.added_at, 1, 10), ep.plan_id, coalesce(ep.added_by, 0), count(*),
			sum(ep.data_bytes), sum(ep.used_bytes),
			sum(ep.state = 'queued'),
			sum(ep.state = 'active' AND ep.expires_at > :now),
			sum(ep.state = 'used_up' OR ep.state IN ('active', 'expired') AND ep.expires_at <= :now AND ep.used_bytes = ep.data_bytes),
			sum(ep.state IN ('active', 'expired') AND ep.expires_at <= :now AND ep.used_bytes < ep.data_bytes),
			sum(ep.state IN ('active', 'expired') AND ep.expires_at <= :now AND ep.used_bytes = 0),
			sum(ep.state = 'cancelled'),
			sum(CASE WHEN ep.state IN ('active', 'expired') AND ep.expires_at <= :now THEN ep.data_bytes - ep.used_bytes ELSE 0 END)
		FROM esim_plans ep INDEXED BY esim_plans_added
		WHERE ep.added_at >= :since
		GROUP BY 1, 2, 3`, func(rows *sql.Rows) error {
		var day string
		var f PlanFigures
		o := &f.PlanOutcomes
		if err := rows.Scan(&day, &f.PlanID, &f.By, &f.Plans, &f.DataBytes, &f.UsedBytes,
			&o.Queued, &o.Running, &o.UsedUp, &o.Expired, &o.Unused, &o.Cancelled, &o.LeftBytes); err != nil {
			return err
		}
		if i, ok := dayIndex(day); ok {
			in.Days[i].Plans = append(in.Days[i].Plans, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	if in.Free, err = freeStock(ctx, tx); err != nil {
		return nil, err
	}
	if in.Emails, err = emailHealth(ctx, tx, now); err != nil {
		return nil, fmt.Errorf("email health: %w", err)
	}
	err = each(`SELECT id, name FROM logins`, func(rows *sql.Rows) error {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		in.Logins[id] = name
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+planColumns+` FROM plans p ORDER BY p.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, err
		}
		in.Plans[p.ID] = p
	}
	return in, rows.Err()
}

// freeStock is the free eSIMs of each IMSI profile, from the kept stock
// counts (stock.go).
func freeStock(ctx context.Context, q queryer) (map[int]int, error) {
	free := map[int]int{}
	for _, p := range IMSIProfiles {
		free[p] = 0
	}
	rows, err := q.QueryContext(ctx, `SELECT imsi_profile, count FROM esim_stock WHERE state = 'free'`)
	if err != nil {
		return nil, fmt.Errorf("free stock: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p, n int
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		free[p] = n
	}
	return free, rows.Err()
}

func emailHealth(ctx context.Context, q queryer, now time.Time) (EmailHealth, error) {
	h := EmailHealth{Since: now.AddDate(0, 0, -EmailHealthDays)}
	rows, err := q.QueryContext(ctx, `SELECT state, attempts > 1, attempts > 0, count(*)
		FROM outbox INDEXED BY outbox_queued_at WHERE queued_at >= ? GROUP BY 1, 2, 3`, formatTime(h.Since))
	if err != nil {
		return h, err
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var retried, tried bool
		var n int
		if err := rows.Scan(&state, &retried, &tried, &n); err != nil {
			return h, err
		}
		switch {
		case state == EmailFailed:
			h.Failed += n
		case state == EmailSent && retried:
			h.SentRetried += n
		case state == EmailSent:
			h.SentFirst += n
		case tried:
			h.Retrying += n
		default:
			h.Waiting += n
		}
	}
	if err := rows.Err(); err != nil {
		return h, err
	}
	rows.Close()
	failedRows, err := q.QueryContext(ctx, `SELECT `+emailColumns+` FROM outbox o INDEXED BY outbox_queued_at LEFT JOIN esims e ON e.iccid = o.iccid
		WHERE o.queued_at >= ? AND o.state = 'failed' ORDER BY o.queued_at DESC, o.id DESC LIMIT ?`,
		formatTime(h.Since), maxFailedEmails)
	if err != nil {
		return h, err
	}
	defer failedRows.Close()
	for failedRows.Next() {
		e, err := scanEmail(failedRows)
		if err != nil {
			return h, err
		}
		h.FailedEmails = append(h.FailedEmails, e)
	}
	return h, failedRows.Err()
}

// Today is the UTC day of the figures.
func (in *Insights) Today() time.Time { return in.Days[len(in.Days)-1].Day }

// Period is some UTC days, both included: the List's "allocated from, to".
type Period struct {
	From, To time.Time
	Days     int
}

// Period is the last days UTC days, today included.
func (in *Insights) Period(days int) Period {
	days = min(max(days, 1), len(in.Days))
	return Period{From: in.Today().AddDate(0, 0, -(days - 1)), To: in.Today(), Days: days}
}

// days are the InsightDays of the period.
func (in *Insights) days(p Period) []InsightDay {
	return in.Days[len(in.Days)-p.Days:]
}

// DayAllocations are the eSIMs allocated on one day.
type DayAllocations struct {
	Day       time.Time
	ByProfile []int // in the order of IMSIProfiles
	Total     int
	// Average is the daily average of the 7 days up to this one; it is
	// not set (HasAverage false) for today, which is not over.
	Average    float64
	HasAverage bool
}

func profileIndex(p int) int { return slices.Index(IMSIProfiles, p) }

// dayTotals are the allocations of each day of the figures, by profile.
func (in *Insights) dayTotals() [][]int {
	out := make([][]int, len(in.Days))
	for i, d := range in.Days {
		out[i] = make([]int, len(IMSIProfiles))
		for _, f := range d.Lines {
			if j := profileIndex(f.IMSIProfile); j >= 0 {
				out[i][j] += f.Lines
			}
		}
	}
	return out
}

// Allocations are the allocations of the last AllocationDays days, oldest
// first, today last.
func (in *Insights) Allocations() []DayAllocations {
	totals := in.dayTotals()
	sum := func(i int) int {
		n := 0
		for _, v := range totals[i] {
			n += v
		}
		return n
	}
	start := max(len(in.Days)-AllocationDays, 0)
	out := make([]DayAllocations, 0, len(in.Days)-start)
	for i := start; i < len(in.Days); i++ {
		d := DayAllocations{Day: in.Days[i].Day, ByProfile: totals[i], Total: sum(i)}
		if i >= 6 && i < len(in.Days)-1 {
			week := 0
			for j := i - 6; j <= i; j++ {
				week += sum(j)
			}
			d.Average, d.HasAverage = float64(week)/7, true
		}
		out = append(out, d)
	}
	return out
}

// StockForecast is when the free eSIMs of one IMSI profile run out at the
// recent rate of allocation, and when to reorder.
type StockForecast struct {
	IMSIProfile int
	Free        int
	// Rate14 and Rate28 are the eSIMs allocated a day over the last 14 and
	// 28 whole UTC days.
	Rate14, Rate28 float64
	// RunsOut is when the free eSIMs are gone at Rate: now when none is
	// left, zero when nothing was allocated in 28 days.
	RunsOut time.Time
	// ReorderBy is RunsOut less the reorder lead time; zero with RunsOut.
	ReorderBy   time.Time
	ReorderDays int
	// AtRisk is set when the stock runs out within the reorder lead time:
	// the day to reorder has come.
	AtRisk bool
}

// Rate is the rate the forecast uses: the higher of the two.
func (f StockForecast) Rate() float64 { return max(f.Rate14, f.Rate28) }

// DaysLeft is how many days the free eSIMs last at Rate; +Inf at a rate of
// zero.
func (f StockForecast) DaysLeft() float64 {
	if f.Free == 0 {
		return 0
	}
	if f.Rate() == 0 {
		return math.Inf(1)
	}
	return float64(f.Free) / f.Rate()
}

// ForecastStock forecasts the stock of a profile with free eSIMs at now,
// from the allocations of the whole UTC days before now, the last day last
// (the last 28 are used; fewer count as days with none).
func ForecastStock(profile, free int, daily []int, now time.Time, reorderDays int) StockForecast {
	f := StockForecast{IMSIProfile: profile, Free: free, ReorderDays: reorderDays}
	last := func(n int) float64 {
		total := 0
		for _, v := range daily[max(len(daily)-n, 0):] {
			total += v
		}
		return float64(total) / float64(n)
	}
	f.Rate14, f.Rate28 = last(14), last(28)
	left := f.DaysLeft()
	if math.IsInf(left, 1) {
		return f
	}
	f.RunsOut = now.Add(time.Duration(left * float64(24*time.Hour)))
	f.ReorderBy = f.RunsOut.AddDate(0, 0, -reorderDays)
	f.AtRisk = !f.ReorderBy.After(now)
	return f
}

// Forecasts are the stock forecasts of every IMSI profile.
func (in *Insights) Forecasts(reorderDays int) []StockForecast {
	totals := in.dayTotals()
	whole := totals[:len(totals)-1] // today is not over
	out := make([]StockForecast, len(IMSIProfiles))
	for j, p := range IMSIProfiles {
		daily := make([]int, len(whole))
		for i, d := range whole {
			daily[i] = d[j]
		}
		out[j] = ForecastStock(p, in.Free[p], daily, in.At, reorderDays)
	}
	return out
}

// Funnel is how far the lines allocated in a period got.
type Funnel struct {
	Period
	Lines       int
	QRDelivered int
	Installed   int
	Started     int
	DataUsed    int
}

// NeverInstalled is how many of the lines were never installed on a phone.
func (f Funnel) NeverInstalled() int { return f.Lines - f.Installed }

// Funnel is the funnel of the lines allocated in the last days UTC days.
func (in *Insights) Funnel(days int) Funnel {
	f := Funnel{Period: in.Period(days)}
	for _, d := range in.days(f.Period) {
		for _, l := range d.Lines {
			f.Lines += l.Lines
			f.QRDelivered += l.QRDelivered
			f.Installed += l.Installed
			f.Started += l.Started
			f.DataUsed += l.DataUsed
		}
	}
	return f
}

// PlanGiven is how many of one plan were given in a period, and how they
// stand.
type PlanGiven struct {
	Plan      Plan
	Plans     int
	DataBytes int64
	UsedBytes int64
	PlanOutcomes
}

// PlansGiven are the plans given in the last days UTC days, most given
// first, and all of them together.
func (in *Insights) PlansGiven(days int) (byPlan []PlanGiven, all PlanGiven) {
	byID := map[int64]*PlanGiven{}
	for _, d := range in.days(in.Period(days)) {
		for _, f := range d.Plans {
			g := byID[f.PlanID]
			if g == nil {
				g = &PlanGiven{Plan: in.Plans[f.PlanID]}
				g.Plan.ID = f.PlanID
				byID[f.PlanID] = g
			}
			for _, t := range []*PlanGiven{g, &all} {
				t.Plans += f.Plans
				t.DataBytes += f.DataBytes
				t.UsedBytes += f.UsedBytes
				t.PlanOutcomes.add(f.PlanOutcomes)
			}
		}
	}
	for _, g := range byID {
		byPlan = append(byPlan, *g)
	}
	slices.SortFunc(byPlan, func(a, b PlanGiven) int {
		return cmp.Or(cmp.Compare(b.Plans, a.Plans), cmp.Compare(a.Plan.Name, b.Plan.Name), cmp.Compare(a.Plan.ID, b.Plan.ID))
	})
	return byPlan, all
}

// Destination is a line name and how many lines were given it.
type Destination struct {
	Name  string // as most often written
	Lines int
}

// destinationName is the destination a line name names: without the
// number that tells a subscriber's second line to the same place apart
// ("France 2"); destinationKey folds its case too.
func destinationName(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexByte(name, ' '); i > 0 && strings.IndexFunc(name[i+1:], func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
		return strings.TrimSpace(name[:i])
	}
	return name
}

func destinationKey(name string) string { return strings.ToLower(destinationName(name)) }

// Destinations are the line names given in the last days UTC days, most
// given first, each as it was most often written.
func (in *Insights) Destinations(days int) []Destination {
	type group struct {
		lines    int
		spelling map[string]int
	}
	groups := map[string]*group{}
	for _, d := range in.days(in.Period(days)) {
		for _, n := range d.Names {
			k := destinationKey(n.Name)
			g := groups[k]
			if g == nil {
				g = &group{spelling: map[string]int{}}
				groups[k] = g
			}
			g.lines += n.Lines
			g.spelling[destinationName(n.Name)] += n.Lines
		}
	}
	out := make([]Destination, 0, len(groups))
	for _, g := range groups {
		best, bestN := "", -1
		for s, n := range g.spelling {
			if n > bestN || n == bestN && s < best {
				best, bestN = s, n
			}
		}
		out = append(out, Destination{Name: best, Lines: g.lines})
	}
	slices.SortFunc(out, func(a, b Destination) int { return cmp.Or(cmp.Compare(b.Lines, a.Lines), cmp.Compare(a.Name, b.Name)) })
	return out
}

// AgentWeeks are the lines and plans each login added, week by week.
type AgentWeeks struct {
	Weeks  []time.Time // Mondays, oldest first; the last week is this one, so far
	Agents []AgentRow  // by name
	Totals []AgentWeek // everyone together, week by week
}

// AgentRow is one login's weeks.
type AgentRow struct {
	LoginID int64 // 0 for changes made with no login (the command line)
	Name    string
	Weeks   []AgentWeek
}

// AgentWeek is what a login added in a week.
type AgentWeek struct {
	Lines int // lines allocated
	Plans int // plans added, the first plan of each line included
}

// Agents are the last weeks weeks of every login that added a line or a
// plan in them.
func (in *Insights) Agents(weeks int) AgentWeeks {
	today := in.Today()
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	first := monday.AddDate(0, 0, -7*(weeks-1))
	for first.Before(in.Days[0].Day) {
		first = first.AddDate(0, 0, 7)
		weeks--
	}
	out := AgentWeeks{Totals: make([]AgentWeek, weeks)}
	for w := range weeks {
		out.Weeks = append(out.Weeks, first.AddDate(0, 0, 7*w))
	}
	rows := map[int64]*AgentRow{}
	row := func(id int64) *AgentRow {
		r := rows[id]
		if r == nil {
			r = &AgentRow{LoginID: id, Name: in.Logins[id], Weeks: make([]AgentWeek, weeks)}
			if id == 0 {
				r.Name = "No login (command line)"
			}
			rows[id] = r
		}
		return r
	}
	for _, d := range in.Days {
		if d.Day.Before(first) {
			continue
		}
		w := int(d.Day.Sub(first).Hours()/24) / 7
		for _, l := range d.Lines {
			row(l.By).Weeks[w].Lines += l.Lines
			out.Totals[w].Lines += l.Lines
		}
		for _, p := range d.Plans {
			row(p.By).Weeks[w].Plans += p.Plans
			out.Totals[w].Plans += p.Plans
		}
	}
	for _, r := range rows {
		out.Agents = append(out.Agents, *r)
	}
	slices.SortFunc(out.Agents, func(a, b AgentRow) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.LoginID, b.LoginID))
	})
	return out
}
