package demo

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
)

// ScaleOptions sizes the scale data set.
type ScaleOptions struct {
	ESIMs       int
	Subscribers int
	// Seed makes the data set reproducible; the same seed and sizes give the
	// same data.
	Seed uint64
}

// ScaleReport says what SeedScale added.
type ScaleReport struct {
	Subscribers int
	Logins      int
	Free        int
	Allocated   int
	Retired     int
	LinePlans   int
}

// scaleICCIDPrefix keeps scale eSIMs apart from the demo ones (8901480…).
const scaleICCIDPrefix = "8901481"

// scaleSpan is how far back the scale data's history goes.
const scaleSpan = 2 * 365 * 24 * time.Hour

// SeedScale fills a new or demo database with a large, realistic data set, to
// measure the portal with: subscribers with qualifying home plans, an
// inventory delivered in batches over two years and handed out oldest first
// by a dozen agents, lines with their plans. It loads the demo data set into
// a new database first, refuses any other than a demo database, so made-up
// data never lands in a real one, and loads everything in one change
// through Store.Load. It writes no audit entries and no emails.
func SeedScale(ctx context.Context, s *db.Store, opt ScaleOptions) (ScaleReport, error) {
	if opt.ESIMs < 0 || opt.Subscribers < 0 {
		return ScaleReport{}, fmt.Errorf("sizes must not be negative")
	}
	if opt.ESIMs > 99_000_000 {
		return ScaleReport{}, fmt.Errorf("at most 99,000,000 eSIMs")
	}
	if _, err := Seed(ctx, s); err != nil {
		return ScaleReport{}, err
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	names, err := lineNames()
	if err != nil {
		return ScaleReport{}, err
	}
	sc := &scaler{s: s, ctx: ctx, opt: opt, now: s.Now().UTC(), rng: rand.New(rand.NewPCG(opt.Seed, 7)), lineNames: names}
	err = s.Load(ctx, func(l *db.Loader) error {
		sc.l = l
		return sc.run()
	})
	if err != nil {
		return ScaleReport{}, fmt.Errorf("scale data: %w", err)
	}
	return sc.report, nil
}

type scaler struct {
	s      *db.Store
	ctx    context.Context
	l      *db.Loader
	opt    ScaleOptions
	now    time.Time
	rng    *rand.Rand
	report ScaleReport

	lineNames map[int][]string
	logins    []int64           // who allocates, busiest first
	plans     map[int][]int64   // sellable plan ids by IMSI profile
	dataBytes map[int64]int64   // each plan's allowance
	where     map[int64]string  // a destination of each plan, where its data is used
	price     map[int64]db.Plan // each plan, for the price its orders keep
	subIDs    []int64
	subLines  [][]string // line names each subscriber holds so far
}

// scaleAlloc is one allocation: which subscriber, when, by whom.
type scaleAlloc struct {
	at      int64 // unix milliseconds
	sub     int32 // index into subIDs
	by      int16 // index into logins
	profile int8
	line    string
}

// scaleESIM is one eSIM of the inventory, in ICCID order.
type scaleESIM struct {
	stocked int64 // unix milliseconds
	alloc   int32 // index into allocations + 1; 0 when not allocated
	retired bool
}

func (sc *scaler) run() error {
	// Checked in the load's own change, under the write lock.
	demo, err := sc.l.HasLogin(LeadEmail)
	if err != nil {
		return err
	}
	if !demo {
		return fmt.Errorf("this database is not a demo database: scale data goes only into a new or demo database")
	}
	scaled, err := sc.l.HasICCIDPrefix(scaleICCIDPrefix)
	if err != nil {
		return err
	}
	if scaled {
		return fmt.Errorf("this database already holds a scale data set")
	}
	if err := sc.loadPlans(); err != nil {
		return err
	}
	if err := sc.insertLogins(); err != nil {
		return err
	}
	capacity, err := sc.insertSubscribers()
	if err != nil {
		return err
	}
	allocs := sc.allocations(capacity)
	stock := sc.stock(allocs)
	if err := sc.insertESIMs(stock, allocs); err != nil {
		return err
	}
	return sc.insertLinePlans(stock, allocs)
}

// loadPlans finds the plans on sale, by IMSI profile, in catalog order.
func (sc *scaler) loadPlans() error {
	plans, err := sc.s.Plans(sc.ctx, false)
	if err != nil {
		return err
	}
	slices.SortFunc(plans, func(a, b db.Plan) int { return cmp.Compare(a.ID, b.ID) })
	sc.plans, sc.dataBytes, sc.where, sc.price = map[int][]int64{}, map[int64]int64{}, map[int64]string{}, map[int64]db.Plan{}
	for _, p := range plans {
		sc.price[p.ID] = p
		sc.plans[p.IMSIProfile] = append(sc.plans[p.IMSIProfile], p.ID)
		sc.dataBytes[p.ID] = int64(p.DataMB) * db.BytesPerMB
		sc.where[p.ID] = p.Destinations[0]
	}
	for _, p := range db.IMSIProfiles {
		if len(sc.plans[p]) == 0 {
			return fmt.Errorf("no plan of profile %d is sold", p)
		}
	}
	return nil
}

var scaleFirstNames = []string{
	"María", "Hannah", "Mateo", "Priya", "Fatima", "Tom", "Kenji", "Aisha", "Ryan", "James", "Chloé", "Sofia",
	"Daniel", "Ahmed", "Ana", "Ethan", "Olivia", "Zoe", "Lukas", "Samuel", "Amara", "Elena", "Wei", "Noah",
	"Liam", "Isabella", "Yuki", "Carlos", "Grace", "Nadia", "Oluwaseun", "Sarah", "Jonas", "Mia", "Arjun",
	"Lucía", "Omar", "Emma", "Hiroshi", "Leila", "Marco", "Nora", "Pedro", "Rosa", "Sven", "Tariq", "Uma",
	"Victor", "Yara", "Zainab", "Bruno", "Camille", "Diego", "Eva", "Felix", "Gabriel", "Ines", "Jakub",
}

var scaleLastNames = []string{
	"García", "Kim", "Silva", "Raman", "Al-Sayed", "Becker", "Watanabe", "Bello", "Patel", "O'Connor",
	"Dubois", "Rossi", "Cohen", "Hassan", "Sousa", "Nguyen", "Chen", "Papadopoulos", "Schneider", "Mensah",
	"Okafor", "Petrova", "Williams", "Murphy", "Martínez", "Tanaka", "Mendoza", "Thompson", "Haddad",
	"Adeyemi", "Johnson", "Larsen", "Novak", "Fischer", "Moreau", "Ivanova", "Kowalski", "Yilmaz", "Santos",
	"Müller", "Jensen", "Costa", "Ortiz", "Bianchi", "Sato", "Ali", "Singh", "Brown", "Lopez", "Wilson",
}

var scaleLoginNames = []string{
	"Priya Shah", "Tom Okoro", "Lena Vogel", "Sam Rivera", "Mei Lin", "Jonas Berg", "Aylin Demir",
	"Chris Walker", "Nina Petrov", "Omar Aziz", "Julia Costa", "Ben Harris", "Rita Mendes",
}

// scalePlaces are where the scale data's customers travel, by the IMSI
// profile of the plans that go there: countries, which lines are named
// after, and regions of the catalog, for trips to several countries.
var scalePlaces = map[int][]string{
	7:  {"FR", "ES", "IT", "DE", "Europe", "GB", "TR", "GR", "PT", "NL", "CH", "IE", "HR", "AT"},
	10: {"JP", "TH", "Asia", "KR", "VN", "AU", "SG", "ID", "PH", "NZ", "TW", "MY"},
	2:  {"US", "CA", "MX", "Americas", "BR", "Global", "AR", "CL", "CO", "PE", "ZA", "AE"},
}

// lineNames are the names agents give lines, by IMSI profile: a country's
// name as the portal shows it, or a region, as Add line takes them.
func lineNames() (map[int][]string, error) {
	out := map[int][]string{}
	for profile, places := range scalePlaces {
		for _, p := range places {
			name := p
			if rules.KnownCountry(p) {
				name = rules.CountryName(p)
			}
			// The longest a name gets: with the number lineName adds.
			if _, err := db.CleanLineName(name + " 99"); err != nil {
				return nil, fmt.Errorf("line name %q: %w", name, err)
			}
			out[profile] = append(out[profile], name)
		}
	}
	return out, nil
}

// scaleProfileShare is how the inventory splits across IMSI profiles: Europe
// sells best.
var scaleProfileShare = map[int]float64{2: 0.30, 7: 0.45, 10: 0.25}

func (sc *scaler) insertLogins() error {
	created := sc.now.Add(-scaleSpan - 30*24*time.Hour)
	for i, name := range scaleLoginNames {
		role := db.RoleAgent
		if i%5 == 4 {
			role = db.RoleLead
		}
		email := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + ".scale@example.com"
		// These logins exist to have allocated eSIMs and can never sign in.
		if err := sc.l.Login(db.LoginRow{Email: email, Name: name, Role: role, CreatedAt: created}); err != nil {
			return err
		}
	}
	sc.report.Logins = len(scaleLoginNames)
	var err error
	sc.logins, err = sc.l.Logins()
	return err
}

// insertSubscribers adds the subscribers with their home plans and returns
// how many complimentary eSIMs each may hold.
func (sc *scaler) insertSubscribers() ([]int8, error) {
	n := sc.opt.Subscribers
	domains := []string{"example.com", "example.net", "example.org"}
	// Qualifying home plans per subscriber: most have one to four.
	qualifyingShare := []float64{0.08, 0.20, 0.22, 0.20, 0.15, 0.10, 0.05}
	capacity := make([]int8, n)
	sc.subIDs = make([]int64, n)
	sc.subLines = make([][]string, n)
	fold := strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ñ", "n", "ü", "u", "'", "")
	subs := make([]db.NewSubscriber, n)
	for i := range n {
		fn := scaleFirstNames[sc.rng.IntN(len(scaleFirstNames))]
		ln := scaleLastNames[sc.rng.IntN(len(scaleLastNames))]
		email := fmt.Sprintf("%s.%s.%d@%s", fold.Replace(strings.ToLower(fn)), fold.Replace(strings.ToLower(ln)), i, domains[i%len(domains)])
		created := sc.now.Add(-scaleSpan - time.Duration(sc.rng.Int64N(int64(3*365*24*time.Hour))))
		phone := fmt.Sprintf("+1 %s 555 %04d", areaCodes[i%len(areaCodes)], i%10000)
		subs[i] = db.NewSubscriber{Subscriber: db.Subscriber{AccountNumber: fmt.Sprintf("AC-%07d", 2_000_000+i), Name: fn + " " + ln,
			Email: email, Phone: phone}, Since: created}
	}
	// The home plans are drawn after all the subscribers, as the data set
	// has always been drawn: the same seed gives the same data.
	for i := range n {
		sub := &subs[i]
		q := pick(sc.rng, qualifyingShare)
		capacity[i] = int8(q)
		for j := range q {
			p := homePlans[sc.rng.IntN(5)] // the five qualifying kinds
			if j == 0 && sc.rng.IntN(2) == 0 {
				p = homePlans[0]
			}
			sub.Home = append(sub.Home, db.DomesticPlan{Name: p.name, Kind: p.kind, Lines: p.lines, Since: sub.Since.Add(time.Duration(j) * 24 * time.Hour)})
		}
		if q == 0 || sc.rng.IntN(4) == 0 {
			p := homePlans[5+sc.rng.IntN(3)]
			sub.Home = append(sub.Home, db.DomesticPlan{Name: p.name, Kind: p.kind, Lines: p.lines, Since: sub.Since})
		}
	}
	for i, sub := range subs {
		id, err := sc.l.Subscriber(sub)
		if err != nil {
			return nil, err
		}
		sc.subIDs[i] = id
	}
	sc.report.Subscribers = n
	return capacity, nil
}

// pick returns an index drawn with the given shares.
func pick(rng *rand.Rand, shares []float64) int {
	x := rng.Float64()
	for i, s := range shares {
		if x < s {
			return i
		}
		x -= s
	}
	return len(shares) - 1
}

// allocations decides every allocation: a slot of a subscriber's allowance,
// a time in the last two years (busier lately), an agent, a line name.
func (sc *scaler) allocations(capacity []int8) []scaleAlloc {
	var slots []int32
	for i, c := range capacity {
		for range c {
			slots = append(slots, int32(i))
		}
	}
	sc.rng.Shuffle(len(slots), func(i, j int) { slots[i], slots[j] = slots[j], slots[i] })
	n := min(int(float64(sc.opt.ESIMs)*0.30), len(slots)*9/10)
	allocs := make([]scaleAlloc, n)
	start := sc.now.Add(-scaleSpan).UnixMilli()
	span := scaleSpan.Milliseconds() - int64(2*time.Hour/time.Millisecond)
	// Agents' shares of the work: a few do most of it.
	byShare := make([]float64, len(sc.logins))
	total := 0.0
	for i := range byShare {
		byShare[i] = 1 / float64(i+1)
		total += byShare[i]
	}
	for i := range byShare {
		byShare[i] /= total
	}
	profiles := []int{2, 7, 10}
	profileShare := []float64{scaleProfileShare[2], scaleProfileShare[7], scaleProfileShare[10]}
	for i := range allocs {
		// sqrt skews towards now: the service grew.
		at := start + int64(math.Sqrt(sc.rng.Float64())*float64(span))
		profile := profiles[pick(sc.rng, profileShare)]
		sub := slots[i]
		allocs[i] = scaleAlloc{at: at, sub: sub, by: int16(pick(sc.rng, byShare)), profile: int8(profile),
			line: sc.lineName(sub, profile)}
	}
	sort.Slice(allocs, func(i, j int) bool { return allocs[i].at < allocs[j].at })
	return allocs
}

// lineName picks a name the subscriber's lines do not use yet.
func (sc *scaler) lineName(sub int32, profile int) string {
	names := sc.lineNames[profile]
	taken := sc.subLines[sub]
	name := ""
	for try := 0; ; try++ {
		name = names[sc.rng.IntN(len(names))]
		if try >= 8 {
			name = fmt.Sprintf("%s %d", name, try)
		}
		free := true
		for _, t := range taken {
			if strings.EqualFold(t, name) {
				free = false
			}
		}
		if free {
			break
		}
	}
	sc.subLines[sub] = append(taken, name)
	return name
}

// stock delivers the inventory in batches every four weeks, each batch at
// least what the next four weeks hand out, and hands eSIMs out oldest first;
// a few of each batch fail their download test and are retired.
func (sc *scaler) stock(allocs []scaleAlloc) map[int][]scaleESIM {
	const period = 28 * 24 * time.Hour
	start := sc.now.Add(-scaleSpan - period)
	batches := int(scaleSpan/period) + 2
	out := map[int][]scaleESIM{}
	for _, profile := range db.IMSIProfiles {
		var mine []int
		for i, a := range allocs {
			if int(a.profile) == profile {
				mine = append(mine, i)
			}
		}
		want := int(float64(sc.opt.ESIMs) * scaleProfileShare[profile])
		if profile == 10 { // the rounding remainder
			want = sc.opt.ESIMs - len(out[2]) - len(out[7])
		}
		want = max(want, len(mine))
		spare := want - len(mine)
		stock := make([]scaleESIM, 0, want)
		var queue []int32 // stock positions not handed out yet, oldest first
		next := 0         // next allocation of mine
		for b := range batches {
			at := start.Add(time.Duration(b) * period)
			until := at.Add(period).UnixMilli()
			last := b == batches-1
			demand := 0
			for k := next; k < len(mine) && (last || allocs[mine[k]].at < until); k++ {
				demand++
			}
			extra := spare / batches
			if last {
				extra = want - len(stock) - demand
			}
			size := demand + extra
			retire := extra / 30
			delivered := at.Add(13*time.Hour + time.Duration(sc.rng.Int64N(int64(3*time.Hour)))).UnixMilli()
			for k := range size {
				e := scaleESIM{stocked: delivered}
				// Selection sampling: exactly retire of the batch, anywhere in it.
				if retire > 0 && sc.rng.IntN(size-k) < retire {
					e.retired = true
					retire--
				} else {
					queue = append(queue, int32(len(stock)))
				}
				stock = append(stock, e)
				delivered += 1000 * (1 + sc.rng.Int64N(3))
			}
			for ; next < len(mine) && (last || allocs[mine[next]].at < until) && len(queue) > 0; next++ {
				a := &allocs[mine[next]]
				e := &stock[queue[0]]
				e.alloc = int32(mine[next] + 1)
				// Handed out the day it arrived: not before it arrived.
				if a.at <= e.stocked {
					a.at = e.stocked + int64(time.Hour/time.Millisecond)
				}
				queue = queue[1:]
			}
		}
		out[profile] = stock
	}
	return out
}

func scaleICCID(profile, serial int) string {
	body := fmt.Sprintf("%s%02d%09d", scaleICCIDPrefix, profile, serial)
	return body + string(db.LuhnDigit(body))
}

// scaleMatchingID is unique for each serial: the first ten characters are a
// bijection of (profile, serial), the rest is random.
func (sc *scaler) scaleMatchingID(profile, serial int) string {
	const alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789" // 34 characters
	const space = 2_064_377_754_059_776                // 34^10
	// n is below 3·10^9, so n times the multiplier fits in 64 bits; and
	// multiplying by a number coprime with 34 permutes 0..34^10-1.
	in := uint64(slices.Index(db.IMSIProfiles, profile))*1_000_000_000 + uint64(serial)
	x := in * 1_000_000_007 % space
	var b [20]byte
	n := 0
	for i := range 10 {
		if i == 2 || i == 7 {
			b[n] = '-'
			n++
		}
		b[n] = alnum[x%34]
		x /= 34
		n++
	}
	b[n] = '-'
	n++
	for range 5 {
		b[n] = alnum[sc.rng.IntN(34)]
		n++
	}
	return string(b[:n])
}

func (sc *scaler) insertESIMs(stock map[int][]scaleESIM, allocs []scaleAlloc) error {
	for _, profile := range db.IMSIProfiles { // ICCID order: the profile is part of it
		smdp := smdpAddress(profile) // the demo's SM-DP+ hosts
		for serial, e := range stock[profile] {
			r := db.ESIMRow{ICCID: scaleICCID(profile, serial), IMSIProfile: profile, SMDPAddress: smdp,
				MatchingID: sc.scaleMatchingID(profile, serial), State: db.StateFree, StockedAt: time.UnixMilli(e.stocked)}
			switch {
			case e.alloc > 0:
				a := allocs[e.alloc-1]
				r.State, r.SubscriberID, r.LineName, r.AllocatedAt, r.AllocatedBy = db.StateAllocated, sc.subIDs[a.sub], a.line, time.UnixMilli(a.at), sc.logins[a.by]
				sc.report.Allocated++
			case e.retired:
				r.State = db.StateRetired
				sc.report.Retired++
			default:
				sc.report.Free++
			}
			if err := sc.l.ESIM(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// insertLinePlans puts one to four plans on each allocated eSIM: the first
// came with the line, the others were top-ups; each activated some days after
// it was added, unless it is still waiting, and lasted 30 days. A started
// plan used some of its data, one in seven all of it before its end: one
// usage record says so, charged to it, so plans and records agree as the
// rules of db/usage.go would have them.
func (sc *scaler) insertLinePlans(stock map[int][]scaleESIM, allocs []scaleAlloc) error {
	records := 0
	const day = 24 * time.Hour
	for _, profile := range db.IMSIProfiles {
		plans := sc.plans[profile]
		for serial, e := range stock[profile] {
			if e.alloc == 0 {
				continue
			}
			a := allocs[e.alloc-1]
			iccid := scaleICCID(profile, serial)
			added := time.UnixMilli(a.at).UTC()
			by := sc.logins[a.by]
			for n := 0; n < 4; n++ {
				r := db.LinePlanRow{ICCID: iccid, State: db.PlanQueued, AddedAt: added, AddedBy: by}
				act := added.Add(day + time.Duration(sc.rng.Int64N(int64(20*day))))
				// Recent plans may still wait for the trip; older ones all started.
				if act.Before(sc.now) && (sc.now.Sub(added) > 60*day || sc.rng.IntN(3) > 0) {
					r.State, r.ActivatedAt, r.ExpiresAt = db.PlanActive, act, act.Add(30*day)
					if !r.ExpiresAt.After(sc.now) {
						r.State = db.PlanExpired
					}
				}
				p := plans[sc.rng.IntN(len(plans))]
				r.PlanID, r.DataBytes, r.PriceCents, r.Currency = p, sc.dataBytes[p], sc.price[p].PriceCents, sc.price[p].Currency
				var from, to time.Time // of the plan's usage record
				if r.State != db.PlanQueued {
					r.UsedBytes = sc.dataBytes[p] * int64(5+sc.rng.IntN(90)) / 100
					from, to = act, act.Add(time.Hour)
					if end := act.Add(time.Duration(1+sc.rng.IntN(28)) * day); sc.rng.IntN(7) == 0 && end.Before(sc.now) {
						r.State, r.UsedBytes, r.EndedAt = db.PlanUsedUp, sc.dataBytes[p], end
						from, to = end.Add(-time.Hour), end
					}
				}
				id, err := sc.l.LinePlan(r)
				if err != nil {
					return err
				}
				if r.State != db.PlanQueued {
					records++
					if err := sc.l.Usage(db.UsageRow{RecordID: fmt.Sprintf("scale-%d", records), ICCID: iccid, Country: sc.where[p],
						Bytes: r.UsedBytes, Start: from, End: to, ReceivedAt: to, LinePlanID: id}); err != nil {
						return err
					}
				}
				sc.report.LinePlans++
				next := added.Add(20*day + time.Duration(sc.rng.Int64N(int64(200*day))))
				if r.State == db.PlanQueued || !next.Before(sc.now) || sc.rng.IntN(10) < 6 {
					break
				}
				added, by = next, sc.logins[sc.rng.IntN(len(sc.logins))]
			}
		}
	}
	return nil
}
