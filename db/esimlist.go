package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The eSIM List: every eSIM of the inventory, filtered, searched and paged.
//
// Paging is by keyset, never OFFSET: a cursor holds the sort key of the row
// a page ends on, and the next page is an index seek from there, so a page
// 10,000 rows deep costs what the first one does. The default order is
// newest allocation first (allocated_at DESC, iccid DESC); free eSIMs have
// no allocation time, so they follow the allocated ones, then the retired
// ones, each newest delivery first (stocked_at DESC, iccid DESC). Each of
// those three parts of the List is read through its own index; a cursor
// names the part it is in. The other order is by ICCID, ascending.
//
// The queries are put together from fixed fragments, one per filter, and
// every value the user typed is a bound parameter. The fragments name the
// index to read (INDEXED BY) because SQLite, without statistics, cannot know
// which index a filter narrows best, and a wrong guess costs a full scan.

// ListPageSize is how many eSIMs one page of the List shows.
const ListPageSize = 50

// ListCountCap is where the List stops counting matches; past it, it says
// "more than 10,000".
const ListCountCap = 10_000

// listCountScan bounds the index entries a count reads when the filter
// leaves some checks to be made entry by entry.
const listCountScan = 30_000

// How a text search finds its eSIMs. A search matching few subscribers and
// line names collects its matches and sorts them; a broader one walks the
// List in order and keeps the eSIMs that match, which then come often
// enough to fill a page soon. The walk tests each eSIM against the matching
// subscribers gathered once, unless so many match that gathering them costs
// more than looking up the subscriber of each eSIM walked past.
type searchPlan int

const (
	collectMatches searchPlan = iota
	walkWithSet
	walkWithLookup
)

// The limits between the plans; variables so tests can force each plan.
// sortAllocations makes the same choice for the List in ICCID order over
// some days: up to that many allocations, each page sorts the days'
// allocations (collectMatches); past it, it walks the allocated eSIMs in
// ICCID order. The walk alone would be slow for a few days: eSIMs are handed
// out oldest first, so the ICCIDs of a month sit together, and the walk
// would pass most allocated eSIMs before it reached them.
var (
	collectSubscribers = 300
	collectLines       = 1000
	gatherSubscribers  = 5000
	sortAllocations    = 5_000
)

// The List's orders.
const (
	SortNewest = ""      // newest allocation first; then free, then retired eSIMs, newest delivery first
	SortICCID  = "iccid" // ICCID, ascending
)

// ListFilterInput is the List's filter as typed into its form, which is the
// page's URL query: a team lead can share the link.
type ListFilterInput struct {
	State, Profile, From, To, By, Q, Sort string
}

// ListFilter is a checked filter of the List.
type ListFilter struct {
	State   string    // free, allocated, retired; "" for any
	Profile int       // IMSI profile; 0 for any
	From    time.Time // first day of allocation (UTC); zero when open
	To      time.Time // last day of allocation, inclusive; zero when open
	By      int64     // the login that allocated; 0 for anyone
	Q       string    // the search as typed, trimmed
	Sort    string    // SortNewest or SortICCID
	search  search
}

type searchKind int

const (
	searchNone   searchKind = iota
	searchDigits            // an ICCID, or its last digits
	searchText              // the start of a subscriber's name, surname or email, or of a line name
)

type search struct {
	kind  searchKind
	value string
}

// MaxListSearchLen is the longest search the List takes, in characters.
const MaxListSearchLen = 100

// ParseListFilter checks a filter as typed; it returns the messages for the
// fields it refuses, by field name.
func ParseListFilter(in ListFilterInput) (ListFilter, map[string]string) {
	var f ListFilter
	errs := map[string]string{}
	switch state := strings.TrimSpace(in.State); state {
	case "", StateFree, StateAllocated, StateRetired:
		f.State = state
	default:
		errs["state"] = "Choose free, allocated or retired."
	}
	if p := strings.TrimSpace(in.Profile); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || !ValidIMSIProfile(n) {
			errs["profile"] = "The IMSI profile must be 2, 7 or 10."
		} else {
			f.Profile = n
		}
	}
	var ok bool
	if f.From, ok = parseDay(in.From); !ok {
		errs["from"] = "Enter the date as YYYY-MM-DD, for example 2026-03-01."
	}
	if f.To, ok = parseDay(in.To); !ok {
		errs["to"] = "Enter the date as YYYY-MM-DD, for example 2026-03-31."
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		errs["to"] = "The end date is before the start date."
	}
	if by := strings.TrimSpace(in.By); by != "" {
		id, err := strconv.ParseInt(by, 10, 64)
		if err != nil || id <= 0 {
			errs["by"] = "Choose a person from the list."
		} else {
			f.By = id
		}
	}
	f.Q = strings.TrimSpace(in.Q)
	if utf8.RuneCountInString(f.Q) > MaxListSearchLen {
		errs["q"] = fmt.Sprintf("The search is too long: at most %d characters.", MaxListSearchLen)
	} else if msg := f.parseSearch(); msg != "" {
		errs["q"] = msg
	}
	switch in.Sort {
	case SortNewest, SortICCID:
		f.Sort = in.Sort
	default:
		errs["sort"] = "Choose an order from the list."
	}
	return f, errs
}

func parseDay(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}

// parseSearch reads the search box: digits (spaces and dashes allowed, as
// ICCIDs are often written in groups) are the end of an ICCID; anything else
// is the start of a name, surname, email or line name.
func (f *ListFilter) parseSearch() string {
	if f.Q == "" {
		return ""
	}
	compact := strings.NewReplacer(" ", "", "-", "").Replace(f.Q)
	if compact != "" && onlyDigits(compact) == compact {
		switch n := len(compact); {
		case n < 4:
			return "Type at least the last 4 digits of an ICCID."
		case n > 20:
			return "An ICCID has at most 20 digits."
		}
		f.search = search{searchDigits, compact}
		return ""
	}
	f.search = search{searchText, f.Q}
	return ""
}

// allocatedOnly reports whether only allocated eSIMs can match.
func (f ListFilter) allocatedOnly() bool {
	return !f.From.IsZero() || !f.To.IsZero() || f.By != 0 || f.search.kind == searchText
}

// parts returns the parts of the List the filter can match, in list order:
// a(llocated), f(ree), r(etired), or i (everything, by ICCID).
func (f ListFilter) parts() string {
	if f.Sort == SortICCID {
		return "i"
	}
	switch f.State {
	case StateAllocated:
		return "a"
	case StateFree, StateRetired:
		if f.allocatedOnly() {
			return ""
		}
		return f.State[:1]
	}
	if f.allocatedOnly() {
		return "a"
	}
	return "afr"
}

// args are the filter's values, by the names the fragments use.
func (f ListFilter) args(now time.Time) []any {
	var to string
	if !f.To.IsZero() {
		to = formatTime(f.To.AddDate(0, 0, 1))
	}
	var last4 string
	if f.search.kind == searchDigits {
		last4 = f.search.value[len(f.search.value)-4:]
	}
	return []any{
		sql.Named("profile", f.Profile),
		sql.Named("by", f.By),
		sql.Named("from", formatTime(f.From)),
		sql.Named("to", to),
		sql.Named("digits", f.search.value),
		sql.Named("last4", last4),
		sql.Named("prefix", escapeLike(strings.ToLower(f.search.value))+"%"),
		sql.Named("now", formatTime(now)),
	}
}

// textMatch is a search for the start of a line name or of a subscriber's
// name, surname (what follows the first space) or email. Each is an index
// range; LIKE is case-insensitive for ASCII.
func textMatch(how searchPlan) string {
	if how == walkWithLookup {
		return `(e.line_name LIKE :prefix ESCAPE '\' OR EXISTS (SELECT 1 FROM subscribers s WHERE s.id = e.subscriber_id AND (` + subscriberLike + `)))`
	}
	return `(e.line_name LIKE :prefix ESCAPE '\' OR e.subscriber_id IN (SELECT s.id FROM subscribers s WHERE ` + subscriberLike + `))`
}

const subscriberLike = `s.name LIKE :prefix ESCAPE '\' OR substr(s.name, instr(s.name, ' ') + 1) LIKE :prefix ESCAPE '\'
	OR s.email LIKE :prefix ESCAPE '\'`

// partPlan is how one part of the List is read.
type partPlan struct {
	part  byte
	index string   // INDEXED BY this index; "" lets SQLite choose
	seek  []string // conditions the index seeks on
	check []string // conditions checked entry by entry
	key   string   // the sort column before the ICCID; "" in ICCID order
	// scan is set when the index is walked in list order: the page then
	// ends as soon as it is full.
	scan bool
}

func (f ListFilter) plan(part byte, how searchPlan) partPlan {
	var search []string
	switch f.search.kind {
	case searchDigits:
		search = []string{`substr(e.iccid, -4) = :last4`, `substr(e.iccid, -length(:digits)) = :digits`}
	case searchText:
		search = []string{textMatch(how)}
	}
	var profile []string
	if f.Profile != 0 {
		profile = []string{`e.imsi_profile = :profile`}
	}
	var allocation []string // by whom and when, in the order an index seeks on them
	if f.By != 0 {
		allocation = append(allocation, `e.allocated_by = :by`)
	}
	if !f.From.IsZero() {
		allocation = append(allocation, `e.allocated_at >= :from`)
	}
	if !f.To.IsZero() {
		allocation = append(allocation, `e.allocated_at < :to`)
	}
	p := partPlan{part: part}
	switch part {
	case 'i':
		state := f.State
		if state == "" && f.allocatedOnly() {
			state = StateAllocated
		}
		switch {
		case f.search.kind == searchDigits:
			p.index, p.seek = "esims_list_iccid_last4", search[:1]
			p.check = slices.Concat(search[1:], profile, allocation)
			if state != "" {
				p.check = append(p.check, `e.state = '`+state+`'`) // one of three constants
			}
		case f.collects(how):
			p.seek = slices.Concat(search, profile, allocation)
		case how == collectMatches && f.byICCIDOverDays():
			// Each page reads the days' allocations and keeps the first
			// ICCIDs past the cursor.
			p.index, p.seek = "esims_list_allocated", f.days()
			p.check = slices.Concat(profile, allocation)
			if state != "" {
				p.check = append(p.check, `e.state = '`+state+`'`) // one of three constants
			}
		case state != "":
			p.index, p.scan = "esims_list_iccid", true
			p.seek, p.check = []string{`e.state = '` + state + `'`}, slices.Concat(profile, allocation, search)
		default:
			// The table itself is in ICCID order.
			p.index, p.scan, p.check = "sqlite_autoindex_esims_1", true, profile
		}
		return p
	case 'a':
		p.key = "e.allocated_at"
		switch {
		case f.search.kind == searchDigits:
			p.index, p.seek = "esims_list_iccid_last4", search[:1]
			p.check = slices.Concat([]string{`e.allocated_at IS NOT NULL`}, search[1:], profile, allocation)
		case f.collects(how):
			p.seek = slices.Concat(search, profile, allocation)
		case f.By != 0:
			p.index, p.scan = "esims_list_by", true
			p.seek, p.check = allocation, slices.Concat(profile, search)
		case f.Profile != 0 && f.search.kind == searchNone:
			p.index, p.scan = "esims_list_profile", true
			p.seek = slices.Concat(profile, []string{`e.allocated_at IS NOT NULL`}, allocation)
		default:
			p.index, p.scan = "esims_list_allocated", true
			p.seek, p.check = append([]string{`e.allocated_at IS NOT NULL`}, allocation...), slices.Concat(profile, search)
		}
		return p
	}
	// Free or retired: the state is a literal, so the partial index
	// esims_free (WHERE state = 'free') can serve it.
	state := `e.state = 'free'`
	if part == 'r' {
		state = `e.state = 'retired'`
	}
	p.key = "e.stocked_at"
	switch {
	case f.search.kind == searchDigits:
		p.index, p.seek, p.check = "esims_list_iccid_last4", search[:1], slices.Concat([]string{state}, search[1:], profile)
	case part == 'f' && f.Profile != 0:
		p.index, p.scan, p.seek = "esims_free", true, append([]string{state}, profile...)
	case part == 'r' && f.Profile != 0:
		p.index, p.scan, p.seek = "esims_list_retired", true, append([]string{state}, profile...)
	default:
		p.index, p.scan, p.seek, p.check = "esims_list_stocked", true, []string{state}, profile
	}
	return p
}

// from is the FROM clause, with the index to read.
func (p partPlan) from() string {
	if p.index == "" {
		return ` FROM esims e `
	}
	return ` FROM esims e INDEXED BY ` + p.index + ` `
}

// where joins the plan's conditions and extra ones.
func (p partPlan) where(extra ...string) string {
	conds := slices.Concat(p.seek, p.check, extra)
	if len(conds) == 0 {
		return ""
	}
	return ` WHERE ` + strings.Join(conds, " AND ")
}

// order is the ORDER BY of the part, forwards or backwards.
func (p partPlan) order(backward bool) string {
	dir := " ASC"
	if desc := p.key != ""; desc != backward { // the default order runs newest first, ICCIDs ascend
		dir = " DESC"
	}
	if p.key == "" {
		return ` ORDER BY e.iccid` + dir
	}
	return ` ORDER BY ` + p.key + dir + `, e.iccid` + dir
}

// after is the keyset condition: the rows past the cursor, in the
// direction of travel.
func (p partPlan) after(backward bool) string {
	op := ">"
	if desc := p.key != ""; desc != backward {
		op = "<"
	}
	if p.key == "" {
		return `e.iccid ` + op + ` :cursor_iccid`
	}
	return `(` + p.key + `, e.iccid) ` + op + ` (:cursor_key, :cursor_iccid)`
}

// listKey is where a row stands in the List.
type listKey struct {
	part  byte
	key   string // the stored time the part sorts on; "" in ICCID order
	iccid string
}

// cursorVersion starts every cursor, so a change of their layout turns old
// links into a clear message instead of a wrong page.
const cursorVersion = "1"

func (k listKey) cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorVersion + "|" + string(k.part) + "|" + k.key + "|" + k.iccid))
}

var errStaleCursor = refuse(ErrInvalid, "cursor", "That page link is out of date, so the List starts from its first page.")

func parseCursor(s, parts string) (listKey, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return listKey{}, errStaleCursor
	}
	fields := strings.Split(string(raw), "|")
	if len(fields) != 4 || fields[0] != cursorVersion || len(fields[1]) != 1 || !strings.Contains(parts, fields[1]) {
		return listKey{}, errStaleCursor
	}
	k := listKey{part: fields[1][0], key: fields[2], iccid: fields[3]}
	if k.iccid == "" || len(k.iccid) > 20 || onlyDigits(k.iccid) != k.iccid {
		return listKey{}, errStaleCursor
	}
	if k.part == 'i' {
		if k.key != "" {
			return listKey{}, errStaleCursor
		}
	} else if _, err := time.Parse(timeFormat, k.key); err != nil {
		return listKey{}, errStaleCursor
	}
	return k, nil
}

// ListRow is one eSIM as the List shows it.
type ListRow struct {
	ICCID          string
	IMSIProfile    int
	State          string
	StockedAt      time.Time
	SubscriberID   int64
	SubscriberName string
	AccountNumber  string
	LineName       string
	AllocatedAt    time.Time
	AllocatedBy    string // the login's name
	Plans          int    // how many plans the eSIM holds
	// CurrentPlan is the name of the plan that matters now: the first active
	// one not past its end, else the first one waiting, else the last to expire.
	CurrentPlan      string
	CurrentPlanState string // its state now (see LinePlan.StateAt); "" with no plan
}

// listColumns are a ListRow's columns; they need listJoins and :now.
const listColumns = `e.iccid, e.imsi_profile, e.state, e.stocked_at, coalesce(e.subscriber_id, 0), coalesce(s.name, ''),
	coalesce(s.account_number, ''), coalesce(e.line_name, ''), e.allocated_at, coalesce(l.name, ''),
	(SELECT count(*) FROM esim_plans ep WHERE ep.iccid = e.iccid), coalesce(p.name, ''),
	coalesce(CASE WHEN cp.state = 'active' AND cp.expires_at <= :now THEN 'expired' ELSE cp.state END, '')`

// listJoins find the subscriber, the allocating login and the current plan;
// an active plan past its end counts as expired, as LinePlan.StateAt says.
// When no plan is active or waiting, every plan has expired and the last
// added is the current one. Each choice is a lookup in esim_plans_iccid.
const listJoins = ` LEFT JOIN subscribers s ON s.id = e.subscriber_id LEFT JOIN logins l ON l.id = e.allocated_by
	LEFT JOIN esim_plans cp ON cp.id = coalesce(
		(SELECT min(ep.id) FROM esim_plans ep WHERE ep.iccid = e.iccid AND ep.state = 'active' AND ep.expires_at > :now),
		(SELECT min(ep.id) FROM esim_plans ep WHERE ep.iccid = e.iccid AND ep.state = 'queued'),
		(SELECT max(ep.id) FROM esim_plans ep WHERE ep.iccid = e.iccid))
	LEFT JOIN plans p ON p.id = cp.plan_id `

func scanListRow(row interface{ Scan(...any) error }) (ListRow, error) {
	var r ListRow
	var allocated nullTime
	err := row.Scan(&r.ICCID, &r.IMSIProfile, &r.State, dbTime{&r.StockedAt}, &r.SubscriberID, &r.SubscriberName,
		&r.AccountNumber, &r.LineName, &allocated, &r.AllocatedBy, &r.Plans, &r.CurrentPlan, &r.CurrentPlanState)
	r.AllocatedAt = allocated.Time
	return r, err
}

// ListCount is how many eSIMs match a filter, as far as it was cheap to count.
type ListCount struct {
	N     int  // when Known; more than ListCountCap means "more than ListCountCap"
	Known bool // false when counting would have cost more than the page itself
}

// ListPage is one page of the List.
type ListPage struct {
	Rows  []ListRow
	Next  string // cursor of the next page; "" on the last page
	Prev  string // cursor of the previous page; "" on the first page
	Count ListCount
}

// ESIMList returns the page of the List after the cursor after, or before
// the cursor before (at most one is set; neither is the first page). A
// cursor that does not fit the filter gets the first page and an *Error
// with Code ErrInvalid and Field "cursor" beside it.
func (s *Store) ESIMList(ctx context.Context, f ListFilter, after, before string) (ListPage, error) {
	how, err := s.searchPlan(ctx, f)
	if err != nil {
		return ListPage{}, err
	}
	now := s.Now()
	args := f.args(now)
	parts := f.parts()
	var cursorErr error
	var from *listKey
	backward := after == "" && before != ""
	if c := cmpOr(after, before); c != "" {
		k, err := parseCursor(c, parts)
		if err != nil {
			cursorErr, backward = err, false
		} else {
			from = &k
		}
	}
	// A search that collects its matches reads them all at once, a few
	// hundred at most: every page and the count come from that one read.
	var all []listKey
	var page ListPage
	if f.collects(how) {
		if all, err = s.listKeys(ctx, f, how, parts, nil, false, args, 0); err != nil {
			return ListPage{}, err
		}
		page.Count = ListCount{N: len(all), Known: true}
	} else if page.Count, err = s.countList(ctx, f, how, args); err != nil {
		return ListPage{}, err
	}
	keysFrom := func(from *listKey, backward bool) ([]listKey, error) {
		if f.collects(how) {
			return pageOf(all, parts, from, backward), nil
		}
		return s.listKeys(ctx, f, how, parts, from, backward, args, ListPageSize+1)
	}
	keys, err := keysFrom(from, backward)
	if err != nil {
		return ListPage{}, err
	}
	if backward {
		// Back at the start with less than a page: show the first page whole.
		if len(keys) <= ListPageSize {
			if keys, err = keysFrom(nil, false); err != nil {
				return ListPage{}, err
			}
			backward, from = false, nil
		} else {
			keys = keys[1:]
			page.Prev = keys[0].cursor()
			page.Next = keys[len(keys)-1].cursor()
		}
	}
	if !backward {
		if len(keys) > ListPageSize {
			keys = keys[:ListPageSize]
			page.Next = keys[len(keys)-1].cursor()
		}
		if from != nil && len(keys) > 0 {
			page.Prev = keys[0].cursor()
		}
	}
	if page.Rows, err = s.listRows(ctx, keys, args); err != nil {
		return ListPage{}, err
	}
	return page, cursorErr
}

// before reports whether k comes before o in the List of these parts.
func (k listKey) before(o listKey, parts string) bool {
	switch {
	case k.part != o.part:
		return strings.IndexByte(parts, k.part) < strings.IndexByte(parts, o.part)
	case k.part == 'i':
		return k.iccid < o.iccid
	case k.key != o.key:
		return k.key > o.key
	}
	return k.iccid > o.iccid
}

// pageOf cuts from all the matches, in list order, what listKeys would read:
// up to ListPageSize+1 keys after the cursor, or before it going backward.
func pageOf(all []listKey, parts string, from *listKey, backward bool) []listKey {
	if from == nil {
		return all[:min(len(all), ListPageSize+1)]
	}
	if backward {
		end := sort.Search(len(all), func(i int) bool { return !all[i].before(*from, parts) })
		return all[max(0, end-ListPageSize-1):end]
	}
	start := sort.Search(len(all), func(i int) bool { return from.before(all[i], parts) })
	return all[start:min(len(all), start+ListPageSize+1)]
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// listKeys reads the keys of up to limit rows (0: all) from the cursor on,
// crossing from one part of the List to the next as each runs out; going
// backward, it returns them in list order all the same.
func (s *Store) listKeys(ctx context.Context, f ListFilter, how searchPlan, parts string, from *listKey, backward bool, args []any, limit int) ([]listKey, error) {
	order := []byte(parts)
	start := 0
	if from != nil {
		start = strings.IndexByte(parts, from.part)
	}
	if backward {
		slices.Reverse(order)
		start = len(order) - 1 - start
	}
	var keys []listKey
	for i := start; i < len(order) && (limit == 0 || len(keys) < limit); i++ {
		p := f.plan(order[i], how)
		var extra []string
		qargs := args
		if from != nil && i == start {
			extra = append(extra, p.after(backward))
			qargs = append(slices.Clip(args), sql.Named("cursor_key", from.key), sql.Named("cursor_iccid", from.iccid))
		}
		keyCol := p.key
		if keyCol == "" {
			keyCol = "''"
		}
		query := `SELECT ` + keyCol + `, e.iccid` + p.from() + p.where(extra...) + p.order(backward)
		if limit > 0 {
			query += ` LIMIT :limit`
			qargs = append(slices.Clip(qargs), sql.Named("limit", limit-len(keys)))
		}
		rows, err := s.read.QueryContext(ctx, query, qargs...)
		if err != nil {
			return nil, fmt.Errorf("list part %c: %w", p.part, err)
		}
		for rows.Next() {
			k := listKey{part: p.part}
			if err := rows.Scan(&k.key, &k.iccid); err != nil {
				rows.Close()
				return nil, err
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if backward {
		slices.Reverse(keys)
	}
	return keys, nil
}

// listRows reads the rows of the keys, in the keys' order.
func (s *Store) listRows(ctx context.Context, keys []listKey, args []any) ([]ListRow, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	iccids := make([]string, len(keys))
	for i, k := range keys {
		iccids[i] = k.iccid
	}
	list, err := json.Marshal(iccids)
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+listColumns+` FROM esims e `+listJoins+`
		WHERE e.iccid IN (SELECT value FROM json_each(:iccids))`, append(slices.Clip(args), sql.Named("iccids", string(list)))...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byICCID := make(map[string]ListRow, len(keys))
	for rows.Next() {
		r, err := scanListRow(rows)
		if err != nil {
			return nil, err
		}
		byICCID[r.ICCID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]ListRow, 0, len(keys))
	for _, k := range keys {
		if r, ok := byICCID[k.iccid]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// searchPlan decides how a text search finds its eSIMs, from how many
// subscribers and line names it matches, counted up to the limits; and
// whether the ICCID order over some days collects them.
func (s *Store) searchPlan(ctx context.Context, f ListFilter) (searchPlan, error) {
	if f.byICCIDOverDays() {
		var n int
		err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM esims e INDEXED BY esims_list_allocated
			WHERE `+strings.Join(f.days(), " AND ")+` LIMIT :cap)`, append(f.args(time.Time{}), sql.Named("cap", sortAllocations+1))...).Scan(&n)
		if err != nil || n > sortAllocations {
			return walkWithSet, err
		}
		return collectMatches, nil
	}
	if f.search.kind != searchText {
		return walkWithSet, nil
	}
	var subs, lines int
	err := s.read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM (SELECT 1 FROM subscribers s WHERE `+subscriberLike+` LIMIT :subs)),
		(SELECT count(*) FROM (SELECT 1 FROM esims e WHERE e.line_name LIKE :prefix ESCAPE '\' LIMIT :lines))`,
		append(f.args(time.Time{}), sql.Named("subs", gatherSubscribers+1), sql.Named("lines", collectLines+1))...).Scan(&subs, &lines)
	switch {
	case err != nil:
		return 0, err
	case subs <= collectSubscribers && lines <= collectLines:
		return collectMatches, nil
	case subs <= gatherSubscribers:
		return walkWithSet, nil
	}
	return walkWithLookup, nil
}

// collects reports whether the List collects all the filter's matches at once.
func (f ListFilter) collects(how searchPlan) bool {
	return how == collectMatches && f.search.kind == searchText
}

// byICCIDOverDays reports whether the filter asks for the ICCID order of the
// eSIMs allocated on some days, searching for nothing else.
func (f ListFilter) byICCIDOverDays() bool {
	return f.Sort == SortICCID && f.search.kind == searchNone && (!f.From.IsZero() || !f.To.IsZero())
}

// days are the conditions of the filter's days, on esims_list_allocated.
func (f ListFilter) days() []string {
	conds := []string{`e.allocated_at IS NOT NULL`}
	if !f.From.IsZero() {
		conds = append(conds, `e.allocated_at >= :from`)
	}
	if !f.To.IsZero() {
		conds = append(conds, `e.allocated_at < :to`)
	}
	return conds
}

// countList counts the eSIMs the filter matches, up to ListCountCap+1, when
// that is cheap: an index range read up to the cap, or, when some of the
// filter is checked entry by entry, a bounded read of the range. A broad
// text search is not counted: its matches are spread over the whole List.
func (s *Store) countList(ctx context.Context, f ListFilter, how searchPlan, args []any) (ListCount, error) {
	if f.search.kind == searchText && !f.collects(how) {
		return ListCount{}, nil
	}
	f.Sort = SortNewest // the count does not depend on the order, and these parts have the best indexes
	total := 0
	for _, part := range []byte(f.parts()) {
		p := f.plan(part, how)
		if !p.scan || len(p.check) == 0 {
			var n int
			query := `SELECT count(*) FROM (SELECT 1` + p.from() + p.where() + ` LIMIT :cap)`
			err := s.read.QueryRowContext(ctx, query, append(slices.Clip(args), sql.Named("cap", ListCountCap+1-total))...).Scan(&n)
			if err != nil {
				return ListCount{}, fmt.Errorf("count part %c: %w", part, err)
			}
			total += n
		} else {
			var read, matched int
			query := `SELECT count(*), coalesce(sum(m), 0) FROM (SELECT (` + strings.Join(p.check, " AND ") + `) AS m` +
				p.from() + ` WHERE ` + strings.Join(p.seek, " AND ") + ` LIMIT :scan)`
			err := s.read.QueryRowContext(ctx, query, append(slices.Clip(args), sql.Named("scan", listCountScan))...).Scan(&read, &matched)
			if err != nil {
				return ListCount{}, fmt.Errorf("count part %c: %w", part, err)
			}
			total += matched
			if read == listCountScan && total <= ListCountCap {
				return ListCount{}, nil // more to read than is cheap
			}
		}
		if total > ListCountCap {
			return ListCount{N: ListCountCap + 1, Known: true}, nil
		}
	}
	return ListCount{N: total, Known: true}, nil
}

// ExportHeader is the header line of the List's CSV export.
var ExportHeader = []string{"iccid", "imsi_profile", "state", "stocked_at", "subscriber_account", "subscriber_name",
	"line_name", "allocated_at", "allocated_by", "plans", "current_plan", "current_plan_state"}

// exportFlushRows is how often the export pushes what it wrote to the client.
const exportFlushRows = 500

// ExportESIMs writes every eSIM the filter matches as CSV, in the List's
// order, row by row as it reads them, so memory stays flat however many
// there are; flush, if not nil, is called every few hundred rows. Times are
// RFC 3339 in UTC. Activation codes are left out: they install the eSIM.
func (s *Store) ExportESIMs(ctx context.Context, f ListFilter, w io.Writer, flush func()) error {
	how, err := s.searchPlan(ctx, f)
	if err != nil {
		return err
	}
	args := f.args(s.Now())
	cw := csv.NewWriter(w)
	if err := cw.Write(ExportHeader); err != nil {
		return err
	}
	n := 0
	record := make([]string, len(ExportHeader))
	for _, part := range []byte(f.parts()) {
		p := f.plan(part, how)
		rows, err := s.read.QueryContext(ctx, `SELECT `+listColumns+p.from()+listJoins+p.where()+p.order(false), args...)
		if err != nil {
			return fmt.Errorf("export part %c: %w", part, err)
		}
		for rows.Next() {
			r, err := scanListRow(rows)
			if err != nil {
				rows.Close()
				return err
			}
			r.exportRecord(record)
			if err := cw.Write(record); err != nil {
				rows.Close()
				return err
			}
			if n++; n%exportFlushRows == 0 {
				cw.Flush()
				if err := cw.Error(); err != nil {
					rows.Close()
					return err
				}
				if flush != nil {
					flush()
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	cw.Flush()
	if flush != nil {
		flush()
	}
	return cw.Error()
}

func (r ListRow) exportRecord(out []string) {
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	copy(out, []string{r.ICCID, strconv.Itoa(r.IMSIProfile), r.State, stamp(r.StockedAt), r.AccountNumber,
		spreadsheetSafe(r.SubscriberName), spreadsheetSafe(r.LineName), stamp(r.AllocatedAt), spreadsheetSafe(r.AllocatedBy),
		strconv.Itoa(r.Plans), spreadsheetSafe(r.CurrentPlan), r.CurrentPlanState})
}

// spreadsheetSafe keeps a typed-in value from being run as a formula when
// the export is opened in a spreadsheet (OWASP "CSV injection").
func spreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
