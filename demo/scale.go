package demo

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/carrier/esim-admin/db"
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
// data never lands in a real one, and inserts everything in one change
// through Store.Bulk. It writes no audit entries and no emails.
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
	sc := &scaler{s: s, opt: opt, now: s.Now().UTC(), rng: rand.New(rand.NewPCG(opt.Seed, 7)), lineNames: names}
	err = s.Bulk(ctx, func(ctx context.Context, tx *sql.Tx) error {
		sc.ctx, sc.tx = ctx, tx
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
	tx     *sql.Tx
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
	var demo, scaled bool
	if err := sc.tx.QueryRowContext(sc.ctx, `SELECT EXISTS (SELECT 1 FROM logins WHERE email = ?),
		EXISTS (SELECT 1 FROM esims WHERE iccid >= ? AND iccid < ?)`,
		LeadEmail, scaleICCIDPrefix, scaleICCIDPrefix+"a").Scan(&demo, &scaled); err != nil {
		return err
	}
	if !demo {
		return fmt.Errorf("this database is not a demo database: scale data goes only into a new or demo database")
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
	// Building an index once, sorted, is many times faster than keeping it
	// up to date through a million random inserts: the bulk tables' indexes
	// are dropped for the load and made again from their stored definitions,
	// in the same transaction. UNIQUE indexes recheck every row as they are made.
	indexes, err := sc.dropIndexes("subscribers", "domestic_plans", "esims", "esim_plans", "usage_records", "usage_charges")
	if err != nil {
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
	if err := sc.insertLinePlans(stock, allocs); err != nil {
		return err
	}
	// No ANALYZE: a real database has no statistics either, and the List's
	// queries must be measured as SQLite plans them there.
	for _, create := range indexes {
		if _, err := sc.tx.ExecContext(sc.ctx, create); err != nil {
			return fmt.Errorf("%s: %w", create, err)
		}
	}
	return nil
}

// dropIndexes drops the indexes of tables that have a definition of their
// own (not those of a PRIMARY KEY or UNIQUE column) and returns the
// statements that make them again.
func (sc *scaler) dropIndexes(tables ...string) ([]string, error) {
	var names, creates []string
	for _, table := range tables {
		rows, err := sc.tx.QueryContext(sc.ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`, table)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name, create string
			if err := rows.Scan(&name, &create); err != nil {
				rows.Close()
				return nil, err
			}
			names, creates = append(names, name), append(creates, create)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, name := range names {
		if _, err := sc.tx.ExecContext(sc.ctx, `DROP INDEX "`+strings.ReplaceAll(name, `"`, `""`)+`"`); err != nil {
			return nil, err
		}
	}
	return creates, nil
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
			if db.KnownCountry(p) {
				name = db.CountryName(p)
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
	ins, err := newBatchInsert(sc.ctx, sc.tx, "logins", "email, name, role, password_hash, created_at", 5, 32)
	if err != nil {
		return err
	}
	defer ins.close()
	created := db.FormatTime(sc.now.Add(-scaleSpan - 30*24*time.Hour))
	for i, name := range scaleLoginNames {
		role := db.RoleAgent
		if i%5 == 4 {
			role = db.RoleLead
		}
		email := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + ".scale@example.com"
		// Not a bcrypt hash: these logins exist to have allocated eSIMs and
		// can never sign in.
		if err := ins.add(email, name, role, "!scale-data-no-sign-in", created); err != nil {
			return err
		}
	}
	if err := ins.flush(); err != nil {
		return err
	}
	sc.report.Logins = len(scaleLoginNames)
	rows, err := sc.tx.QueryContext(sc.ctx, `SELECT id FROM logins WHERE disabled_at IS NULL ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		sc.logins = append(sc.logins, id)
	}
	return rows.Err()
}

// insertSubscribers adds the subscribers with their home plans and returns
// how many complimentary eSIMs each may hold.
func (sc *scaler) insertSubscribers() ([]int8, error) {
	n := sc.opt.Subscribers
	var first int64
	if err := sc.tx.QueryRowContext(sc.ctx, `SELECT coalesce(max(id), 0) + 1 FROM subscribers`).Scan(&first); err != nil {
		return nil, err
	}
	subs, err := newBatchInsert(sc.ctx, sc.tx, "subscribers", "id, account_number, name, email, phone, created_at", 6, 100)
	if err != nil {
		return nil, err
	}
	defer subs.close()
	dom, err := newBatchInsert(sc.ctx, sc.tx, "domestic_plans", "subscriber_id, name, kind, lines, since", 5, 100)
	if err != nil {
		return nil, err
	}
	defer dom.close()
	domains := []string{"example.com", "example.net", "example.org"}
	// Qualifying home plans per subscriber: most have one to four.
	qualifyingShare := []float64{0.08, 0.20, 0.22, 0.20, 0.15, 0.10, 0.05}
	capacity := make([]int8, n)
	sc.subIDs = make([]int64, n)
	sc.subLines = make([][]string, n)
	fold := strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ñ", "n", "ü", "u", "'", "")
	created := make([]time.Time, n)
	for i := range n {
		id := first + int64(i)
		sc.subIDs[i] = id
		fn := scaleFirstNames[sc.rng.IntN(len(scaleFirstNames))]
		ln := scaleLastNames[sc.rng.IntN(len(scaleLastNames))]
		email := fmt.Sprintf("%s.%s.%d@%s", fold.Replace(strings.ToLower(fn)), fold.Replace(strings.ToLower(ln)), i, domains[i%len(domains)])
		created[i] = sc.now.Add(-scaleSpan - time.Duration(sc.rng.Int64N(int64(3*365*24*time.Hour))))
		phone := fmt.Sprintf("+1 %s 555 %04d", areaCodes[i%len(areaCodes)], i%10000)
		if err := subs.add(id, fmt.Sprintf("AC-%07d", 2_000_000+i), fn+" "+ln, email, phone, db.FormatTime(created[i])); err != nil {
			return nil, err
		}
	}
	if err := subs.flush(); err != nil {
		return nil, err
	}
	// Home plans after all subscribers: a foreign key needs its parent first.
	for i := range n {
		id := sc.subIDs[i]
		q := pick(sc.rng, qualifyingShare)
		capacity[i] = int8(q)
		for j := range q {
			p := homePlans[sc.rng.IntN(5)] // the five qualifying kinds
			if j == 0 && sc.rng.IntN(2) == 0 {
				p = homePlans[0]
			}
			if err := dom.add(id, p.name, p.kind, p.lines, db.FormatTime(created[i].Add(time.Duration(j)*24*time.Hour))); err != nil {
				return nil, err
			}
		}
		if q == 0 || sc.rng.IntN(4) == 0 {
			p := homePlans[5+sc.rng.IntN(3)]
			if err := dom.add(id, p.name, p.kind, p.lines, db.FormatTime(created[i])); err != nil {
				return nil, err
			}
		}
	}
	sc.report.Subscribers = n
	return capacity, dom.flush()
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
	ins, err := newBatchInsert(sc.ctx, sc.tx, "esims",
		"iccid, imsi_profile, smdp_address, matching_id, state, stocked_at, subscriber_id, line_name, allocated_at, allocated_by", 10, 100)
	if err != nil {
		return err
	}
	defer ins.close()
	for _, profile := range db.IMSIProfiles { // ICCID order: the profile is part of it
		smdp := smdpAddress(profile) // the demo's SM-DP+ hosts
		for serial, e := range stock[profile] {
			state := db.StateFree
			var sub, line, at, by any
			switch {
			case e.alloc > 0:
				a := allocs[e.alloc-1]
				state, sub, line, at, by = db.StateAllocated, sc.subIDs[a.sub], a.line, db.FormatTime(time.UnixMilli(a.at)), sc.logins[a.by]
				sc.report.Allocated++
			case e.retired:
				state = db.StateRetired
				sc.report.Retired++
			default:
				sc.report.Free++
			}
			if err := ins.add(scaleICCID(profile, serial), profile, smdp, sc.scaleMatchingID(profile, serial), state,
				db.FormatTime(time.UnixMilli(e.stocked)), sub, line, at, by); err != nil {
				return err
			}
		}
	}
	return ins.flush()
}

// insertLinePlans puts one to four plans on each allocated eSIM: the first
// came with the line, the others were top-ups; each activated some days after
// it was added, unless it is still waiting, and lasted 30 days. A started
// plan used some of its data, one in seven all of it before its end: one
// usage record says so, charged to it, so plans and records agree as the
// rules of db/usage.go would have them.
func (sc *scaler) insertLinePlans(stock map[int][]scaleESIM, allocs []scaleAlloc) error {
	var id int64
	if err := sc.tx.QueryRowContext(sc.ctx, `SELECT coalesce(max(id), 0) FROM esim_plans`).Scan(&id); err != nil {
		return err
	}
	ins, err := newBatchInsert(sc.ctx, sc.tx, "esim_plans",
		"id, order_number, iccid, plan_id, state, added_at, added_by, activated_at, expires_at, data_bytes, used_bytes, ended_at, price_cents, currency", 14, 70)
	if err != nil {
		return err
	}
	defer ins.close()
	var recordID int64
	if err := sc.tx.QueryRowContext(sc.ctx, `SELECT coalesce(max(id), 0) FROM usage_records`).Scan(&recordID); err != nil {
		return err
	}
	records, err := newBatchInsert(sc.ctx, sc.tx, "usage_records",
		"id, record_id, iccid, country, bytes, start_at, end_at, uncovered_bytes, received_at", 9, 100)
	if err != nil {
		return err
	}
	defer records.close()
	charges, err := newBatchInsert(sc.ctx, sc.tx, "usage_charges", "usage_record, esim_plan_id, bytes", 3, 300)
	if err != nil {
		return err
	}
	defer charges.close()
	// A charge refers to its record and its plan, which may still wait in
	// their batches: they go first, so every key is there when it is checked.
	// (Deferring the checks instead costs a scan of the charges for each plan
	// written while any is missing: minutes at a million eSIMs.)
	charges.parents = []*batchInsert{ins, records}
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
				id++
				state, activated, expires := db.PlanQueued, any(nil), any(nil)
				act := added.Add(day + time.Duration(sc.rng.Int64N(int64(20*day))))
				// Recent plans may still wait for the trip; older ones all started.
				if act.Before(sc.now) && (sc.now.Sub(added) > 60*day || sc.rng.IntN(3) > 0) {
					exp := act.Add(30 * day)
					state, activated, expires = db.PlanActive, db.FormatTime(act), db.FormatTime(exp)
					if !exp.After(sc.now) {
						state = db.PlanExpired
					}
				}
				p := plans[sc.rng.IntN(len(plans))]
				var used int64
				var ended any
				var from, to time.Time // of the plan's usage record
				if state != db.PlanQueued {
					used = sc.dataBytes[p] * int64(5+sc.rng.IntN(90)) / 100
					from, to = act, act.Add(time.Hour)
					if end := act.Add(time.Duration(1+sc.rng.IntN(28)) * day); sc.rng.IntN(7) == 0 && end.Before(sc.now) {
						state, used, ended = db.PlanUsedUp, sc.dataBytes[p], db.FormatTime(end)
						from, to = end.Add(-time.Hour), end
					}
				}
				if err := ins.add(id, db.OrderNumber(id, added), iccid, p, state,
					db.FormatTime(added), by, activated, expires, sc.dataBytes[p], used, ended, sc.price[p].PriceCents, sc.price[p].Currency); err != nil {
					return err
				}
				if state != db.PlanQueued {
					recordID++
					if err := records.add(recordID, fmt.Sprintf("scale-%d", recordID), iccid, sc.where[p], used, db.FormatTime(from),
						db.FormatTime(to), 0, db.FormatTime(to)); err != nil {
						return err
					}
					if err := charges.add(recordID, id, used); err != nil {
						return err
					}
				}
				sc.report.LinePlans++
				next := added.Add(20*day + time.Duration(sc.rng.Int64N(int64(200*day))))
				if state == db.PlanQueued || !next.Before(sc.now) || sc.rng.IntN(10) < 6 {
					break
				}
				added, by = next, sc.logins[sc.rng.IntN(len(sc.logins))]
			}
		}
	}
	return charges.flush()
}

// batchInsert inserts rows many at a time through one prepared statement:
// per-statement overhead, not SQLite, is what limits a bulk load.
type batchInsert struct {
	ctx     context.Context
	tx      *sql.Tx
	table   string
	columns string
	width   int
	rows    int
	stmt    *sql.Stmt
	args    []any
	parents []*batchInsert // rows these rows refer to: written first
}

func newBatchInsert(ctx context.Context, tx *sql.Tx, table, columns string, width, rows int) (*batchInsert, error) {
	b := &batchInsert{ctx: ctx, tx: tx, table: table, columns: columns, width: width, rows: rows}
	var err error
	b.stmt, err = tx.PrepareContext(ctx, b.query(rows))
	b.args = make([]any, 0, width*rows)
	return b, err
}

func (b *batchInsert) query(rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", b.width), ",") + ")"
	return "INSERT INTO " + b.table + " (" + b.columns + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

func (b *batchInsert) add(values ...any) error {
	if len(values) != b.width {
		return fmt.Errorf("%s: %d values for %d columns", b.table, len(values), b.width)
	}
	b.args = append(b.args, values...)
	if len(b.args) < b.width*b.rows {
		return nil
	}
	if err := b.flushParents(); err != nil {
		return err
	}
	_, err := b.stmt.ExecContext(b.ctx, b.args...)
	b.args = b.args[:0]
	if err != nil {
		return fmt.Errorf("%s: %w", b.table, err)
	}
	return nil
}

func (b *batchInsert) flush() error {
	if err := b.flushParents(); err != nil {
		return err
	}
	if len(b.args) == 0 {
		return nil
	}
	_, err := b.tx.ExecContext(b.ctx, b.query(len(b.args)/b.width), b.args...)
	b.args = b.args[:0]
	if err != nil {
		return fmt.Errorf("%s: %w", b.table, err)
	}
	return nil
}

func (b *batchInsert) flushParents() error {
	for _, p := range b.parents {
		if err := p.flush(); err != nil {
			return err
		}
	}
	return nil
}

func (b *batchInsert) close() { b.stmt.Close() }
