package demo

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
)

// YearOptions sizes a simulated year (SeedYear).
type YearOptions struct {
	// Travellers is how many subscribers are abroad at any time, each with
	// an hourly usage record from the network.
	Travellers int
	// Days is how long the clock walks; 365 for a year.
	Days int
	// Seed makes the year reproducible.
	Seed uint64
	// RollUpBatch is how many records, attachments or events one change of
	// the retention pass rolls up; db.RollUpBatch, the portal's, when 0.
	RollUpBatch int
	// Progress, when set, hears at the end of every 30 days of the walk,
	// and at its end, what the database holds.
	Progress func(YearProgress)
}

// YearProgress is the state of a simulated year at a moment of its clock.
type YearProgress struct {
	At        time.Time // the simulated clock
	Day       int       // days of the walk done
	Footprint db.Footprint
	Trips     int64 // trips begun so far
	Lines     int64 // Add lines
	TopUps    int64 // Add plans on a line already held: a new trip's plan, or more data
	Records   int64 // usage records sent
	Emails    int64 // emails delivered
	// RolledUp and RollUpTime are the usage records the retention pass
	// rolled up so far and the time its usage changes took; Longest is its
	// longest change of any kind.
	RolledUp    int64
	RollUpTime  time.Duration
	Longest     time.Duration
	LongestKind string        // the kind of change it was (db.RetentionStep.Kind)
	Elapsed     time.Duration // wall time since the walk began
}

// yearICCIDPrefix keeps the year's eSIMs apart from the demo's and the
// scale data's.
const yearICCIDPrefix = "8901482"

// A traveller's trip lasts 3 to 14 days; each traveller of the year is one
// of subscribersPerTraveller subscribers who take turns, so each of them is
// abroad some 5 times a year.
const (
	minTrip                 = 3 * 24
	maxTrip                 = 14 * 24
	subscribersPerTraveller = 8
	// The networks send their hourly records in batches: every few hours,
	// or as soon as a request's worth is waiting.
	reportEvery = 6
)

// profileShares is where the year's travellers go, by IMSI profile of their
// plans: Europe (7), the Americas (2), Asia and Oceania (10).
var profileShares = []struct {
	profile int
	share   float64
}{{7, 0.5}, {2, 0.3}, {10, 0.2}}

// SeedYear lays down a year of history into a new database and runs the
// portal's retention pass over it as the year goes by: the demo data set as
// it stood when the year began, then Travellers subscribers abroad at any
// time, each trip bought with Add line (the subscriber's first) or Add plan,
// started by the phone's first attachment, its data reported hourly through
// RecordUsage, topped up when its data runs out, its emails delivered, the
// time-based notices sent, and the retention pass run every night. It goes
// through the store's own operations only, under a clock it walks hour by
// hour, so what it leaves is what the portal would hold after the year.
// SeedYear sets s.Now and sets it back before it returns: nothing else may
// use s while it runs.
func SeedYear(ctx context.Context, s *db.Store, opt YearOptions) (YearProgress, error) {
	switch {
	case opt.Travellers < 1 || opt.Travellers > 1_000_000:
		return YearProgress{}, fmt.Errorf("travellers must be 1 to 1,000,000")
	case opt.Days < 1 || opt.Days > 3650:
		return YearProgress{}, fmt.Errorf("days must be 1 to 3650")
	}
	if opt.RollUpBatch <= 0 {
		opt.RollUpBatch = db.RollUpBatch
	}
	if empty, err := s.Empty(ctx); err != nil {
		return YearProgress{}, err
	} else if !empty {
		return YearProgress{}, errors.New("a year is simulated only into a new database: this one holds data")
	}
	end := s.Now().UTC().Truncate(time.Hour)
	y := &year{s: s, opt: opt, start: end.AddDate(0, 0, -opt.Days), end: end, rng: rand.New(rand.NewPCG(opt.Seed, 28)),
		byICCID: map[string]*trip{}}
	saved := s.Now
	defer func() { s.Now = saved }()
	y.setClock(y.start)
	s.Now = func() time.Time { return time.UnixMilli(y.clock.Load()).UTC() }
	// The demo data set, as it stood when the year began: its logins,
	// catalog and first customers.
	if _, err := Seed(ctx, s); err != nil {
		return YearProgress{}, err
	}
	s.Now = func() time.Time { return time.UnixMilli(y.clock.Load()).UTC() }
	// Made-up data is made again rather than recovered: its commits need
	// not wait for the disk. The retention pass's changes are timed
	// without that wait too (BenchmarkRollUpUsage times them with it).
	restore, err := s.Unsynced(ctx)
	if err != nil {
		return YearProgress{}, err
	}
	defer restore()
	y.began = time.Now()
	if err := y.setup(ctx); err != nil {
		return YearProgress{}, fmt.Errorf("year: %w", err)
	}
	if err := y.walk(ctx); err != nil {
		return y.progress, fmt.Errorf("year, at %s: %w", db.FormatTime(y.now()), err)
	}
	return y.progress, nil
}

type year struct {
	s          *db.Store
	opt        YearOptions
	start, end time.Time
	clock      atomic.Int64 // unix milliseconds
	rng        *rand.Rand
	began      time.Time
	agent      db.Login
	lead       db.Login // who imports the inventory

	plans    map[int][]db.Plan // on sale, by IMSI profile
	subs     []yearSubscriber
	trips    []*trip // by traveller: the trip under way
	turns    []int   // by traveller: trips made, whose subscribers take turns
	byICCID  map[string]*trip
	pending  []db.UsageReport
	progress YearProgress
}

type yearSubscriber struct {
	id      int64
	profile int
	iccid   string // the subscriber's line, once Add line has made it
}

// trip is a traveller's time abroad: hours [from, until), in country, on a
// plan bought for it, using about perHour bytes an hour.
type trip struct {
	sub          *yearSubscriber
	from, until  time.Time
	plan         db.Plan
	country, mcc string
	perHour      int64
	usedUp       bool // its plan's data ran out: the subscriber tops up
}

func (y *year) now() time.Time       { return time.UnixMilli(y.clock.Load()).UTC() }
func (y *year) setClock(t time.Time) { y.clock.Store(t.UnixMilli()) }

// setup adds the year's subscribers, each qualifying for a line and going
// to one part of the world, and stocks an eSIM for each.
func (y *year) setup(ctx context.Context) error {
	logins, err := y.s.Logins(ctx)
	if err != nil {
		return err
	}
	for _, l := range logins {
		switch l.Email {
		case AgentEmail:
			y.agent = l
		case LeadEmail:
			y.lead = l
		}
	}
	plans, err := y.s.Plans(ctx, false)
	if err != nil {
		return err
	}
	y.plans = map[int][]db.Plan{}
	for _, p := range plans {
		y.plans[p.IMSIProfile] = append(y.plans[p.IMSIProfile], p)
	}
	n := y.opt.Travellers * subscribersPerTraveller
	const chunk = 5000
	for first := 0; first < n; first += chunk {
		var batch []db.NewSubscriber
		for i := first; i < min(first+chunk, n); i++ {
			batch = append(batch, db.NewSubscriber{Since: y.start.AddDate(-2, 0, 0), Subscriber: db.Subscriber{
				AccountNumber: fmt.Sprintf("Y%09d", i+1), Name: fmt.Sprintf("Traveller %d", i+1),
				Email: fmt.Sprintf("traveller.%d@example.com", i+1), Phone: fmt.Sprintf("+1 555 %07d", i+1)},
				Home: []db.DomesticPlan{{Name: "Unlimited All", Kind: "unlimited_all", Lines: 1, Since: y.start.AddDate(-2, 0, 0)}}})
		}
		added, err := y.s.AddSubscribers(ctx, batch)
		if err != nil {
			return err
		}
		for _, a := range added {
			y.subs = append(y.subs, yearSubscriber{id: a.ID, profile: y.pickProfile()})
		}
	}
	// One eSIM a subscriber, of their part of the world's profile.
	serial := map[int]int{}
	for first := 0; first < n; first += db.MaxInventoryRows {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(db.InventoryHeader)
		for i := first; i < min(first+db.MaxInventoryRows, n); i++ {
			p := y.subs[i].profile
			serial[p]++
			body := fmt.Sprintf("%s%02d%09d", yearICCIDPrefix, p, serial[p])
			w.Write([]string{body + string(db.LuhnDigit(body)), strconv.Itoa(p), smdpAddress(p), fmt.Sprintf("YR-%02d-%09d", p, serial[p])})
		}
		w.Flush()
		if _, bad, err := y.s.ImportInventory(ctx, &buf, y.lead); err != nil {
			return err
		} else if len(bad) > 0 {
			return fmt.Errorf("inventory: %d lines refused, the first: %v", len(bad), bad[0])
		}
	}
	y.trips = make([]*trip, y.opt.Travellers)
	y.turns = make([]int, y.opt.Travellers)
	return nil
}

func (y *year) pickProfile() int {
	r := y.rng.Float64()
	for _, p := range profileShares {
		if r < p.share {
			return p.profile
		}
		r -= p.share
	}
	return profileShares[0].profile
}

// walk moves the clock through the year an hour at a time.
func (y *year) walk(ctx context.Context) error {
	// The first trips start within the first day, so they end apart.
	starts := make([]time.Time, y.opt.Travellers)
	for i := range starts {
		starts[i] = y.start.Add(time.Duration(y.rng.IntN(24)) * time.Hour)
	}
	hours := 0
	for h := y.start; h.Before(y.end); h = h.Add(time.Hour) {
		if err := ctx.Err(); err != nil {
			return err
		}
		y.setClock(h.Add(time.Minute))
		// The hour that just ended, as the networks report it.
		for _, t := range y.trips {
			if t != nil && !h.Add(-time.Hour).Before(t.from) && h.Add(-time.Hour).Before(t.until) {
				y.pending = append(y.pending, y.record(t, h.Add(-time.Hour)))
			}
		}
		if hours%reportEvery == 0 || len(y.pending) >= db.MaxUsageRecords {
			if err := y.report(ctx); err != nil {
				return err
			}
		}
		var begin []int
		for i, t := range y.trips {
			if t == nil && !h.Before(starts[i]) || t != nil && !h.Before(t.until) {
				begin = append(begin, i)
			}
		}
		if err := y.begin(ctx, h, begin); err != nil {
			return err
		}
		if _, err := y.s.NotifyDue(ctx); err != nil {
			return err
		}
		if err := y.deliver(ctx); err != nil {
			return err
		}
		hours++
		if h.Hour() == 3 {
			if err := y.retain(ctx); err != nil {
				return err
			}
			if day := hours / 24; day%30 == 0 {
				if err := y.report(ctx); err != nil {
					return err
				}
				if err := y.tell(ctx, day); err != nil {
					return err
				}
			}
		}
	}
	y.setClock(y.end)
	if err := y.report(ctx); err != nil {
		return err
	}
	if err := y.retain(ctx); err != nil {
		return err
	}
	return y.tell(ctx, y.opt.Days)
}

// record is a trip's usage record of the hour from at.
func (y *year) record(t *trip, at time.Time) db.UsageReport {
	var id [12]byte
	binary.LittleEndian.PutUint64(id[:], y.rng.Uint64())
	binary.LittleEndian.PutUint32(id[8:], y.rng.Uint32())
	// Some hours use nothing much, some twice the trip's rate.
	bytes := t.perHour * int64(y.rng.IntN(200)) / 100
	return db.UsageReport{ID: hex.EncodeToString(id[:]), ICCID: t.sub.iccid, MCC: t.mcc, Bytes: bytes, Start: at, End: at.Add(time.Hour)}
}

// report sends the records waiting, a request's worth at a time, and tops
// up the trips whose plan ran out.
func (y *year) report(ctx context.Context) error {
	for len(y.pending) > 0 {
		n := min(len(y.pending), db.MaxUsageRecords)
		res, err := y.s.RecordUsage(ctx, y.pending[:n], db.Login{})
		if err != nil {
			return err
		}
		y.progress.Records += int64(n)
		y.pending = y.pending[n:]
		for _, r := range res {
			if t := y.byICCID[r.ICCID]; t != nil && len(r.UsedUp) > 0 && y.now().Before(t.until) {
				t.usedUp = true
			}
		}
	}
	y.pending = y.pending[:0]
	var topUps []*trip
	for _, t := range y.trips {
		if t != nil && t.usedUp {
			t.usedUp = false
			topUps = append(topUps, t)
		}
	}
	return y.together(len(topUps), func(i int) error {
		t := topUps[i]
		_, err := y.s.AddPlan(ctx, db.AddPlan{ICCID: t.sub.iccid, SubscriberID: t.sub.id, PlanID: t.plan.ID, By: y.agent})
		if err == nil {
			atomic.AddInt64(&y.progress.TopUps, 1)
		}
		return err
	})
}

// begin starts the next trip of each traveller given: the next subscriber
// in turn buys a plan for it, with Add line the first time and Add plan
// after, and the phone attaches in the trip's country.
func (y *year) begin(ctx context.Context, h time.Time, travellers []int) error {
	if len(travellers) == 0 {
		return nil
	}
	next := make([]*trip, len(travellers))
	for k, i := range travellers {
		if old := y.trips[i]; old != nil {
			delete(y.byICCID, old.sub.iccid)
		}
		sub := &y.subs[i*subscribersPerTraveller+y.turns[i]%subscribersPerTraveller]
		y.turns[i]++
		plans := y.plans[sub.profile]
		p := plans[y.rng.IntN(len(plans))]
		country := p.Destinations[y.rng.IntN(len(p.Destinations))]
		c, _ := rules.CountryByCode(country)
		// A trip uses 25 MB to 600 MB a day, 300 MB on average.
		next[k] = &trip{sub: sub, from: h, until: h.Add(time.Duration(minTrip+y.rng.IntN(maxTrip-minTrip+1)) * time.Hour),
			plan: p, country: country, mcc: c.MCCs[0], perHour: int64(1+y.rng.IntN(25)) * 1_000_000}
		y.progress.Trips++
	}
	err := y.together(len(next), func(k int) error {
		t := next[k]
		if t.sub.iccid == "" {
			o, err := y.s.AddLine(ctx, db.AddLine{SubscriberID: t.sub.id, LineName: lineName(t), PlanID: t.plan.ID, By: y.agent})
			t.sub.iccid = o.ICCID
			if err == nil {
				atomic.AddInt64(&y.progress.Lines, 1)
			}
			return err
		}
		_, err := y.s.AddPlan(ctx, db.AddPlan{ICCID: t.sub.iccid, SubscriberID: t.sub.id, PlanID: t.plan.ID, By: y.agent})
		if err == nil {
			atomic.AddInt64(&y.progress.TopUps, 1)
		}
		return err
	})
	if err != nil {
		return err
	}
	y.setClock(h.Add(2 * time.Minute))
	for k, i := range travellers {
		y.trips[i] = next[k]
		y.byICCID[next[k].sub.iccid] = next[k]
	}
	return y.together(len(next), func(k int) error {
		t := next[k]
		_, err := y.s.Attach(ctx, db.Attach{ICCID: t.sub.iccid, MCC: t.mcc, AttachedAt: h.Add(2 * time.Minute)})
		return err
	})
}

// lineName is what an agent names the line: the plan's region, or the
// country of a one-country plan.
func lineName(t *trip) string {
	if t.plan.Region != "" {
		return t.plan.Region
	}
	return rules.CountryName(t.country)
}

// deliver marks the emails due as sent, as the outbox worker would.
func (y *year) deliver(ctx context.Context) error {
	for {
		due, err := y.s.DueEmails(ctx, y.now(), 500)
		if err != nil || len(due) == 0 {
			return err
		}
		at := y.now()
		if err := y.together(len(due), func(i int) error { return y.s.MarkEmailSent(ctx, due[i], at) }); err != nil {
			return err
		}
		y.progress.Emails += int64(len(due))
	}
}

// retain runs the retention pass to its end, as the portal's nightly pass
// would, without its pauses (nobody else is writing).
func (y *year) retain(ctx context.Context) error {
	b := y.opt.RollUpBatch
	for _, run := range []func() (db.RetentionStep, error){
		func() (db.RetentionStep, error) { return y.s.RollUpUsage(ctx, b) },
		func() (db.RetentionStep, error) { return y.s.RollUpAttachments(ctx, b) },
		func() (db.RetentionStep, error) { return y.s.RollUpProfileEvents(ctx, b) },
		func() (db.RetentionStep, error) { return y.s.ThinEmails(ctx, db.ThinEmailsBatch) },
		func() (db.RetentionStep, error) { return y.s.ReturnSpace(ctx, db.VacuumPages) },
	} {
		for {
			st, err := run()
			if err != nil {
				return err
			}
			if st.Took > y.progress.Longest {
				y.progress.Longest, y.progress.LongestKind = st.Took, st.Kind
			}
			if st.Kind == "usage" {
				y.progress.RolledUp += st.Done
				y.progress.RollUpTime += st.Took
			}
			if st.Done == 0 {
				break
			}
		}
	}
	return nil
}

// tell reports the progress at the end of a day of the walk.
func (y *year) tell(ctx context.Context, day int) error {
	f, err := y.s.Footprint(ctx, false)
	if err != nil {
		return err
	}
	y.progress.At, y.progress.Day, y.progress.Footprint, y.progress.Elapsed = y.now(), day, f, time.Since(y.began)
	if y.opt.Progress != nil {
		y.opt.Progress(y.progress)
	}
	return nil
}

// together runs fn(0) … fn(n-1) at once, a few at a time: the store's
// committer commits changes that wait together in one go.
func (y *year) together(n int, fn func(i int) error) error {
	const atOnce = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, atOnce)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
