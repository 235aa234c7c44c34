// Package demo loads made-up data into a new database: the demo data set a
// first start of the portal shows (Seed), and a scale data set of up to
// millions of eSIMs to measure the portal with (SeedScale). The demo data is
// made by the portal's own operations on the store (logins, the catalog and
// subscribers as the carrier's systems would load them, inventory imports,
// Add line, Add plan, network reports, email deliveries) under a clock that
// walks through the data set's past, so its emails, audit entries, order
// numbers and country names are the ones the portal writes. The scale data is
// bulk-loaded through Store.Load, for speed, with the store's own formats.
// Package db does not import this one.
package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
	"github.com/carrier/esim-admin/emails"
)

// The demo logins. Their passwords are public: they belong in a demo
// database only.
const (
	AgentEmail    = "agent@example.com"
	AgentPassword = "agent-demo"
	LeadEmail     = "lead@example.com"
	LeadPassword  = "lead-demo"
)

// catalogPlan is a plan of the demo catalog.
type catalogPlan struct {
	code, name string
	region     string // "" for a plan of one country: the country's name
	dataMB     int
	profile    int
	priceCents int
	withdrawn  int    // days ago it was taken off sale; 0 while it is sold
	countries  string // ISO alpha-2, space separated
}

const (
	europe = "FR DE ES IT NL BE PT AT IE GR PL SE DK FI CZ HU RO HR LU SI SK BG"
	asia   = "JP KR SG TH VN MY ID PH HK TW"
)

// repricings are the demo's price changes: the lead first sold the plan at
// firstCents and set its catalog price daysAgo; the orders before keep the
// price they were sold at.
var repricings = []struct {
	code       string
	firstCents int
	daysAgo    int
}{{"EURO3", 1700, 30}}

var catalog = []catalogPlan{
	{"EURO1", "Euro 1", "Europe", 1000, 7, 900, 0, europe},
	{"EURO3", "Euro 3", "Europe", 3000, 7, 1900, 0, europe},
	{"EURO5", "Euro 5", "Europe", 5000, 7, 2900, 150, europe},
	{"EURO10", "Euro 10", "Europe", 10000, 7, 4500, 0, europe + " CH NO IS GB"},
	{"UK5", "UK", "", 5000, 7, 1500, 0, "GB"},
	{"TR3", "Türkiye", "", 3000, 7, 1400, 0, "TR"},
	{"ASIA1", "Asia 1", "Asia", 1000, 10, 1100, 0, asia},
	{"ASIAPLUS", "Asia Plus", "Asia", 10000, 10, 3900, 0, asia + " CN IN KH LA MO LK"},
	{"JAPAN3", "Japan", "", 3000, 10, 1600, 0, "JP"},
	{"ANZ5", "Australia & NZ", "Oceania", 5000, 10, 2400, 0, "AU NZ"},
	{"USCA5", "USA & Canada", "North America", 5000, 2, 2200, 0, "US CA"},
	{"USCA20", "USA & Canada Max", "North America", 20000, 2, 5500, 0, "US CA"},
	{"AMER3", "Americas", "Americas", 3000, 2, 2900, 0, "US CA MX BR AR CL CO PE"},
	{"GLOBAL1", "Global 1", "Global", 1000, 2, 1900, 0,
		"US CA MX BR AR GB FR DE ES IT NL CH TR AE EG MA ZA IN JP KR SG TH AU NZ"},
}

type homePlan struct {
	name, kind string
	lines      int
}

// homePlans are the home plans the demo subscribers hold; the first five
// qualify for a complimentary eSIM.
var homePlans = []homePlan{
	{"Unlimited All", "unlimited_all", 1},
	{"Unlimited bundle — 2 lines", "unlimited_bundle", 2},
	{"Unlimited bundle — 3 lines", "unlimited_bundle", 3},
	{"Unlimited bundle — 4 lines", "unlimited_bundle", 4},
	{"Unlimited bundle — 5 lines", "unlimited_bundle", 5},
	{"Essentials 15 GB", "other", 1},
	{"Prepaid 5 GB", "other", 1},
	{"Talk & Text", "other", 1},
}

// linePlan is a plan put on a demo line, in days before now: added, and
// activated (0 while pending). in is where the phone attached when it
// activated, if not the line's country.
type linePlan struct {
	code      string
	added     int
	activated int
	in        string
	// bounced: the customer's mailbox refused the order confirmation, for good.
	bounced bool
	// used is the share of its data the phone used, in percent, a day at a
	// time from its start; 100 uses it up before its 30 days, and the phone
	// goes on a little before the network cuts it: that part is uncovered.
	used int
}

type line struct {
	// country is where the phone attaches; the agent named the line after
	// it, or after the region of its first plan when byRegion is set.
	country  string
	byRegion bool
	byLead   bool
	// notInstalled leaves the QR code unscanned, so the portal shows a line
	// the customer has not set up yet.
	notInstalled bool
	// disabled: the customer turned the eSIM off once home from the trip.
	disabled bool
	// unreported: nothing came of the profile from the phone (an SM-DP+
	// that sends no notifications): the networks' attachments alone say
	// the eSIM is installed and on.
	unreported bool
	// resent is how many minutes ago an agent sent the QR email again, 0 if
	// never. That email waits for the mail relay, down since.
	resent int
	// replaced: an agent gave the line a new eSIM with Replace eSIM.
	replaced *replacement
	plans    []linePlan // oldest first; the first came with the line
}

// replacement is a Replace eSIM on a demo line, days before now, for a
// reason of the replace form. The agent replaces it between two of the
// daily usage records of the plan the phone was using, so each record comes
// from one phone; the plans that have not ended move to the new eSIM, which
// the new phone installs at once and attaches with where the old one was.
type replacement struct {
	days   int
	reason string
}

type subscriber struct {
	account, name string
	home          []string
	lines         []line
}

var subscribers = []subscriber{
	{"AC-100231", "María García", []string{"Unlimited All"}, []line{
		{country: "FR", plans: []linePlan{{code: "EURO1", added: 96, activated: 94, used: 100}, {code: "EURO3", added: 20, activated: 18, used: 35}}},
	}},
	{"AC-100105", "Hannah Kim", []string{"Unlimited All"}, nil},
	{"AC-100176", "Mateo Silva", []string{"Unlimited bundle — 2 lines"}, nil},
	{"AC-100358", "Priya Raman", []string{"Unlimited All", "Unlimited bundle — 3 lines"}, []line{
		{country: "FR", byRegion: true, plans: []linePlan{{code: "EURO1", added: 3}}},
	}},
	{"AC-100290", "Fatima Al-Sayed", []string{"Unlimited All", "Prepaid 5 GB"}, nil},
	{"AC-100333", "Tom Becker", []string{"Essentials 15 GB"}, nil},
	{"AC-100412", "Kenji Watanabe", []string{"Unlimited All"}, []line{
		{country: "JP", byLead: true, plans: []linePlan{{code: "JAPAN3", added: 12, activated: 10, used: 85}}},
	}},
	{"AC-100469", "Aisha Bello", []string{"Prepaid 5 GB"}, nil},
	{"AC-100502", "Ryan Patel", []string{"Essentials 15 GB", "Prepaid 5 GB"}, nil},
	{"AC-100587", "James O'Connor", []string{"Unlimited bundle — 4 lines"}, []line{
		{country: "TH", byRegion: true, plans: []linePlan{
			{code: "ASIA1", added: 150, activated: 147, used: 60}, {code: "ASIAPLUS", added: 25, activated: 22, in: "VN", used: 70}, {code: "ASIA1", added: 2},
		}},
	}},
	{"AC-100618", "Chloé Dubois", []string{"Unlimited bundle — 5 lines"}, nil},
	{"AC-100644", "Sofia Rossi", []string{"Unlimited All"}, []line{
		{country: "US", replaced: &replacement{days: 3, reason: "New or lost phone"},
			plans: []linePlan{{code: "USCA5", added: 8, activated: 6, used: 30}}},
	}},
	{"AC-100697", "Daniel Cohen", []string{"Unlimited All", "Unlimited bundle — 3 lines"}, nil},
	{"AC-100719", "Ahmed Hassan", []string{"Unlimited All", "Unlimited bundle — 2 lines"}, []line{
		{country: "TR", byLead: true, plans: []linePlan{{code: "TR3", added: 70, activated: 66, used: 90}}},
		{country: "CA", plans: []linePlan{{code: "USCA5", added: 5}}},
	}},
	{"AC-100745", "Ana Sousa", []string{"Prepaid 5 GB"}, nil},
	{"AC-100788", "Ethan Nguyen", []string{"Essentials 15 GB"}, nil},
	{"AC-100803", "Olivia Chen", []string{"Unlimited All"}, []line{
		{country: "AU", resent: 16, plans: []linePlan{{code: "ANZ5", added: 15, activated: 13, used: 20}}},
	}},
	{"AC-100839", "Zoe Papadopoulos", []string{"Talk & Text"}, nil},
	{"AC-100866", "Lukas Schneider", []string{"Unlimited bundle — 2 lines"}, []line{
		{country: "ES", byRegion: true, plans: []linePlan{
			{code: "EURO5", added: 180, activated: 176, used: 45}, {code: "EURO3", added: 45, activated: 41, in: "IT", bounced: true, used: 80},
		}},
	}},
	{"AC-100894", "Samuel Mensah", []string{"Essentials 15 GB"}, nil},
	{"AC-100921", "Amara Okafor", []string{"Unlimited All"}, []line{
		{country: "BR", notInstalled: true, plans: []linePlan{{code: "AMER3", added: 4}}},
	}},
	{"AC-100957", "Elena Petrova", []string{"Unlimited All", "Prepaid 5 GB"}, nil},
	{"AC-101013", "Wei Chen", []string{"Unlimited bundle — 2 lines"}, nil},
	{"AC-101045", "Noah Williams", []string{"Unlimited All", "Unlimited All"}, []line{
		{country: "ZA", byRegion: true, unreported: true, plans: []linePlan{{code: "GLOBAL1", added: 24, activated: 23, used: 50}}},
	}},
	{"AC-101077", "Liam Murphy", []string{"Unlimited All"}, nil},
	{"AC-101102", "Isabella Martínez", []string{"Unlimited bundle — 3 lines"}, []line{
		{country: "MX", byLead: true, disabled: true, plans: []linePlan{{code: "AMER3", added: 120, activated: 117, used: 65}}},
	}},
	{"AC-101134", "Yuki Tanaka", []string{"Essentials 15 GB"}, nil},
	{"AC-101160", "Carlos Mendoza", []string{"Unlimited All"}, nil},
	{"AC-101188", "Grace Thompson", []string{"Unlimited All", "Unlimited bundle — 2 lines"}, []line{
		{country: "GB", plans: []linePlan{{code: "UK5", added: 60, activated: 58, used: 95}}},
		{country: "JP", plans: []linePlan{{code: "JAPAN3", added: 9, activated: 7, used: 100}}},
	}},
	{"AC-101215", "Nadia Haddad", []string{"Talk & Text", "Prepaid 5 GB"}, nil},
	{"AC-101242", "Oluwaseun Adeyemi", []string{"Unlimited bundle — 4 lines"}, nil},
	{"AC-101290", "Sarah Johnson", []string{"Essentials 15 GB"}, nil},
}

var areaCodes = []string{"212", "312", "415", "617", "206", "303", "512", "646", "213", "702"}

const (
	freePerProfile = 80
	iccidPrefix    = "8901480"
)

// deliveriesDaysAgo is when each delivery of free stock arrived, oldest
// first; the eSIMs handed out came in an older one, 420 days ago.
var deliveriesDaysAgo = []int{160, 115, 70, 24}

// Why the two emails that did not go out failed, in the words the sender
// uses for a recipient its mail relay refuses and for a relay it cannot reach.
const (
	bounceReason = "permanent failure: smtp RCPT TO: 552 5.2.2 Mailbox full"
	relayDown    = "smtp connect: dial tcp 10.20.0.25:587: connect: connection refused"
)

// Seed loads the demo data set into an empty database and reports whether it
// did; a database that holds any login, subscriber, plan or eSIM is left as
// it is. s.Mail renders the emails, as it does the portal's. Seed sets s.Now
// to walk through the data set's past and sets it back before it returns,
// so nothing else may use s while it runs. The data set is made in many
// changes, as the portal makes it: Seed is not cut short by ctx, so a first
// start stopped with Ctrl-C still gets the whole of it.
func Seed(ctx context.Context, s *db.Store) (bool, error) {
	if s.Mail == nil {
		return false, errors.New("demo: the store has no mail renderer for the demo's emails")
	}
	if empty, err := s.Empty(ctx); err != nil || !empty {
		return false, err
	}
	ctx = context.WithoutCancel(ctx)
	d := &seeder{s: s, now: s.Now().UTC(), rng: rand.New(rand.NewPCG(1, 2))}
	saved := s.Now
	defer func() { s.Now = saved }()
	s.Now = func() time.Time { return d.clock }
	seeded, err := d.run(ctx)
	if err != nil {
		return false, fmt.Errorf("demo data: %w", err)
	}
	return seeded, nil
}

type seeder struct {
	s     *db.Store
	now   time.Time // when the data set ends: the store's time when Seed began
	clock time.Time // the store's time while a step runs
	rng   *rand.Rand

	agent, lead db.Login
	plans       map[string]db.Plan
	matchingIDs map[string]bool
	sends       []send         // deliveries to record once every step has run
	seen        map[int64]bool // emails queued by the steps so far
	allocs      []*allocation
	notified    time.Time // when the walk last ran the notice scheduler
}

// allocation is a demo line with its times worked out.
type allocation struct {
	sub         db.Subscriber
	line        line
	name        string
	profile     int
	by          *db.Login
	allocatedAt time.Time
	replacedAt  time.Time // zero if its eSIM is never replaced
	// iccid is the line's eSIM once Add line has run, and the new one once
	// Replace eSIM has.
	iccid string
}

// order is a plan put on a line, with its times worked out.
type order struct {
	alloc       *allocation
	plan        db.Plan
	lp          linePlan
	first       bool // came with the line
	addedAt     time.Time
	activatedAt time.Time // zero while pending
	in          string
	// sentAfter is how long after it was queued each email of the order
	// went out: the QR email (for the first plan), then the confirmation.
	sentAfter    []time.Duration
	confirmation int64 // the confirmation's outbox id, once Add line or Add plan has run
}

// send is an email delivered, to record at its time.
type send struct {
	id int64
	at time.Time
}

// step is one operation of the portal, at the time it happens.
type step struct {
	at   time.Time
	what string
	do   func(ctx context.Context) error
}

func (d *seeder) run(ctx context.Context) (bool, error) {
	loginsAt := d.now.AddDate(-1, -2, 0)
	d.clock = loginsAt
	// The team lead is made on the command line (users add) and adds the agent.
	var err error
	d.lead, err = d.s.CreateLogin(ctx, LeadEmail, "Marcus Reyes", db.RoleLead, LeadPassword)
	if db.ErrorCode(err) == db.ErrConflict {
		return false, nil // another process is loading the demo data set
	}
	if err != nil {
		return false, err
	}
	d.clock = loginsAt.Add(40 * time.Minute)
	// The lead sets a temporary password; the agent chooses theirs at the
	// first sign-in, a minute later.
	if d.agent, err = d.s.AddLogin(ctx, AgentEmail, "Dana Whitfield", db.RoleAgent, "temporary-"+AgentPassword, d.lead); err != nil {
		return false, err
	}
	d.clock = d.clock.Add(time.Minute)
	if err := d.s.ChangePassword(ctx, d.agent, AgentPassword); err != nil {
		return false, err
	}
	if err := d.addCatalog(ctx); err != nil {
		return false, err
	}
	allocs, err := d.addSubscribers(ctx)
	if err != nil {
		return false, err
	}
	d.allocs = allocs
	orders, err := d.orders(allocs)
	if err != nil {
		return false, err
	}
	steps := slices.Concat(d.inventory(allocs), d.withdrawals(), d.repricing(), d.sales(orders), d.reports(allocs, orders), d.usage(orders),
		d.resends(allocs), d.replacements(allocs), d.billing())
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at.Before(steps[j].at) })
	for _, st := range steps {
		if st.at.After(d.now) {
			return false, fmt.Errorf("%s: %s is after the data set's end", st.what, st.at)
		}
		d.clock = st.at
		if err := st.do(ctx); err != nil {
			return false, fmt.Errorf("%s at %s: %w", st.what, db.FormatTime(st.at), err)
		}
		if err := d.notices(ctx); err != nil {
			return false, fmt.Errorf("notices after %s at %s: %w", st.what, db.FormatTime(st.at), err)
		}
	}
	d.clock = d.now
	if err := d.notices(ctx); err != nil {
		return false, err
	}
	return true, d.recordSends(ctx)
}

// billing is the carrier's billing system at work: a team lead gives it an
// API client, and it sends what changed: an account suspended, one closed
// with its line kept as history, and a downgrade that leaves a customer
// with more lines than qualifying plans.
func (d *seeder) billing() []step {
	var client db.APIClient
	change := func(account string, how func(*db.BillingSubscriber)) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			b, err := d.billingState(ctx, account)
			if err != nil {
				return err
			}
			how(&b)
			_, err = d.s.SyncSubscribers(ctx, []db.BillingSubscriber{b}, client.ID)
			return err
		}
	}
	return []step{
		{d.workTime(12), "a team lead gives billing an API client", func(ctx context.Context) error {
			var err error
			client, _, err = d.s.AddAPIClient(ctx, "Billing", []string{db.ScopeSubscribers}, d.lead)
			return err
		}},
		{d.workTime(6), "billing: Lukas Schneider downgrades to Essentials", change("AC-100866", func(b *db.BillingSubscriber) {
			b.HomePlans = []db.HomePlan{{BillingID: "HP-100866-2", Name: "Essentials 15 GB", Kind: "other", Lines: 1, Since: d.clock}}
		})},
		{d.workTime(3), "billing: Liam Murphy's account is suspended", change("AC-101077", func(b *db.BillingSubscriber) {
			b.Status = db.StatusSuspended
		})},
		{d.workTime(1), "billing: Noah Williams's account is closed", change("AC-101045", func(b *db.BillingSubscriber) {
			b.Status = db.StatusClosed
		})},
	}
}

// billingState is a demo subscriber as billing would send it now, each home
// plan with an id of billing's.
func (d *seeder) billingState(ctx context.Context, account string) (db.BillingSubscriber, error) {
	sub, err := d.s.SubscriberByAccount(ctx, account)
	if err != nil {
		return db.BillingSubscriber{}, err
	}
	home, err := d.s.DomesticPlans(ctx, sub.ID)
	if err != nil {
		return db.BillingSubscriber{}, err
	}
	b := db.BillingSubscriber{AccountNumber: sub.AccountNumber, Name: sub.Name, Email: sub.Email, Phone: sub.Phone,
		Status: db.StatusActive, AsOf: d.clock.Add(-time.Minute)}
	for i, p := range home {
		b.HomePlans = append(b.HomePlans, db.HomePlan{BillingID: fmt.Sprintf("HP-%s-%d", strings.TrimPrefix(account, "AC-"), i+1),
			Name: p.Name, Kind: p.Kind, Lines: p.Lines, Since: p.Since})
	}
	return b, nil
}

// notices runs the portal's notice scheduler as its ticker would, every few
// hours of the walk, and delivers each notice queued since a minute after
// it was queued.
func (d *seeder) notices(ctx context.Context) error {
	if d.clock.Sub(d.notified) < 6*time.Hour && !d.clock.Equal(d.now) {
		return nil
	}
	d.notified = d.clock
	if _, err := d.s.NotifyDue(ctx); err != nil {
		return err
	}
	if d.seen == nil {
		d.seen = map[int64]bool{}
	}
	// Nothing is marked sent until the walk ends, so every email is queued.
	queued, err := d.s.DueEmails(ctx, d.now.Add(time.Hour), 10_000)
	if err != nil {
		return err
	}
	for _, e := range queued {
		if isOrderEmail(e.Kind) || d.seen[e.ID] {
			continue
		}
		d.seen[e.ID] = true
		d.sends = append(d.sends, send{e.ID, e.QueuedAt.Add(time.Minute)})
	}
	return nil
}

func isOrderEmail(kind string) bool { return kind == db.EmailQR || kind == db.EmailConfirmation }

// usage is the data each started plan's phone used, a record a day from its
// start to its end (or now), through the same rule as the networks' reports.
// Each goes to the line's eSIM at its time: after a replacement, the new one.
func (d *seeder) usage(orders []*order) []step {
	var steps []step
	for _, o := range orders {
		for _, rec := range d.records(o) {
			rec.ID = fmt.Sprintf("demo-%s-%d", o.alloc.sub.AccountNumber, len(steps))
			steps = append(steps, step{rec.End.Add(10 * time.Minute), "data used by " + o.alloc.sub.AccountNumber, func(ctx context.Context) error {
				rec.ICCID = o.alloc.iccid
				_, err := d.s.RecordUsage(ctx, []db.UsageReport{rec}, db.Login{})
				return err
			}})
		}
	}
	return steps
}

// records are the usage records of a started plan, without their id and
// ICCID: a window of 20 hours a day from an hour after its start, each
// reported 10 minutes after its window ends.
func (d *seeder) records(o *order) []db.UsageReport {
	if o.activatedAt.IsZero() || o.lp.used == 0 {
		return nil
	}
	allowance := int64(o.plan.DataMB) * db.BytesPerMB
	end := minTime(o.activatedAt.Add(30*24*time.Hour), d.now)
	days := int(end.Sub(o.activatedAt).Hours() / 24)
	total := allowance * int64(o.lp.used) / 100
	if o.lp.used >= 100 {
		days = max(days*4/5, 1) // used up well before its end
		total = allowance + 40*db.BytesPerMB
	}
	var out []db.UsageReport
	for day := range days {
		start := o.activatedAt.Add(time.Duration(day)*24*time.Hour + time.Hour)
		bytes := total / int64(days)
		if day == days-1 {
			bytes = total - bytes*int64(days-1)
		}
		rec := db.UsageReport{Country: o.in, Bytes: bytes, Start: start, End: start.Add(20 * time.Hour)}
		if rec.End.After(d.now) {
			rec.End = d.now
		}
		out = append(out, rec)
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (d *seeder) addCatalog(ctx context.Context) error {
	plans := make([]db.Plan, len(catalog))
	for i, p := range catalog {
		dest := strings.Fields(p.countries)
		region := p.region
		if region == "" {
			region = rules.CountryName(dest[0])
		}
		plans[i] = db.Plan{Code: p.code, Name: p.name, Region: region, DataMB: p.dataMB, IMSIProfile: p.profile,
			PriceCents: p.priceCents, Active: true, Destinations: dest}
		for _, r := range repricings {
			if r.code == p.code {
				plans[i].PriceCents = r.firstCents
			}
		}
	}
	added, err := d.s.AddToCatalog(ctx, plans, d.lead)
	if err != nil {
		return err
	}
	d.plans = make(map[string]db.Plan, len(added))
	for _, p := range added {
		d.plans[p.Code] = p
	}
	return nil
}

// repricing sets the prices the lead changed, at a fixed hour of their day
// (no jitter: the demo's other times stay as they were).
func (d *seeder) repricing() []step {
	var out []step
	for _, r := range repricings {
		i := slices.IndexFunc(catalog, func(p catalogPlan) bool { return p.code == r.code })
		at := d.now.AddDate(0, 0, -r.daysAgo).Truncate(24 * time.Hour).Add(10 * time.Hour)
		code, cents := r.code, catalog[i].priceCents
		out = append(out, step{at, "reprice plan " + code, func(ctx context.Context) error {
			p := d.plans[code]
			p.PriceCents = cents
			_, err := d.s.SavePlan(ctx, p, d.lead)
			return err
		}})
	}
	return out
}

// withdrawals take the plans no longer sold off sale, after they were sold.
func (d *seeder) withdrawals() []step {
	var out []step
	for _, p := range catalog {
		if p.withdrawn == 0 {
			continue
		}
		code := p.code
		out = append(out, step{d.workTime(p.withdrawn), "withdraw plan " + code, func(ctx context.Context) error {
			_, err := d.s.WithdrawPlan(ctx, code, d.lead)
			return err
		}})
	}
	return out
}

// emailAddress turns "María García" into maria.garcia@example.com.
func emailAddress(name string) string {
	fold := strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ñ", "n", "'", "")
	parts := strings.Fields(strings.ToLower(fold.Replace(name)))
	return strings.Join(parts, ".") + "@example.com"
}

func (d *seeder) addSubscribers(ctx context.Context) ([]*allocation, error) {
	subs := make([]db.NewSubscriber, len(subscribers))
	for i, ds := range subscribers {
		// Customers of one to five years; every home plan is older than any
		// demo line, so each line was allowed when it was given.
		created := d.now.AddDate(0, 0, -(400 + d.rng.IntN(1400))).Add(d.jitter(24 * time.Hour))
		ns := db.NewSubscriber{Since: created, Subscriber: db.Subscriber{AccountNumber: ds.account, Name: ds.name,
			Email: emailAddress(ds.name), Phone: fmt.Sprintf("+1 %s 555 %04d", areaCodes[i%len(areaCodes)], 100+i)}}
		qualifying := 0
		for j, name := range ds.home {
			k := slices.IndexFunc(homePlans, func(p homePlan) bool { return p.name == name })
			if k < 0 {
				return nil, fmt.Errorf("subscriber %s: unknown home plan %q", ds.account, name)
			}
			if homePlans[k].kind != "other" {
				qualifying++
			}
			since := created.AddDate(0, 0, j*(60+d.rng.IntN(120)))
			ns.Home = append(ns.Home, db.DomesticPlan{Name: name, Kind: homePlans[k].kind, Lines: homePlans[k].lines, Since: since})
		}
		if len(ds.lines) > qualifying {
			return nil, fmt.Errorf("subscriber %s: %d lines but %d qualifying plans", ds.account, len(ds.lines), qualifying)
		}
		subs[i] = ns
	}
	added, err := d.s.AddSubscribers(ctx, subs)
	if err != nil {
		return nil, err
	}
	var allocs []*allocation
	for i, ds := range subscribers {
		for _, l := range ds.lines {
			by := &d.agent
			if l.byLead {
				by = &d.lead
			}
			allocs = append(allocs, &allocation{sub: added[i], line: l, by: by})
		}
	}
	return allocs, nil
}

// jitter is a random duration in [0, span), whole seconds.
func (d *seeder) jitter(span time.Duration) time.Duration {
	return time.Duration(d.rng.Int64N(int64(span/time.Second))) * time.Second
}

// workTime is a time during an agent's shift, days before now.
func (d *seeder) workTime(days int) time.Time {
	day := d.now.AddDate(0, 0, -days).Truncate(24 * time.Hour)
	return day.Add(14*time.Hour + d.jitter(8*time.Hour))
}

// orders works out the times of every demo plan and checks the rules the
// portal will enforce: one profile per line, plans added after the line,
// plans that activate where they go.
func (d *seeder) orders(allocs []*allocation) ([]*order, error) {
	var orders []*order
	for _, a := range allocs {
		if len(a.line.plans) == 0 {
			return nil, fmt.Errorf("a line of %s has no plan", a.sub.AccountNumber)
		}
		prev := -1
		for i, lp := range a.line.plans {
			p, ok := d.plans[lp.code]
			if !ok {
				return nil, fmt.Errorf("a line of %s: unknown plan %s", a.sub.AccountNumber, lp.code)
			}
			if i == 0 {
				a.profile = p.IMSIProfile
				a.name = rules.CountryName(a.line.country)
				if a.line.byRegion {
					a.name = p.Region
				}
			} else if p.IMSIProfile != a.profile {
				return nil, fmt.Errorf("line %s of %s: plan %s is on profile %d, the line on %d",
					a.name, a.sub.AccountNumber, lp.code, p.IMSIProfile, a.profile)
			}
			if lp.added < 1 || (prev >= 0 && lp.added >= prev) || (lp.activated != 0 && lp.activated >= lp.added) {
				return nil, fmt.Errorf("line %s of %s: plan %s has its days out of order", a.name, a.sub.AccountNumber, lp.code)
			}
			// Active plans activated within 25 days and expired ones over 36
			// days ago, so neither is near its 30-day end.
			if lp.activated != 0 && lp.activated > 25 && lp.activated < 37 {
				return nil, fmt.Errorf("line %s of %s: plan %s is too close to its end", a.name, a.sub.AccountNumber, lp.code)
			}
			prev = lp.added
			o := &order{alloc: a, plan: p, lp: lp, first: i == 0, addedAt: d.workTime(lp.added), in: lp.in}
			if o.in == "" {
				o.in = a.line.country
			}
			if lp.activated != 0 && !p.Covers(o.in) {
				return nil, fmt.Errorf("line %s of %s: plan %s does not cover %s", a.name, a.sub.AccountNumber, lp.code, o.in)
			}
			if c, _ := rules.CountryByCode(o.in); lp.activated != 0 && len(c.MCCs) == 0 {
				return nil, fmt.Errorf("line %s of %s: no network code for %s", a.name, a.sub.AccountNumber, o.in)
			}
			if lp.activated != 0 {
				day := d.now.AddDate(0, 0, -lp.activated).Truncate(24 * time.Hour)
				o.activatedAt = day.Add(d.jitter(24 * time.Hour))
			}
			if i == 0 {
				a.allocatedAt = o.addedAt
				o.sentAfter = append(o.sentAfter, 2*time.Second+d.jitter(20*time.Second))
			}
			o.sentAfter = append(o.sentAfter, 2*time.Second+d.jitter(20*time.Second))
			orders = append(orders, o)
		}
		if a.line.replaced != nil {
			var err error
			if a.replacedAt, err = d.replacementTime(a, orders); err != nil {
				return nil, fmt.Errorf("line %s of %s: %w", a.name, a.sub.AccountNumber, err)
			}
		}
	}
	return orders, nil
}

// replacementTime is when the agent replaces the line's eSIM, r.days before
// now: if a plan of the line was using data then, 21 hours 30 minutes into
// that day of the plan, counted from its start, when the day's usage record
// is in and the next is hours away (see records); else at 18:00.
func (d *seeder) replacementTime(a *allocation, orders []*order) (time.Time, error) {
	r := a.line.replaced
	if !slices.Contains(db.ReplaceReasons, r.reason) {
		return time.Time{}, fmt.Errorf("%q is not a reason of the replace form", r.reason)
	}
	if c, _ := rules.CountryByCode(a.line.country); len(c.MCCs) == 0 {
		return time.Time{}, fmt.Errorf("no network code for %s, where the new eSIM attaches", a.line.country)
	}
	at := d.now.AddDate(0, 0, -r.days).Truncate(24 * time.Hour).Add(18 * time.Hour)
	var line []*order
	for _, o := range orders {
		if o.alloc == a {
			line = append(line, o)
		}
	}
	for _, o := range line {
		if recs := d.records(o); len(recs) > 0 && !at.Before(o.activatedAt) && at.Before(recs[len(recs)-1].End) {
			day := at.Sub(o.activatedAt) / (24 * time.Hour)
			at = o.activatedAt.Add(day*24*time.Hour + 21*time.Hour + 30*time.Minute)
			break
		}
	}
	if !at.After(a.allocatedAt) || !at.Before(d.now.Add(-time.Hour)) {
		return time.Time{}, fmt.Errorf("replaced at %s, not between its allocation and an hour before now", db.FormatTime(at))
	}
	// Nothing is reported during the replacement, nor in the hour the new
	// phone takes to install the eSIM.
	for _, o := range line {
		for _, rec := range d.records(o) {
			if rec.Start.Before(at.Add(time.Hour)) && rec.End.Add(10*time.Minute).After(at) {
				return time.Time{}, fmt.Errorf("replaced at %s, during the data use of %s", db.FormatTime(at), o.plan.Code)
			}
		}
	}
	return at, nil
}

func smdpAddress(profile int) string {
	if profile == 7 {
		return "smdp-eu.esim-demo.example.com"
	}
	return "smdp.esim-demo.example.com"
}

// matchingID makes a code like K2-4F7A1-9Q2ZB-8C3D0, unique in the demo.
func (d *seeder) matchingID() string {
	const alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	for {
		var b strings.Builder
		for i, n := range []int{2, 5, 5, 5} {
			if i > 0 {
				b.WriteByte('-')
			}
			for range n {
				b.WriteByte(alnum[d.rng.IntN(len(alnum))])
			}
		}
		id := b.String()
		if !d.matchingIDs[id] {
			d.matchingIDs[id] = true
			return id
		}
	}
}

// demoICCID builds a 19-digit ICCID: 89, country 01, issuer, the profile and
// a serial, then the Luhn check digit.
func demoICCID(profile, serial int) string {
	body := fmt.Sprintf("%s%02d%09d", iccidPrefix, profile, serial)
	return body + string(db.LuhnDigit(body))
}

// delivery is one inventory file the team lead imported.
type delivery struct {
	at  time.Time
	csv bytes.Buffer
	w   *csv.Writer
}

func newDelivery(at time.Time) *delivery {
	dl := &delivery{at: at}
	dl.w = csv.NewWriter(&dl.csv)
	dl.w.Write(db.InventoryHeader)
	return dl
}

func (dl *delivery) add(d *seeder, profile, serial int) string {
	iccid := demoICCID(profile, serial)
	dl.w.Write([]string{iccid, strconv.Itoa(profile), smdpAddress(profile), d.matchingID()})
	return iccid
}

// inventory stocks the eSIMs, one import a delivery. Add line and Replace
// eSIM hand out the eSIM of the line's profile that has waited longest, so
// the lines get the eSIMs of a delivery older than any free one: it holds
// one eSIM a line, in the order the lines were given, one more of each
// profile, which failed its download test and was retired, and one for each
// replacement of a line of the profile.
func (d *seeder) inventory(allocs []*allocation) []step {
	d.matchingIDs = map[string]bool{}
	old := newDelivery(d.now.AddDate(0, 0, -420).Truncate(24 * time.Hour).Add(15 * time.Hour))
	var steps []step
	serials := map[int]int{}
	var retire []string
	for _, profile := range db.IMSIProfiles {
		serial := 4_210_000 + 1000*profile
		for _, a := range allocs {
			if a.profile == profile {
				old.add(d, profile, serial)
				serial++
			}
		}
		retire = append(retire, old.add(d, profile, serial))
		serial++
		for _, a := range allocs {
			if a.profile == profile && a.line.replaced != nil {
				old.add(d, profile, serial)
				serial++
			}
		}
		serials[profile] = serial
	}
	deliveries := []*delivery{old}
	for b, days := range deliveriesDaysAgo {
		dl := newDelivery(d.now.AddDate(0, 0, -days).Truncate(24 * time.Hour).Add(13*time.Hour + d.jitter(3*time.Hour)))
		for _, profile := range db.IMSIProfiles {
			serial := serials[profile] + 50*(b+1) // deliveries are not contiguous ranges
			for range freePerProfile / len(deliveriesDaysAgo) {
				dl.add(d, profile, serial)
				serial++
			}
			serials[profile] = serial
		}
		deliveries = append(deliveries, dl)
	}
	for _, dl := range deliveries {
		dl.w.Flush()
		steps = append(steps, step{dl.at, "import a delivery", func(ctx context.Context) error {
			_, bad, err := d.s.ImportInventory(ctx, &dl.csv, d.lead)
			if err == nil && len(bad) > 0 {
				err = fmt.Errorf("%d lines refused, the first: %s", len(bad), bad[0])
			}
			return err
		}})
	}
	tested := old.at.AddDate(0, 0, 1)
	for _, iccid := range retire {
		steps = append(steps, step{tested, "retire " + iccid, func(ctx context.Context) error {
			_, err := d.s.RetireESIM(ctx, iccid, d.lead)
			return err
		}})
	}
	return steps
}

// sales are the Add lines and Add plans, each with its emails: delivered a
// few seconds after they were queued, but for a bounced confirmation.
func (d *seeder) sales(orders []*order) []step {
	var steps []step
	for _, o := range orders {
		a := o.alloc
		steps = append(steps, step{o.addedAt, "sell " + o.plan.Code + " to " + a.sub.AccountNumber, func(ctx context.Context) error {
			var err error
			if o.first {
				var got db.Order
				got, err = d.s.AddLine(ctx, db.AddLine{SubscriberID: a.sub.ID, LineName: a.name, PlanID: o.plan.ID, By: *a.by})
				a.iccid = got.ICCID
			} else {
				_, err = d.s.AddPlan(ctx, db.AddPlan{ICCID: a.iccid, SubscriberID: a.sub.ID, PlanID: o.plan.ID, By: *a.by})
			}
			if err != nil {
				return err
			}
			queued, err := d.queued(ctx, a.iccid)
			if err != nil {
				return err
			}
			queued = slices.DeleteFunc(queued, func(e db.Email) bool { return !isOrderEmail(e.Kind) })
			if len(queued) != len(o.sentAfter) {
				return fmt.Errorf("%d emails queued, want %d", len(queued), len(o.sentAfter))
			}
			for i, e := range queued {
				if e.Kind == db.EmailConfirmation {
					o.confirmation = e.ID
					if o.lp.bounced {
						continue
					}
				}
				d.sends = append(d.sends, send{e.ID, e.QueuedAt.Add(o.sentAfter[i])})
			}
			return nil
		}})
		if o.lp.bounced {
			steps = append(steps, step{o.addedAt.Add(3 * time.Second), "bounce the confirmation of " + o.plan.Code, func(ctx context.Context) error {
				return d.s.MarkEmailAttemptFailed(ctx, o.confirmation, bounceReason, time.Time{})
			}})
		}
	}
	return steps
}

// queued returns the emails about an eSIM that no step has seen yet, oldest
// first: those the last change queued.
func (d *seeder) queued(ctx context.Context, iccid string) ([]db.Email, error) {
	all, err := d.s.EmailsForESIM(ctx, iccid)
	if err != nil {
		return nil, err
	}
	if d.seen == nil {
		d.seen = map[int64]bool{}
	}
	var out []db.Email
	for _, e := range all {
		if !d.seen[e.ID] {
			d.seen[e.ID] = true
			out = append(out, e)
		}
	}
	slices.Reverse(out)
	return out, nil
}

// reports are what the SM-DP+ and the networks reported, so each line's
// profile state agrees with its plans: downloaded and installed soon after
// the QR email, enabled just before the first plan activated, and one
// attachment for every activation, which the portal's rule turns into it.
func (d *seeder) reports(allocs []*allocation, orders []*order) []step {
	var steps []step
	event := func(a *allocation, name string, at time.Time) {
		steps = append(steps, step{at.Add(2 * time.Second), name + " on " + a.sub.AccountNumber, func(ctx context.Context) error {
			_, err := d.s.RecordProfileEvent(ctx, db.ProfileEvent{ICCID: a.iccid, Event: name, At: at})
			return err
		}})
	}
	for _, a := range allocs {
		if a.line.notInstalled || a.line.unreported {
			continue
		}
		var firstActivation, lastEnd time.Time
		for _, o := range orders {
			if o.alloc == a && !o.activatedAt.IsZero() {
				if firstActivation.IsZero() || o.activatedAt.Before(firstActivation) {
					firstActivation = o.activatedAt
				}
				lastEnd = o.activatedAt.AddDate(0, 0, 30)
			}
		}
		downloaded := a.allocatedAt.Add(3*time.Minute + d.jitter(30*time.Minute))
		event(a, db.ProfileDownloaded, downloaded)
		event(a, db.ProfileInstalled, downloaded.Add(20*time.Second+d.jitter(2*time.Minute)))
		if !firstActivation.IsZero() {
			event(a, db.ProfileEnabled, firstActivation.Add(-5*time.Minute-d.jitter(time.Hour)))
		}
		if a.line.disabled {
			event(a, db.ProfileDisabled, lastEnd.Add(20*time.Hour+d.jitter(4*time.Hour)))
		}
	}
	for _, o := range orders {
		if o.activatedAt.IsZero() {
			continue
		}
		country, _ := rules.CountryByCode(o.in) // orders made sure it has its MCCs
		steps = append(steps, step{o.activatedAt.Add(40 * time.Second), "attach in " + o.in, func(ctx context.Context) error {
			r, err := d.s.Attach(ctx, db.Attach{ICCID: o.alloc.iccid, MCC: country.MCCs[0], AttachedAt: o.activatedAt})
			if err != nil {
				return err
			}
			if r.Activated == nil || r.Activated.Plan.Code != o.plan.Code {
				return fmt.Errorf("the attachment did not start %s: %+v", o.plan.Code, r)
			}
			return nil
		}})
	}
	return steps
}

// resends are QR emails an agent sent again, which the mail relay has not
// taken since: the worker has tried them as often as its backoff allows.
func (d *seeder) resends(allocs []*allocation) []step {
	var steps []step
	worker := emails.Worker{}
	for _, a := range allocs {
		if a.line.resent == 0 {
			continue
		}
		at := d.now.Add(-time.Duration(a.line.resent) * time.Minute)
		steps = append(steps, step{at, "resend the QR email of " + a.sub.AccountNumber, func(ctx context.Context) error {
			if _, err := d.s.ResendQR(ctx, a.iccid, d.agent); err != nil {
				return err
			}
			queued, err := d.queued(ctx, a.iccid)
			if err != nil {
				return err
			}
			if len(queued) != 1 {
				return fmt.Errorf("%d emails queued, want the QR email", len(queued))
			}
			// The worker's attempts: the first at once, the others after
			// its backoff, until the next would come after now.
			attempt := at.Add(time.Second)
			for n := 1; ; n++ {
				next := attempt.Add(worker.Backoff(n))
				d.clock = attempt
				if err := d.s.MarkEmailAttemptFailed(ctx, queued[0].ID, relayDown, next); err != nil {
					return err
				}
				if next.After(d.now) {
					return nil
				}
				attempt = next
			}
		}})
	}
	return steps
}

// replacements are the Replace eSIMs an agent made, each with what followed:
// the QR email of the new eSIM delivered, the new phone downloading,
// installing and enabling it, and its first attachment, where the line's
// plan already runs.
func (d *seeder) replacements(allocs []*allocation) []step {
	var steps []step
	for _, a := range allocs {
		r := a.line.replaced
		if r == nil {
			continue
		}
		sentAfter := 2*time.Second + d.jitter(20*time.Second)
		steps = append(steps, step{a.replacedAt, "replace the eSIM of " + a.sub.AccountNumber, func(ctx context.Context) error {
			fresh, err := d.s.ReplaceESIM(ctx, a.iccid, r.reason, d.agent)
			if err != nil {
				return err
			}
			a.iccid = fresh.ICCID
			queued, err := d.queued(ctx, a.iccid)
			if err != nil {
				return err
			}
			if len(queued) != 1 || queued[0].Kind != db.EmailQR {
				return fmt.Errorf("%d emails queued, want the new eSIM's QR email", len(queued))
			}
			d.sends = append(d.sends, send{queued[0].ID, queued[0].QueuedAt.Add(sentAfter)})
			return nil
		}})
		at := a.replacedAt.Add(4*time.Minute + d.jitter(20*time.Minute))
		for _, event := range []string{db.ProfileDownloaded, db.ProfileInstalled, db.ProfileEnabled} {
			eventAt := at
			steps = append(steps, step{eventAt.Add(2 * time.Second), event + " on " + a.sub.AccountNumber, func(ctx context.Context) error {
				_, err := d.s.RecordProfileEvent(ctx, db.ProfileEvent{ICCID: a.iccid, Event: event, At: eventAt})
				return err
			}})
			at = at.Add(20*time.Second + d.jitter(2*time.Minute))
		}
		country, _ := rules.CountryByCode(a.line.country) // replacementTime made sure it has its MCCs
		steps = append(steps, step{at.Add(40 * time.Second), "attach in " + a.line.country + " with the new eSIM", func(ctx context.Context) error {
			_, err := d.s.Attach(ctx, db.Attach{ICCID: a.iccid, MCC: country.MCCs[0], AttachedAt: at})
			return err
		}})
	}
	return steps
}

// recordSends marks the delivered emails sent. Each carries its own time, so
// they go together, and share the committer's commits.
func (d *seeder) recordSends(ctx context.Context) error {
	errs := make([]error, len(d.sends))
	var wg sync.WaitGroup
	for i, m := range d.sends {
		wg.Go(func() { errs[i] = d.s.MarkEmailSent(ctx, db.Email{ID: m.id}, m.at) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
