package db

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"
)

// The demo logins. Their passwords are public: they belong in a demo
// database only.
const (
	DemoAgentEmail    = "agent@example.com"
	DemoAgentPassword = "agent-demo"
	DemoLeadEmail     = "lead@example.com"
	DemoLeadPassword  = "lead-demo"
)

// demoPlan is a plan of the demo catalog.
type demoPlan struct {
	code, name, region string
	dataMB, profile    int
	priceCents         int
	retired            bool   // no longer sold, but still on old lines
	countries          string // ISO alpha-2, space separated
}

const (
	demoEurope = "FR DE ES IT NL BE PT AT IE GR PL SE DK FI CZ HU RO HR LU SI SK BG"
	demoAsia   = "JP KR SG TH VN MY ID PH HK TW"
)

var demoPlans = []demoPlan{
	{"EURO1", "Euro 1", "Europe", 1000, 7, 900, false, demoEurope},
	{"EURO3", "Euro 3", "Europe", 3000, 7, 1900, false, demoEurope},
	{"EURO5", "Euro 5", "Europe", 5000, 7, 2900, true, demoEurope},
	{"EURO10", "Euro 10", "Europe", 10000, 7, 4500, false, demoEurope + " CH NO IS GB"},
	{"UK5", "UK", "United Kingdom", 5000, 7, 1500, false, "GB"},
	{"TR3", "Turkey", "Turkey", 3000, 7, 1400, false, "TR"},
	{"ASIA1", "Asia 1", "Asia", 1000, 10, 1100, false, demoAsia},
	{"ASIAPLUS", "Asia Plus", "Asia", 10000, 10, 3900, false, demoAsia + " CN IN KH LA MO LK"},
	{"JAPAN3", "Japan", "Japan", 3000, 10, 1600, false, "JP"},
	{"ANZ5", "Australia & NZ", "Oceania", 5000, 10, 2400, false, "AU NZ"},
	{"USCA5", "USA & Canada", "North America", 5000, 2, 2200, false, "US CA"},
	{"USCA20", "USA & Canada Max", "North America", 20000, 2, 5500, false, "US CA"},
	{"AMER3", "Americas", "Americas", 3000, 2, 2900, false, "US CA MX BR AR CL CO PE"},
	{"GLOBAL1", "Global 1", "Global", 1000, 2, 1900, false,
		"US CA MX BR AR GB FR DE ES IT NL CH TR AE EG MA ZA IN JP KR SG TH AU NZ"},
}

// demoDomesticPlans are the home plans the demo subscribers hold.
var demoDomesticPlans = []struct {
	name, kind string
	lines      int
}{
	{"Unlimited All", "unlimited_all", 1},
	{"Unlimited bundle — 2 lines", "unlimited_bundle", 2},
	{"Unlimited bundle — 3 lines", "unlimited_bundle", 3},
	{"Unlimited bundle — 4 lines", "unlimited_bundle", 4},
	{"Unlimited bundle — 5 lines", "unlimited_bundle", 5},
	{"Essentials 15 GB", "other", 1},
	{"Prepaid 5 GB", "other", 1},
	{"Talk & Text", "other", 1},
}

// demoLinePlan is a plan put on a demo line, in days before now: added, and
// activated (0 while pending). in is where the phone attached when it
// activated, if not the line's country.
type demoLinePlan struct {
	code      string
	added     int
	activated int
	in        string
}

type demoLine struct {
	name    string
	country string // where the phone attaches
	byLead  bool
	// notInstalled leaves the QR code unscanned, so the portal shows a line
	// the customer has not set up yet.
	notInstalled bool
	plans        []demoLinePlan // oldest first; the first came with the line
}

type demoSubscriber struct {
	account, name string
	domestic      []string
	lines         []demoLine
}

var demoSubscribers = []demoSubscriber{
	{"AC-100231", "María García", []string{"Unlimited All"}, []demoLine{
		{name: "France", country: "FR", plans: []demoLinePlan{{"EURO1", 96, 94, ""}, {"EURO3", 20, 18, ""}}},
	}},
	{"AC-100105", "Hannah Kim", []string{"Unlimited All"}, nil},
	{"AC-100176", "Mateo Silva", []string{"Unlimited bundle — 2 lines"}, nil},
	{"AC-100358", "Priya Raman", []string{"Unlimited All", "Unlimited bundle — 3 lines"}, []demoLine{
		{name: "Europe", country: "FR", plans: []demoLinePlan{{"EURO1", 3, 0, ""}}},
	}},
	{"AC-100290", "Fatima Al-Sayed", []string{"Unlimited All", "Prepaid 5 GB"}, nil},
	{"AC-100333", "Tom Becker", []string{"Essentials 15 GB"}, nil},
	{"AC-100412", "Kenji Watanabe", []string{"Unlimited All"}, []demoLine{
		{name: "Japan", country: "JP", byLead: true, plans: []demoLinePlan{{"JAPAN3", 12, 10, ""}}},
	}},
	{"AC-100469", "Aisha Bello", []string{"Prepaid 5 GB"}, nil},
	{"AC-100502", "Ryan Patel", []string{"Essentials 15 GB", "Prepaid 5 GB"}, nil},
	{"AC-100587", "James O'Connor", []string{"Unlimited bundle — 4 lines"}, []demoLine{
		{name: "Southeast Asia", country: "TH", plans: []demoLinePlan{
			{"ASIA1", 150, 147, ""}, {"ASIAPLUS", 25, 22, "VN"}, {"ASIA1", 2, 0, ""},
		}},
	}},
	{"AC-100618", "Chloé Dubois", []string{"Unlimited bundle — 5 lines"}, nil},
	{"AC-100644", "Sofia Rossi", []string{"Unlimited All"}, []demoLine{
		{name: "USA", country: "US", plans: []demoLinePlan{{"USCA5", 8, 6, ""}}},
	}},
	{"AC-100697", "Daniel Cohen", []string{"Unlimited All", "Unlimited bundle — 3 lines"}, nil},
	{"AC-100719", "Ahmed Hassan", []string{"Unlimited All", "Unlimited bundle — 2 lines"}, []demoLine{
		{name: "Turkey", country: "TR", byLead: true, plans: []demoLinePlan{{"TR3", 70, 66, ""}}},
		{name: "Canada", country: "CA", plans: []demoLinePlan{{"USCA5", 5, 0, ""}}},
	}},
	{"AC-100745", "Ana Sousa", []string{"Prepaid 5 GB"}, nil},
	{"AC-100788", "Ethan Nguyen", []string{"Essentials 15 GB"}, nil},
	{"AC-100803", "Olivia Chen", []string{"Unlimited All"}, []demoLine{
		{name: "Australia", country: "AU", plans: []demoLinePlan{{"ANZ5", 15, 13, ""}}},
	}},
	{"AC-100839", "Zoe Papadopoulos", []string{"Talk & Text"}, nil},
	{"AC-100866", "Lukas Schneider", []string{"Unlimited bundle — 2 lines"}, []demoLine{
		{name: "Europe", country: "ES", plans: []demoLinePlan{{"EURO5", 180, 176, ""}, {"EURO3", 45, 41, "IT"}}},
	}},
	{"AC-100894", "Samuel Mensah", []string{"Essentials 15 GB"}, nil},
	{"AC-100921", "Amara Okafor", []string{"Unlimited All"}, []demoLine{
		{name: "Brazil", country: "BR", notInstalled: true, plans: []demoLinePlan{{"AMER3", 4, 0, ""}}},
	}},
	{"AC-100957", "Elena Petrova", []string{"Unlimited All", "Prepaid 5 GB"}, nil},
	{"AC-101013", "Wei Chen", []string{"Unlimited bundle — 2 lines"}, nil},
	{"AC-101045", "Noah Williams", []string{"Unlimited All", "Unlimited All"}, []demoLine{
		{name: "Global", country: "ZA", plans: []demoLinePlan{{"GLOBAL1", 24, 23, ""}}},
	}},
	{"AC-101077", "Liam Murphy", []string{"Unlimited All"}, nil},
	{"AC-101102", "Isabella Martínez", []string{"Unlimited bundle — 3 lines"}, []demoLine{
		{name: "Mexico", country: "MX", byLead: true, plans: []demoLinePlan{{"AMER3", 120, 117, ""}}},
	}},
	{"AC-101134", "Yuki Tanaka", []string{"Essentials 15 GB"}, nil},
	{"AC-101160", "Carlos Mendoza", []string{"Unlimited All"}, nil},
	{"AC-101188", "Grace Thompson", []string{"Unlimited All", "Unlimited bundle — 2 lines"}, []demoLine{
		{name: "United Kingdom", country: "GB", plans: []demoLinePlan{{"UK5", 60, 58, ""}}},
		{name: "Japan", country: "JP", plans: []demoLinePlan{{"JAPAN3", 9, 7, ""}}},
	}},
	{"AC-101215", "Nadia Haddad", []string{"Talk & Text", "Prepaid 5 GB"}, nil},
	{"AC-101242", "Oluwaseun Adeyemi", []string{"Unlimited bundle — 4 lines"}, nil},
	{"AC-101290", "Sarah Johnson", []string{"Essentials 15 GB"}, nil},
}

// demoMCC is the mobile country code networks report for an attachment.
var demoMCC = map[string]string{
	"FR": "208", "ES": "214", "IT": "222", "GB": "234", "TR": "286", "US": "310", "CA": "302",
	"MX": "334", "BR": "724", "JP": "440", "TH": "520", "VN": "452", "AU": "505", "ZA": "655",
}

var demoAreaCodes = []string{"212", "312", "415", "617", "206", "303", "512", "646", "213", "702"}

const (
	demoFreePerProfile = 80
	demoBatches        = 4 // deliveries the free stock arrived in
	demoICCIDPrefix    = "8901480"
	demoOutboxDomain   = "esim-admin.example.com"
)

// demoBatchDaysAgo is when each delivery of free stock arrived, oldest first.
var demoBatchDaysAgo = [demoBatches]int{160, 115, 70, 24}

// SeedDemo loads the demo data set into an empty database and reports whether it did.
// A database that already holds any subscriber, login, plan or eSIM is left alone (idempotent).
func (s *Store) SeedDemo(ctx context.Context) (bool, error) {
	if empty, err := demoEmpty(ctx, s.read); err != nil || !empty {
		return false, err
	}
	// Hashing takes a while: do it before taking the write lock.
	agentHash, err := s.hashPassword(DemoAgentPassword)
	if err != nil {
		return false, err
	}
	leadHash, err := s.hashPassword(DemoLeadPassword)
	if err != nil {
		return false, err
	}
	seeded := false
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		// Checked again under the write lock: another process may have
		// written since the check above.
		empty, err := demoEmpty(ctx, tx)
		if err != nil || !empty {
			return err
		}
		d := &demoSeeder{ctx: ctx, tx: tx.Tx, now: s.Now().UTC(), rng: rand.New(rand.NewPCG(1, 2))}
		if err := d.seed(string(agentHash), string(leadHash)); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
		if err := recountStock(ctx, tx); err != nil {
			return err
		}
		seeded = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return seeded, nil
}

type demoQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func demoEmpty(ctx context.Context, q demoQuerier) (bool, error) {
	var used bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM subscribers) OR EXISTS (SELECT 1 FROM logins)
		OR EXISTS (SELECT 1 FROM plans) OR EXISTS (SELECT 1 FROM esims)`).Scan(&used)
	return !used, err
}

type demoSeeder struct {
	ctx context.Context
	tx  *sql.Tx
	now time.Time
	rng *rand.Rand

	agentID, leadID int64
	plans           map[string]demoPlanRow
	matchingIDs     map[string]bool
}

type demoPlanRow struct {
	id int64
	demoPlan
}

// demoAllocation is a demo line with its times worked out.
type demoAllocation struct {
	sub         demoSubscriber
	subID       int64
	email       string
	line        demoLine
	profile     int
	allocatedAt time.Time
	iccid       string
	smdp        string
	matchingID  string
}

// demoOrder is a plan put on a line, with its times worked out.
type demoOrder struct {
	alloc       *demoAllocation
	plan        demoPlanRow
	addedAt     time.Time
	activatedAt time.Time // zero while pending
	in          string
	first       bool  // came with the line
	id          int64 // set once inserted
}

func (d *demoSeeder) seed(agentHash, leadHash string) error {
	var err error
	loginsAt := d.now.AddDate(-1, -2, 0)
	if d.agentID, err = d.insertLogin(DemoAgentEmail, "Dana Whitfield", RoleAgent, agentHash, loginsAt); err != nil {
		return err
	}
	if d.leadID, err = d.insertLogin(DemoLeadEmail, "Marcus Reyes", RoleLead, leadHash, loginsAt); err != nil {
		return err
	}
	if err := d.insertPlans(); err != nil {
		return err
	}
	allocs, err := d.insertSubscribers()
	if err != nil {
		return err
	}
	orders, err := d.orders(allocs)
	if err != nil {
		return err
	}
	if err := d.insertESIMs(allocs); err != nil {
		return err
	}
	if err := d.insertOrders(orders); err != nil {
		return err
	}
	if err := d.insertEmails(orders); err != nil {
		return err
	}
	if err := d.insertAudit(orders); err != nil {
		return err
	}
	return d.insertNetworkReports(allocs, orders)
}

func (d *demoSeeder) insertLogin(email, name string, role Role, hash string, at time.Time) (int64, error) {
	res, err := d.tx.ExecContext(d.ctx, `INSERT INTO logins (email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		email, name, role, hash, formatTime(at))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (d *demoSeeder) prepare(query string) (*sql.Stmt, error) {
	return d.tx.PrepareContext(d.ctx, query)
}

func (d *demoSeeder) insertPlans() error {
	plan, err := d.prepare(`INSERT INTO plans (code, name, region, data_mb, validity_days, imsi_profile, price_cents, active)
		VALUES (?, ?, ?, ?, 30, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer plan.Close()
	dest, err := d.prepare(`INSERT INTO plan_destinations (plan_id, country) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer dest.Close()
	d.plans = make(map[string]demoPlanRow, len(demoPlans))
	for _, p := range demoPlans {
		res, err := plan.ExecContext(d.ctx, p.code, p.name, p.region, p.dataMB, p.profile, p.priceCents, !p.retired)
		if err != nil {
			return fmt.Errorf("plan %s: %w", p.code, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for _, c := range strings.Fields(p.countries) {
			if _, err := dest.ExecContext(d.ctx, id, c); err != nil {
				return fmt.Errorf("plan %s destination %s: %w", p.code, c, err)
			}
		}
		d.plans[p.code] = demoPlanRow{id: id, demoPlan: p}
	}
	return nil
}

// demoEmailAddress turns "María García" into maria.garcia@example.com.
func demoEmailAddress(name string) string {
	fold := strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ñ", "n", "'", "")
	parts := strings.Fields(strings.ToLower(fold.Replace(name)))
	return strings.Join(parts, ".") + "@example.com"
}

func (d *demoSeeder) insertSubscribers() ([]*demoAllocation, error) {
	sub, err := d.prepare(`INSERT INTO subscribers (account_number, name, email, phone, created_at) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	dom, err := d.prepare(`INSERT INTO domestic_plans (subscriber_id, name, kind, lines, since) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer dom.Close()
	var allocs []*demoAllocation
	for i, ds := range demoSubscribers {
		// Customers of one to five years; every home plan is older than any
		// demo line, so each line was allowed when it was given.
		created := d.now.AddDate(0, 0, -(400 + d.rng.IntN(1400))).Add(d.jitter(24 * time.Hour))
		email := demoEmailAddress(ds.name)
		phone := fmt.Sprintf("+1 %s 555 %04d", demoAreaCodes[i%len(demoAreaCodes)], 100+i)
		res, err := sub.ExecContext(d.ctx, ds.account, ds.name, email, phone, formatTime(created))
		if err != nil {
			return nil, fmt.Errorf("subscriber %s: %w", ds.account, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return nil, err
		}
		qualifying := 0
		for j, name := range ds.domestic {
			kind, lines, ok := demoDomesticKind(name)
			if !ok {
				return nil, fmt.Errorf("subscriber %s: unknown home plan %q", ds.account, name)
			}
			if kind != "other" {
				qualifying++
			}
			since := created.AddDate(0, 0, j*(60+d.rng.IntN(120)))
			if _, err := dom.ExecContext(d.ctx, id, name, kind, lines, formatTime(since)); err != nil {
				return nil, fmt.Errorf("subscriber %s home plan: %w", ds.account, err)
			}
		}
		if len(ds.lines) > qualifying {
			return nil, fmt.Errorf("subscriber %s: %d lines but %d qualifying plans", ds.account, len(ds.lines), qualifying)
		}
		for _, l := range ds.lines {
			allocs = append(allocs, &demoAllocation{sub: ds, subID: id, email: email, line: l})
		}
	}
	return allocs, nil
}

func demoDomesticKind(name string) (kind string, lines int, ok bool) {
	for _, p := range demoDomesticPlans {
		if p.name == name {
			return p.kind, p.lines, true
		}
	}
	return "", 0, false
}

// jitter is a random duration in [0, span), whole seconds.
func (d *demoSeeder) jitter(span time.Duration) time.Duration {
	return time.Duration(d.rng.Int64N(int64(span/time.Second))) * time.Second
}

// workTime is a time during an agent's shift, days before now.
func (d *demoSeeder) workTime(days int) time.Time {
	day := d.now.AddDate(0, 0, -days).Truncate(24 * time.Hour)
	return day.Add(14*time.Hour + d.jitter(8*time.Hour))
}

// orders works out the times of every demo plan and checks the rules the
// portal enforces: one profile per line, plans added after the line.
func (d *demoSeeder) orders(allocs []*demoAllocation) ([]*demoOrder, error) {
	var orders []*demoOrder
	for _, a := range allocs {
		if len(a.line.plans) == 0 {
			return nil, fmt.Errorf("line %s of %s has no plan", a.line.name, a.sub.account)
		}
		prev := -1
		for i, lp := range a.line.plans {
			p, ok := d.plans[lp.code]
			if !ok {
				return nil, fmt.Errorf("line %s of %s: unknown plan %s", a.line.name, a.sub.account, lp.code)
			}
			if i == 0 {
				a.profile = p.profile
			} else if p.profile != a.profile {
				return nil, fmt.Errorf("line %s of %s: plan %s is on profile %d, the line on %d",
					a.line.name, a.sub.account, lp.code, p.profile, a.profile)
			}
			if lp.added < 1 || (prev >= 0 && lp.added >= prev) || (lp.activated != 0 && lp.activated >= lp.added) {
				return nil, fmt.Errorf("line %s of %s: plan %s has its days out of order", a.line.name, a.sub.account, lp.code)
			}
			// Active plans activated within 25 days and expired ones over 36
			// days ago, so neither is near its 30-day end.
			if lp.activated != 0 && lp.activated > 25 && lp.activated < 37 {
				return nil, fmt.Errorf("line %s of %s: plan %s is too close to its end", a.line.name, a.sub.account, lp.code)
			}
			prev = lp.added
			o := &demoOrder{alloc: a, plan: p, addedAt: d.workTime(lp.added), in: lp.in, first: i == 0}
			if o.in == "" {
				o.in = a.line.country
			}
			if lp.activated != 0 && !slices.Contains(strings.Fields(p.countries), o.in) {
				return nil, fmt.Errorf("line %s of %s: plan %s does not cover %s", a.line.name, a.sub.account, lp.code, o.in)
			}
			if lp.activated != 0 {
				day := d.now.AddDate(0, 0, -lp.activated).Truncate(24 * time.Hour)
				o.activatedAt = day.Add(d.jitter(24 * time.Hour))
			}
			if i == 0 {
				a.allocatedAt = o.addedAt
			}
			orders = append(orders, o)
		}
	}
	sort.SliceStable(orders, func(i, j int) bool { return orders[i].addedAt.Before(orders[j].addedAt) })
	return orders, nil
}

func (d *demoSeeder) smdp(profile int) string {
	if profile == 7 {
		return "smdp-eu.esim-demo.example.com"
	}
	return "smdp.esim-demo.example.com"
}

// matchingID makes a code like K2-4F7A1-9Q2ZB-8C3D0, unique in the demo.
func (d *demoSeeder) matchingID() string {
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
	body := fmt.Sprintf("%s%02d%09d", demoICCIDPrefix, profile, serial)
	return body + string(LuhnDigit(body))
}

type demoStock struct {
	iccid, smdp, matchingID string
	profile                 int
	state                   string
	stockedAt               time.Time
	alloc                   *demoAllocation
}

// insertESIMs stocks the inventory. The free stock is handed out oldest
// first, so the allocated and retired eSIMs come from a delivery older than
// any free one, and earlier allocations got the older serials.
func (d *demoSeeder) insertESIMs(allocs []*demoAllocation) error {
	d.matchingIDs = map[string]bool{}
	var stock []demoStock
	for _, profile := range IMSIProfiles {
		var mine []*demoAllocation
		for _, a := range allocs {
			if a.profile == profile {
				mine = append(mine, a)
			}
		}
		sort.SliceStable(mine, func(i, j int) bool { return mine[i].allocatedAt.Before(mine[j].allocatedAt) })
		serial := 4_210_000 + 1000*profile
		oldBatch := d.now.AddDate(0, 0, -420).Truncate(24 * time.Hour).Add(15 * time.Hour)
		at := oldBatch
		for _, a := range mine {
			a.iccid, a.smdp, a.matchingID = demoICCID(profile, serial), d.smdp(profile), d.matchingID()
			stock = append(stock, demoStock{a.iccid, a.smdp, a.matchingID, profile, StateAllocated, at, a})
			serial++
			at = at.Add(time.Minute)
		}
		// One per profile failed its download test and was taken out of stock.
		stock = append(stock, demoStock{demoICCID(profile, serial), d.smdp(profile), d.matchingID(), profile, StateRetired, at, nil})
		serial++
		for b, days := range demoBatchDaysAgo {
			serial += 50 * (b + 1) // deliveries are not contiguous ranges
			at := d.now.AddDate(0, 0, -days).Truncate(24 * time.Hour).Add(13*time.Hour + d.jitter(3*time.Hour))
			for range demoFreePerProfile / demoBatches {
				stock = append(stock, demoStock{demoICCID(profile, serial), d.smdp(profile), d.matchingID(), profile, StateFree, at, nil})
				serial++
				at = at.Add(time.Minute + d.jitter(time.Minute))
			}
		}
	}
	sort.SliceStable(stock, func(i, j int) bool { return stock[i].stockedAt.Before(stock[j].stockedAt) })
	ins, err := d.prepare(`INSERT INTO esims (iccid, imsi_profile, smdp_address, matching_id, state, stocked_at,
		subscriber_id, line_name, allocated_at, allocated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, e := range stock {
		if err := CheckICCID(e.iccid); err != nil {
			return fmt.Errorf("ICCID %s: %w", e.iccid, err)
		}
		var sub, line, allocated, by any
		if a := e.alloc; a != nil {
			sub, line, allocated, by = a.subID, a.line.name, formatTime(a.allocatedAt), d.agentID
			if a.line.byLead {
				by = d.leadID
			}
		}
		if _, err := ins.ExecContext(d.ctx, e.iccid, e.profile, e.smdp, e.matchingID, e.state, formatTime(e.stockedAt),
			sub, line, allocated, by); err != nil {
			return fmt.Errorf("eSIM %s: %w", e.iccid, err)
		}
	}
	return nil
}

func (d *demoSeeder) by(a *demoAllocation) int64 {
	if a.line.byLead {
		return d.leadID
	}
	return d.agentID
}

// insertOrders puts the plans on the lines in the order they were sold, so
// ids and order numbers grow with time.
func (d *demoSeeder) insertOrders(orders []*demoOrder) error {
	ins, err := d.prepare(`INSERT INTO esim_plans (id, order_number, iccid, plan_id, state, added_at, added_by, activated_at, expires_at, data_bytes)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, (SELECT data_mb * 1000000 FROM plans WHERE id = ?4))`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for i, o := range orders {
		id := int64(i + 1)
		state, activated, expires := PlanQueued, any(nil), any(nil)
		if !o.activatedAt.IsZero() {
			exp := o.activatedAt.AddDate(0, 0, 30)
			state, activated, expires = PlanActive, formatTime(o.activatedAt), formatTime(exp)
			if !exp.After(d.now) {
				state = PlanExpired
			}
		}
		if _, err := ins.ExecContext(d.ctx, id, orderNumber(id, o.addedAt), o.alloc.iccid, o.plan.id, state,
			formatTime(o.addedAt), d.by(o.alloc), activated, expires); err != nil {
			return fmt.Errorf("order on %s: %w", o.alloc.iccid, err)
		}
		o.id = id
	}
	return nil
}

func demoFirstName(name string) string {
	first, _, _ := strings.Cut(name, " ")
	return first
}

func demoData(mb int) string { return Plan{DataMB: mb}.Data() }

// insertEmails writes the emails the demo sales sent: a QR code for every new
// line and an order confirmation for every plan, all delivered.
func (d *demoSeeder) insertEmails(orders []*demoOrder) error {
	ins, err := d.prepare(`INSERT INTO outbox (kind, subscriber_id, iccid, esim_plan_id, to_address, subject, text_body, html_body,
		message_id, state, attempts, next_attempt_at, queued_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'sent', 1, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	n := 0
	send := func(kind string, o *demoOrder, m Message) error {
		n++
		queued := o.addedAt
		sent := queued.Add(2*time.Second + d.jitter(20*time.Second))
		var planID any
		if kind == EmailConfirmation {
			planID = o.id
		}
		_, err := ins.ExecContext(d.ctx, kind, o.alloc.subID, o.alloc.iccid, planID, o.alloc.email, m.Subject, m.Text, m.HTML,
			fmt.Sprintf("<demo-%d@%s>", n, demoOutboxDomain), formatTime(queued), formatTime(queued), formatTime(sent))
		return err
	}
	for _, o := range orders {
		a := o.alloc
		first := demoFirstName(a.sub.name)
		if o.first {
			code := ActivationCode(a.smdp, a.matchingID)
			qr := Message{
				Subject: fmt.Sprintf("Your travel eSIM %q is ready to install", a.line.name),
				Text: fmt.Sprintf("Hi %s,\n\nYour travel eSIM %q is ready. Scan the QR code in this email with your phone's camera to install it.\n\n"+
					"Reading this on the phone itself? Add the eSIM by hand instead:\nSM-DP+ address: %s\nActivation code: %s\n\nICCID: %s\n",
					first, a.line.name, a.smdp, a.matchingID, a.iccid),
				HTML: fmt.Sprintf("<p>Hi %s,</p><p>Your travel eSIM <strong>%s</strong> is ready. Scan the QR code below with your phone's camera to install it.</p>"+
					"<p><code>%s</code></p><p>Reading this on the phone itself? Add the eSIM by hand instead:<br>SM-DP+ address: <code>%s</code><br>Activation code: <code>%s</code></p><p>ICCID: %s</p>",
					html.EscapeString(first), html.EscapeString(a.line.name), html.EscapeString(code),
					html.EscapeString(a.smdp), html.EscapeString(a.matchingID), a.iccid),
			}
			if err := send(EmailQR, o, qr); err != nil {
				return fmt.Errorf("QR email for %s: %w", a.iccid, err)
			}
		}
		num := orderNumber(o.id, o.addedAt)
		p := o.plan
		conf := Message{
			Subject: fmt.Sprintf("Order %s confirmed: %s", num, p.name),
			Text: fmt.Sprintf("Hi %s,\n\n%s (%s, %s) is now on your eSIM %q.\n\n"+
				"It starts by itself when your phone first connects to a network in its destination, and lasts 30 days from then.\n\nOrder: %s\n",
				first, p.name, demoData(p.dataMB), p.region, a.line.name, num),
			HTML: fmt.Sprintf("<p>Hi %s,</p><p><strong>%s</strong> (%s, %s) is now on your eSIM <strong>%s</strong>.</p>"+
				"<p>It starts by itself when your phone first connects to a network in its destination, and lasts 30 days from then.</p><p>Order: %s</p>",
				html.EscapeString(first), html.EscapeString(p.name), demoData(p.dataMB), html.EscapeString(p.region),
				html.EscapeString(a.line.name), num),
		}
		if err := send(EmailConfirmation, o, conf); err != nil {
			return fmt.Errorf("confirmation for %s: %w", num, err)
		}
	}
	return nil
}

func (d *demoSeeder) insertAudit(orders []*demoOrder) error {
	ins, err := d.prepare(`INSERT INTO audit_log (at, login_id, action, subscriber_id, iccid, detail) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, o := range orders {
		a := o.alloc
		action := "add_plan"
		detail := fmt.Sprintf("plan %s on line %q, order %s", o.plan.code, a.line.name, orderNumber(o.id, o.addedAt))
		if o.first {
			action = "add_line"
			detail = fmt.Sprintf("line %q with plan %s, order %s", a.line.name, o.plan.code, orderNumber(o.id, o.addedAt))
		}
		if _, err := ins.ExecContext(d.ctx, formatTime(o.addedAt), d.by(a), action, a.subID, a.iccid, detail); err != nil {
			return err
		}
	}
	return nil
}

// insertNetworkReports writes what the SM-DP+ and the networks reported, so
// each line's profile state agrees with its plans: installed soon after the
// QR email, enabled just before the first plan activated, and one attachment
// for every activation.
func (d *demoSeeder) insertNetworkReports(allocs []*demoAllocation, orders []*demoOrder) error {
	event, err := d.prepare(`INSERT INTO profile_events (iccid, event, at, received_at) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer event.Close()
	attach, err := d.prepare(`INSERT INTO attachments (iccid, country, mcc, attached_at, received_at) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer attach.Close()
	state, err := d.prepare(`UPDATE esims SET profile_state = ?, profile_state_at = ? WHERE iccid = ?`)
	if err != nil {
		return err
	}
	defer state.Close()
	for _, a := range allocs {
		if a.line.notInstalled {
			continue
		}
		var firstActivation time.Time
		for _, o := range orders {
			if o.alloc == a && !o.activatedAt.IsZero() && (firstActivation.IsZero() || o.activatedAt.Before(firstActivation)) {
				firstActivation = o.activatedAt
			}
		}
		downloaded := a.allocatedAt.Add(3*time.Minute + d.jitter(30*time.Minute))
		events := []struct {
			name string
			at   time.Time
		}{
			{"downloaded", downloaded},
			{"installed", downloaded.Add(20*time.Second + d.jitter(2*time.Minute))},
		}
		if !firstActivation.IsZero() {
			events = append(events, struct {
				name string
				at   time.Time
			}{"enabled", firstActivation.Add(-5*time.Minute - d.jitter(time.Hour))})
		}
		for _, e := range events {
			if _, err := event.ExecContext(d.ctx, a.iccid, e.name, formatTime(e.at), formatTime(e.at.Add(2*time.Second))); err != nil {
				return fmt.Errorf("profile event for %s: %w", a.iccid, err)
			}
		}
		last := events[len(events)-1]
		if _, err := state.ExecContext(d.ctx, last.name, formatTime(last.at), a.iccid); err != nil {
			return err
		}
	}
	for _, o := range orders {
		if o.activatedAt.IsZero() {
			continue
		}
		var mcc any
		if m, ok := demoMCC[o.in]; ok {
			mcc = m
		}
		if _, err := attach.ExecContext(d.ctx, o.alloc.iccid, o.in, mcc, formatTime(o.activatedAt),
			formatTime(o.activatedAt.Add(40*time.Second))); err != nil {
			return fmt.Errorf("attachment for %s: %w", o.alloc.iccid, err)
		}
	}
	return nil
}
