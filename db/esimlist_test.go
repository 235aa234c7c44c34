package db

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listFixture is the demo data set plus eSIMs made to test paging: many
// allocated at the very same millisecond, many delivered at the same one.
type listFixture struct {
	agent, lead Login
	tie         time.Time // the allocation time many eSIMs share
	tieICCIDs   []string
}

func fixtureICCID(profile, serial int) string {
	body := fmt.Sprintf("8901489%02d%09d", profile, serial)
	return body + string(LuhnDigit(body))
}

func newListStore(t *testing.T) (*Store, listFixture) {
	t.Helper()
	s := openTestStore(t)
	seedDemo(t, s)
	var fx listFixture
	for _, l := range mustAllocators(t, s) {
		switch l.Email {
		case DemoData.AgentEmail:
			fx.agent = l
		case DemoData.LeadEmail:
			fx.lead = l
		}
	}
	var subs []int64
	rows, err := s.read.Query(`SELECT id FROM subscribers ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		subs = append(subs, id)
	}
	rows.Close()
	fx.tie = time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	delivered := fx.tie.AddDate(0, 0, -30)
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := s.write.Exec(query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	profiles := []int{2, 7, 10}
	for i := range 130 {
		by := fx.agent.ID
		if i%4 == 0 {
			by = fx.lead.ID
		}
		iccid := fixtureICCID(profiles[i%3], i)
		fx.tieICCIDs = append(fx.tieICCIDs, iccid)
		// Every other line installed, some only downloaded, and some with
		// no report but seen by a network (installed all the same): the
		// install filter pages through every kind.
		var profileState, profileAt, attachedAt any
		switch i % 4 {
		case 0, 2:
			profileState, profileAt = ProfileEnabled, formatTime(fx.tie.Add(time.Hour))
		case 1:
			profileState, profileAt = ProfileDownloaded, formatTime(fx.tie.Add(time.Hour))
		}
		if i%16 == 3 || i%32 == 9 {
			attachedAt = formatTime(fx.tie.Add(2 * time.Hour))
		}
		exec(`INSERT INTO esims (iccid, imsi_profile, smdp_address, matching_id, state, stocked_at, subscriber_id, line_name, allocated_at, allocated_by,
				profile_state, profile_state_at, first_attached_at)
			VALUES (?, ?, 'smdp.test.example', ?, 'allocated', ?, ?, ?, ?, ?, ?, ?, ?)`,
			iccid, profiles[i%3], "T-"+strconv.Itoa(i), formatTime(delivered), subs[i%len(subs)], fmt.Sprintf("Trip %03d", i), formatTime(fx.tie), by,
			profileState, profileAt, attachedAt)
	}
	for i := range 87 {
		state := StateFree
		if i%7 == 3 {
			state = StateRetired
		}
		exec(`INSERT INTO esims (iccid, imsi_profile, smdp_address, matching_id, state, stocked_at) VALUES (?, ?, 'smdp.test.example', ?, ?, ?)`,
			fixtureICCID(profiles[i%3], 1000+i), profiles[i%3], "F-"+strconv.Itoa(i), state, formatTime(delivered))
	}
	// A free and a retired eSIM ending in the same four digits as an
	// allocated one: a search by those digits finds all three.
	target := fx.tieICCIDs[17]
	found := 0
	for serial := 2017; found < 2; serial += 1000 {
		iccid := fixtureICCID(7, serial)
		if iccid[len(iccid)-4:] != target[len(target)-4:] {
			continue
		}
		exec(`INSERT INTO esims (iccid, imsi_profile, smdp_address, matching_id, state, stocked_at) VALUES (?, 7, 'smdp.test.example', ?, ?, ?)`,
			iccid, "S-"+strconv.Itoa(serial), []string{StateFree, StateRetired}[found], formatTime(delivered))
		found++
	}
	// Some retired eSIMs were replaced: they point at another eSIM.
	exec(`UPDATE esims SET replaced_by = (SELECT min(iccid) FROM esims WHERE state = 'allocated'),
		retired_reason = 'replaced' WHERE state = 'retired' AND substr(iccid, -1) IN ('0','2','4','6','8')`)
	// The eSIMs went in behind the store's back: count them as a load does.
	if err := recountStock(context.Background(), s.write); err != nil {
		t.Fatal(err)
	}
	return s, fx
}

func mustAllocators(t *testing.T, s *Store) []Login {
	t.Helper()
	logins, err := s.Logins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return logins
}

// refESIM is an eSIM as the reference List below sees it.
type refESIM struct {
	iccid, state, stocked, allocated string
	profile                          int
	by                               int64
	name, email, line                string
	profileState                     string // "" before any report
	seen                             bool   // a network saw the phone
	replaced                         bool
}

func loadRef(t *testing.T, s *Store) []refESIM {
	t.Helper()
	rows, err := s.read.Query(`SELECT e.iccid, e.state, e.stocked_at, coalesce(e.allocated_at, ''), e.imsi_profile,
		coalesce(e.allocated_by, 0), coalesce(s.name, ''), coalesce(s.email, ''), coalesce(e.line_name, ''), coalesce(e.profile_state, ''),
		e.first_attached_at IS NOT NULL, e.replaced_by IS NOT NULL
		FROM esims e LEFT JOIN subscribers s ON s.id = e.subscriber_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []refESIM
	for rows.Next() {
		var r refESIM
		if err := rows.Scan(&r.iccid, &r.state, &r.stocked, &r.allocated, &r.profile, &r.by, &r.name, &r.email, &r.line, &r.profileState, &r.seen, &r.replaced); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// asciiLower folds case as SQLite's LIKE does: ASCII letters only.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// refList is the List worked out the slow, obvious way.
func refList(all []refESIM, f ListFilter) []string {
	var out []refESIM
	for _, r := range all {
		if f.State != "" && r.state != f.State || f.Profile != 0 && r.profile != f.Profile || f.By != 0 && r.by != f.By {
			continue
		}
		if !f.From.IsZero() && (r.allocated == "" || r.allocated < formatTime(f.From)) {
			continue
		}
		if !f.To.IsZero() && (r.allocated == "" || r.allocated >= formatTime(f.To.AddDate(0, 0, 1))) {
			continue
		}
		// Installed is past a download, or seen by a network; never
		// installed is the rest of the lines: free and retired eSIMs are
		// nobody's to install.
		installed := r.profileState != "" && r.profileState != ProfileDownloaded || r.seen
		if f.Installed != "" && (r.state != StateAllocated || installed != (f.Installed == InstalledYes)) {
			continue
		}
		if f.Retired != "" && (r.state != StateRetired || r.replaced != (f.Retired == RetiredReplaced)) {
			continue
		}
		switch f.search.kind {
		case searchDigits:
			if !strings.HasSuffix(r.iccid, f.search.value) {
				continue
			}
		case searchText:
			p := asciiLower(f.search.value)
			surname := r.name[strings.IndexByte(r.name, ' ')+1:]
			if r.state != StateAllocated || !(strings.HasPrefix(asciiLower(r.line), p) || strings.HasPrefix(asciiLower(r.name), p) ||
				strings.HasPrefix(asciiLower(surname), p) || strings.HasPrefix(asciiLower(r.email), p)) {
				continue
			}
		}
		out = append(out, r)
	}
	rank := map[string]int{StateAllocated: 0, StateFree: 1, StateRetired: 2}
	slices.SortFunc(out, func(a, b refESIM) int {
		if f.Sort == SortICCID {
			return strings.Compare(a.iccid, b.iccid)
		}
		if c := rank[a.state] - rank[b.state]; c != 0 {
			return c
		}
		ka, kb := a.allocated, b.allocated
		if a.state != StateAllocated {
			ka, kb = a.stocked, b.stocked
		}
		if c := strings.Compare(kb, ka); c != 0 {
			return c
		}
		return strings.Compare(b.iccid, a.iccid)
	})
	iccids := make([]string, len(out))
	for i, r := range out {
		iccids[i] = r.iccid
	}
	return iccids
}

func iccidsOf(rows []ListRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ICCID
	}
	return out
}

// walk pages through the whole List forwards, then back from the last page
// to the first, and checks both ways agree and never skip or repeat a row.
func walk(t *testing.T, s *Store, f ListFilter) (rows []string, count ListCount) {
	t.Helper()
	ctx := context.Background()
	var pages [][]string
	after := ""
	for i := 0; ; i++ {
		page, err := s.ESIMList(ctx, f, after, "")
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if i == 0 {
			count = page.Count
			if page.Prev != "" {
				t.Errorf("first page has a previous page")
			}
		} else if page.Prev == "" {
			t.Errorf("page %d has no previous page", i)
		}
		if len(page.Rows) > ListPageSize || page.Next != "" && len(page.Rows) != ListPageSize {
			t.Fatalf("page %d has %d rows", i, len(page.Rows))
		}
		pages = append(pages, iccidsOf(page.Rows))
		rows = append(rows, iccidsOf(page.Rows)...)
		if page.Next == "" {
			break
		}
		after = page.Next
		if i > 1000 {
			t.Fatal("the List does not end")
		}
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r] {
			t.Fatalf("ICCID %s on two pages", r)
		}
		seen[r] = true
	}
	// Back from the last page, page by page.
	last, err := s.ESIMList(ctx, f, after, "")
	if err != nil {
		t.Fatal(err)
	}
	before := last.Prev
	for i := len(pages) - 2; i >= 0; i-- {
		page, err := s.ESIMList(ctx, f, "", before)
		if err != nil {
			t.Fatalf("back to page %d: %v", i, err)
		}
		if got := iccidsOf(page.Rows); !slices.Equal(got, pages[i]) {
			t.Fatalf("back to page %d: got %d rows %v…, want %d rows %v…", i, len(got), head(got), len(pages[i]), head(pages[i]))
		}
		if (i == 0) != (page.Prev == "") {
			t.Fatalf("back to page %d: Prev = %q", i, page.Prev)
		}
		before = page.Prev
	}
	return rows, count
}

func head(s []string) []string { return s[:min(3, len(s))] }

func mustFilter(t *testing.T, in ListFilterInput) ListFilter {
	t.Helper()
	f, err := ParseListFilter(in)
	if err != nil {
		t.Fatalf("ParseListFilter(%+v): %v", in, err)
	}
	return f
}

func TestESIMList(t *testing.T) {
	s, fx := newListStore(t)
	all := loadRef(t, s)
	tieDay := fx.tie.Format(time.DateOnly)
	agent, lead := strconv.FormatInt(fx.agent.ID, 10), strconv.FormatInt(fx.lead.ID, 10)
	someICCID := fx.tieICCIDs[17]
	for _, tc := range []struct {
		name string
		in   ListFilterInput
	}{
		{"All", ListFilterInput{}},
		{"Free", ListFilterInput{State: "free"}},
		{"Allocated", ListFilterInput{State: "allocated"}},
		{"Retired", ListFilterInput{State: "retired"}},
		{"Profile", ListFilterInput{Profile: "7"}},
		{"FreeProfile", ListFilterInput{State: "free", Profile: "10"}},
		{"RetiredProfile", ListFilterInput{State: "retired", Profile: "2"}},
		{"FromTo", ListFilterInput{From: tieDay, To: tieDay}},
		{"From", ListFilterInput{From: time.Now().AddDate(0, 0, -30).Format(time.DateOnly)}},
		{"To", ListFilterInput{To: tieDay}},
		{"By", ListFilterInput{By: lead}},
		{"ByAgentProfile", ListFilterInput{By: agent, Profile: "10"}},
		{"ICCIDSuffix", ListFilterInput{Q: someICCID[len(someICCID)-4:]}},
		{"ICCIDSuffixFree", ListFilterInput{Q: someICCID[len(someICCID)-4:], State: "free"}},
		{"ICCIDGrouped", ListFilterInput{Q: someICCID[len(someICCID)-8:len(someICCID)-4] + " " + someICCID[len(someICCID)-4:]}},
		{"WholeICCID", ListFilterInput{Q: someICCID}},
		{"LineName", ListFilterInput{Q: "trip 0"}},
		{"SubscriberName", ListFilterInput{Q: "María"}},
		{"Surname", ListFilterInput{Q: "garc"}},
		{"Email", ListFilterInput{Q: "maria.garcia@"}},
		{"NoMatch", ListFilterInput{Q: "zzzz"}},
		{"FreeBy", ListFilterInput{State: "free", By: agent}},
		{"Everything", ListFilterInput{State: "allocated", Profile: "7", From: tieDay, To: tieDay, By: agent, Q: "trip"}},
		{"SortICCID", ListFilterInput{Sort: SortICCID}},
		{"SortICCIDFiltered", ListFilterInput{Sort: SortICCID, State: "allocated", Profile: "2", Q: "trip"}},
		{"SortICCIDBy", ListFilterInput{Sort: SortICCID, By: lead, From: tieDay}},
		{"SortICCIDDays", ListFilterInput{Sort: SortICCID, From: tieDay, To: tieDay, Profile: "7"}},
		{"NeverInstalled", ListFilterInput{Installed: InstalledNo}},
		{"Installed", ListFilterInput{Installed: InstalledYes}},
		{"NeverInstalledDays", ListFilterInput{Installed: InstalledNo, From: tieDay, To: tieDay}},
		{"NeverInstalledProfile", ListFilterInput{Installed: InstalledNo, Profile: "10"}},
		{"NeverInstalledBy", ListFilterInput{Installed: InstalledNo, By: lead}},
		{"NeverInstalledSearch", ListFilterInput{Installed: InstalledNo, Q: "trip 1"}},
		{"InstalledProfile", ListFilterInput{Installed: InstalledYes, Profile: "7", State: "allocated"}},
		{"InstalledFree", ListFilterInput{Installed: InstalledYes, State: "free"}},
		{"RetiredReplaced", ListFilterInput{Retired: RetiredReplaced}},
		{"RetiredOther", ListFilterInput{Retired: RetiredOther}},
		{"RetiredReplacedProfile", ListFilterInput{Retired: RetiredReplaced, Profile: "7"}},
		{"RetiredOtherByICCID", ListFilterInput{Retired: RetiredOther, Sort: SortICCID}},
		{"RetiredReplacedDigits", ListFilterInput{Retired: RetiredReplaced, Q: "0002"}},
		{"InstalledICCIDSuffix", ListFilterInput{Installed: InstalledNo, Q: someICCID[len(someICCID)-4:]}},
		{"SortICCIDNeverInstalled", ListFilterInput{Sort: SortICCID, Installed: InstalledNo}},
		{"SortICCIDInstalledDays", ListFilterInput{Sort: SortICCID, Installed: InstalledYes, From: "2025-01-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFilter(t, tc.in)
			want := refList(all, f)
			plans := []searchPlan{collectMatches}
			if f.search.kind == searchText || f.byICCIDOverDays() {
				plans = []searchPlan{collectMatches, walkWithSet, walkWithLookup}
			}
			for _, plan := range plans {
				forceSearchPlan(t, s, plan)
				got, count := walk(t, s, f)
				if !slices.Equal(got, want) {
					t.Fatalf("plan %d: got %d eSIMs, want %d\n got %v\nwant %v", plan, len(got), len(want), got, want)
				}
				if count.Known && count.N != len(want) {
					t.Errorf("plan %d: count = %d, want %d", plan, count.N, len(want))
				}
				if !count.Known && plan == collectMatches {
					t.Errorf("count unknown for a filter that is cheap to count")
				}
			}
		})
	}
	t.Run("FixtureIsInstalledAndNot", func(t *testing.T) {
		// The install filter's cases mean something only if some lines of
		// each kind are on more than one page.
		for _, in := range []ListFilterInput{{Installed: InstalledYes}, {Installed: InstalledNo}} {
			if n := len(refList(all, mustFilter(t, in))); n <= ListPageSize {
				t.Errorf("%+v: %d eSIMs, want more than a page", in, n)
			}
		}
	})
	t.Run("FixtureIsPaged", func(t *testing.T) {
		// The test above crosses pages inside a run of equal times only if
		// the run is longer than a page.
		if len(fx.tieICCIDs) <= 2*ListPageSize {
			t.Fatalf("only %d eSIMs share a time", len(fx.tieICCIDs))
		}
	})
}

// forceSearchPlan makes every text search of the test take one plan.
func forceSearchPlan(t *testing.T, s *Store, plan searchPlan) {
	t.Helper()
	saved := s.listLimits
	t.Cleanup(func() { s.listLimits = saved })
	switch plan {
	case collectMatches:
		s.listLimits = &listLimits{collectSubscribers: 1 << 30, collectLines: 1 << 30, gatherSubscribers: 1 << 30, sortAllocations: 1 << 30}
	case walkWithSet:
		s.listLimits = &listLimits{collectSubscribers: -1, collectLines: -1, gatherSubscribers: 1 << 30, sortAllocations: -1}
	case walkWithLookup:
		s.listLimits = &listLimits{collectSubscribers: -1, collectLines: -1, gatherSubscribers: -1, sortAllocations: -1}
	}
}

// A text search finds the same eSIMs whichever way it takes.
func TestESIMListSearchPlans(t *testing.T) {
	s, _ := newListStore(t)
	ctx := context.Background()
	for _, q := range []string{"trip", "María", "garc", "e", "maria.garcia@", "Trip 1"} {
		for _, in := range []ListFilterInput{{Q: q}, {Q: q, Profile: "7"}, {Q: q, Sort: SortICCID}, {Q: q, By: "2", Sort: SortICCID}} {
			f := mustFilter(t, in)
			args := f.args(s.Now())
			var first []listKey
			for _, plan := range []searchPlan{collectMatches, walkWithSet, walkWithLookup} {
				keys, err := s.listKeys(ctx, f, plan, f.parts(), nil, false, args, 0)
				if err != nil {
					t.Fatal(err)
				}
				if plan == collectMatches {
					first = keys
				} else if !slices.Equal(keys, first) {
					t.Errorf("%+v: plan %d finds %d keys, collecting finds %d", in, plan, len(keys), len(first))
				}
			}
		}
	}
}

func TestParseListFilter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    ListFilterInput
		field string // "" when valid
	}{
		{"Empty", ListFilterInput{}, ""},
		{"State", ListFilterInput{State: "lost"}, "state"},
		{"Profile", ListFilterInput{Profile: "3"}, "profile"},
		{"ProfileText", ListFilterInput{Profile: "seven"}, "profile"},
		{"From", ListFilterInput{From: "01/02/2026"}, "from"},
		{"To", ListFilterInput{To: "2026-02-30"}, "to"},
		{"ToBeforeFrom", ListFilterInput{From: "2026-03-02", To: "2026-03-01"}, "to"},
		{"SameDay", ListFilterInput{From: "2026-03-01", To: "2026-03-01"}, ""},
		{"By", ListFilterInput{By: "lead"}, "by"},
		{"ByZero", ListFilterInput{By: "0"}, "by"},
		{"ShortDigits", ListFilterInput{Q: "123"}, "q"},
		{"LongDigits", ListFilterInput{Q: "890148000000000000000"}, "q"},
		{"FourDigits", ListFilterInput{Q: " 1234 "}, ""},
		{"TooLong", ListFilterInput{Q: strings.Repeat("a", MaxListSearchLen+1)}, "q"},
		{"Sort", ListFilterInput{Sort: "name"}, "sort"},
		{"Installed", ListFilterInput{Installed: "maybe"}, "installed"},
		{"NeverInstalled", ListFilterInput{Installed: " no "}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseListFilter(tc.in)
			if tc.field == "" {
				if err != nil {
					t.Errorf("err = %v, want none", err)
				}
				return
			}
			errs := Refusals(err)
			if len(errs) != 1 || errs[0].Field != tc.field || errs[0].Code != ErrInvalid || errs[0].Message == "" {
				t.Errorf("err = %#v, want one refusal of %s", errs, tc.field)
			}
		})
	}
	t.Run("EveryField", func(t *testing.T) {
		_, err := ParseListFilter(ListFilterInput{Q: "12", State: "lost", From: "yesterday", To: "2026-02-30", Sort: "name"})
		var fields []string
		for _, e := range Refusals(err) {
			fields = append(fields, e.Field)
		}
		if want := []string{"q", "state", "from", "to", "sort"}; !slices.Equal(fields, want) {
			t.Errorf("refused fields %v, want %v", fields, want)
		}
	})
}

func TestESIMListCursor(t *testing.T) {
	s, _ := newListStore(t)
	ctx := context.Background()
	first, err := s.ESIMList(ctx, ListFilter{}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for name, cursor := range map[string]string{
		"Garbage":    "not a cursor",
		"Base64":     "aGVsbG8",
		"OtherOrder": listKey{part: 'i', iccid: "8901480000000000000"}.cursor(),
		"BadTime":    listKey{part: 'a', key: "yesterday", iccid: "8901480000000000000"}.cursor(),
		"Injection":  listKey{part: 'a', key: formatTime(time.Now()), iccid: "1' OR '1'='1"}.cursor(),
	} {
		t.Run(name, func(t *testing.T) {
			page, err := s.ESIMList(ctx, ListFilter{}, cursor, "")
			if err != nil {
				t.Fatalf("err = %v, want the first page with a notice", err)
			}
			if page.Notice != staleCursorNotice {
				t.Errorf("notice %q, want %q", page.Notice, staleCursorNotice)
			}
			if !slices.Equal(iccidsOf(page.Rows), iccidsOf(first.Rows)) {
				t.Errorf("a bad cursor did not give the first page")
			}
		})
	}
}

func TestESIMListRow(t *testing.T) {
	s, fx := newListStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	s.Now = func() time.Time { return now }
	var planID int64
	s.read.QueryRow(`SELECT id FROM plans WHERE imsi_profile = 2 ORDER BY id LIMIT 1`).Scan(&planID)
	type plan struct {
		state          string
		activated, exp time.Time
	}
	day := 24 * time.Hour
	pending := plan{state: PlanQueued}
	active := plan{state: PlanActive, activated: now.Add(-2 * day), exp: now.Add(28 * day)}
	lapsed := plan{state: PlanActive, activated: now.Add(-31 * day), exp: now.Add(-day)} // active as stored, over by now
	expired := plan{state: PlanExpired, activated: now.Add(-90 * day), exp: now.Add(-60 * day)}
	for i, tc := range []struct {
		name      string
		plans     []plan
		current   int // index of the current plan; -1 for none
		wantState string
	}{
		{"NoPlans", nil, -1, ""},
		{"ActiveFirst", []plan{expired, pending, active}, 2, PlanActive},
		{"PendingWhenNoneActive", []plan{expired, lapsed, pending, pending}, 2, PlanQueued},
		{"LastExpired", []plan{expired, lapsed}, 1, PlanExpired},
		{"FirstActive", []plan{active, active}, 0, PlanActive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iccid := fx.tieICCIDs[3+i*3] // profile 2
			// Each plan its own allowance, so the row shows which one it chose.
			for j, p := range tc.plans {
				var act, exp any
				if !p.activated.IsZero() {
					act, exp = formatTime(p.activated), formatTime(p.exp)
				}
				if _, err := s.write.Exec(`INSERT INTO esim_plans (order_number, iccid, plan_id, state, added_at, activated_at, expires_at, data_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
					fmt.Sprintf("T-%s-%d", tc.name, j), iccid, planID, p.state, formatTime(now.Add(-100*day)), act, exp, (j+1)*1000000); err != nil {
					t.Fatal(err)
				}
			}
			page, err := s.ESIMList(ctx, mustFilter(t, ListFilterInput{Q: iccid}), "", "")
			if err != nil || len(page.Rows) != 1 {
				t.Fatalf("ESIMList: %v, %d rows", err, len(page.Rows))
			}
			r := page.Rows[0]
			if r.Plans != len(tc.plans) || r.CurrentPlanState != tc.wantState || (tc.current >= 0) != (r.CurrentPlan != "") {
				t.Errorf("plans %d, current %q %q; want %d plans, current state %q", r.Plans, r.CurrentPlan, r.CurrentPlanState, len(tc.plans), tc.wantState)
			}
			// The same choice as the eSIM's own page makes plan by plan.
			e, err := s.ESIM(ctx, iccid)
			if err != nil {
				t.Fatal(err)
			}
			if tc.current >= 0 && r.CurrentPlanData != int64(tc.current+1)*1000000 {
				t.Errorf("the row's current plan has %d bytes: not plan %d", r.CurrentPlanData, tc.current)
			}
			if tc.current >= 0 && e.Plans[tc.current].StateAt(now) != r.CurrentPlanState {
				t.Errorf("current plan state %q, its StateAt says %q", r.CurrentPlanState, e.Plans[tc.current].StateAt(now))
			}
			if r.SubscriberName == "" || r.LineName == "" || r.AllocatedBy == "" || !r.AllocatedAt.Equal(fx.tie) {
				t.Errorf("row %+v lacks its allocation", r)
			}
		})
	}
}

func TestExportESIMs(t *testing.T) {
	s, fx := newListStore(t)
	ctx := context.Background()
	// Line names a spreadsheet would run as a formula: plainly, in fullwidth,
	// and behind a zero-width space.
	formulas := map[string]string{fx.tieICCIDs[0]: `=HYPERLINK("x")`, fx.tieICCIDs[1]: "＝1+1", fx.tieICCIDs[2]: "\u200b@SUM(A1)"}
	for iccid, name := range formulas {
		if _, err := s.write.Exec(`UPDATE esims SET line_name = ? WHERE iccid = ?`, name, iccid); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range []ListFilterInput{{}, {State: "free", Profile: "7"}, {Q: "trip"}, {By: strconv.FormatInt(fx.lead.ID, 10), Sort: SortICCID}} {
		t.Run(fmt.Sprintf("%+v", in), func(t *testing.T) {
			f := mustFilter(t, in)
			var buf bytes.Buffer
			flushes := 0
			if err := s.ExportESIMs(ctx, f, &buf, func() { flushes++ }); err != nil {
				t.Fatal(err)
			}
			records, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(records[0], ExportHeader) {
				t.Fatalf("header %v", records[0])
			}
			var got []string
			for _, r := range records[1:] {
				got = append(got, r[0])
				if r[3] != "" {
					if _, err := time.Parse(time.RFC3339, r[3]); err != nil || !strings.HasSuffix(r[3], "Z") {
						t.Errorf("stocked_at %q is not RFC 3339 UTC", r[3])
					}
				}
				if name, ok := formulas[r[0]]; ok && r[6] != "'"+name {
					t.Errorf("line name %q exported as %q", name, r[6])
				}
			}
			want, _ := walk(t, s, f)
			if !slices.Equal(got, want) {
				t.Errorf("export has %d rows, the List %d", len(got), len(want))
			}
			if flushes < len(got)/exportFlushRows {
				t.Errorf("%d flushes for %d rows", flushes, len(got))
			}
		})
	}
}

func TestListIndexesUsed(t *testing.T) {
	s, _ := newListStore(t)
	// Each filter reads the index it names: a plan SQLite cannot make with
	// the index it was told to use fails here.
	for _, in := range []ListFilterInput{{}, {Profile: "7"}, {State: "free", Profile: "7"}, {State: "retired"}, {State: "retired", Profile: "2"},
		{By: "1", From: "2026-01-01"}, {By: "1", Profile: "2"}, {Q: "1234"}, {Q: "trip"}, {Q: "trip", Profile: "10"},
		{Sort: SortICCID}, {Sort: SortICCID, State: "free"}, {Sort: SortICCID, Profile: "7"}, {Sort: SortICCID, By: "1"},
		{Sort: SortICCID, Q: "trip"}, {Sort: SortICCID, Q: "1234", State: "allocated"}, {Sort: SortICCID, From: "2026-01-01", By: "1"}} {
		f := mustFilter(t, in)
		for _, how := range []searchPlan{collectMatches, walkWithSet, walkWithLookup} {
			for _, part := range []byte(f.parts()) {
				p := f.plan(part, how)
				query := `EXPLAIN QUERY PLAN SELECT ` + cmpOr(p.key, "''") + `, e.iccid` + p.from() + p.where(p.after(false)) + p.order(false) + ` LIMIT 51`
				rows, err := s.read.Query(query, append(f.args(time.Now()), namedCursor()...)...)
				if err != nil {
					t.Fatalf("%+v part %c: %v", in, part, err)
				}
				var plan []string
				for rows.Next() {
					var id, parent, unused int
					var detail string
					rows.Scan(&id, &parent, &unused, &detail)
					plan = append(plan, detail)
				}
				rows.Close()
				text := strings.Join(plan, "; ")
				if strings.Contains(text, "SCAN e ") && !strings.Contains(text, "INDEX") {
					t.Errorf("%+v part %c reads the whole table: %s", in, part, text)
				}
				if p.scan && strings.Contains(text, "TEMP B-TREE FOR ORDER BY") {
					t.Errorf("%+v part %c sorts instead of walking its index: %s", in, part, text)
				}
			}
		}
	}
}

func namedCursor() []any {
	return []any{sql.Named("cursor_key", formatTime(time.Now())), sql.Named("cursor_iccid", "8901480000000000000")}
}
