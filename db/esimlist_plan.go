package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The List's query planner: for each part of the List, which index to read,
// what to seek on and what to check entry by entry. The choice is made here
// because SQLite, without statistics, cannot make it well (see esimlist.go).

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

// listLimits are the limits between the plans. sortAllocations makes the
// same choice for the List in ICCID order over some days: up to that many
// allocations, each page sorts the days' allocations (collectMatches); past
// it, it walks the allocated eSIMs in ICCID order. The walk alone would be
// slow for a few days: eSIMs are handed out oldest first, so the ICCIDs of a
// month sit together, and the walk would pass most allocated eSIMs before it
// reached them.
type listLimits struct {
	collectSubscribers int // a search matching up to this many subscribers
	collectLines       int // and this many line names collects its matches
	gatherSubscribers  int // a walk gathers up to this many matching subscribers once
	sortAllocations    int
}

// defaultListLimits are the limits the List plans with; a Store's
// listLimits replaces them, so that a test can force each plan.
func defaultListLimits() listLimits {
	return listLimits{collectSubscribers: 300, collectLines: 1000, gatherSubscribers: 5000, sortAllocations: 5_000}
}

// searchPlan decides how a text search finds its eSIMs, from how many
// subscribers and line names it matches, counted up to the limits; and
// whether the ICCID order over some days collects them.
func (s *Store) searchPlan(ctx context.Context, f ListFilter) (searchPlan, error) {
	lim := defaultListLimits()
	if s.listLimits != nil {
		lim = *s.listLimits
	}
	if f.byICCIDOverDays() {
		var n int
		err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM esims e INDEXED BY esims_list_allocated
			WHERE `+strings.Join(f.days(), " AND ")+` LIMIT :cap)`, append(f.args(time.Time{}), sql.Named("cap", lim.sortAllocations+1))...).Scan(&n)
		if err != nil || n > lim.sortAllocations {
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
		append(f.args(time.Time{}), sql.Named("subs", lim.gatherSubscribers+1), sql.Named("lines", lim.collectLines+1))...).Scan(&subs, &lines)
	switch {
	case err != nil:
		return 0, err
	case subs <= lim.collectSubscribers && lines <= lim.collectLines:
		return collectMatches, nil
	case subs <= lim.gatherSubscribers:
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
	var install []string
	switch f.Installed {
	case InstalledYes:
		install = []string{installedStates}
	case InstalledNo:
		install = []string{neverInstalled}
	}
	var retired []string
	switch f.Retired {
	case RetiredReplaced:
		retired = []string{retiredReplaced}
	case RetiredOther:
		retired = []string{`e.replaced_by IS NULL`}
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
			p.check = slices.Concat(search[1:], profile, allocation, install, retired)
			if state != "" {
				p.check = append(p.check, `e.state = '`+state+`'`) // one of three constants
			}
		case f.collects(how):
			p.seek = slices.Concat(search, profile, allocation, install, retired)
		case how == collectMatches && f.byICCIDOverDays():
			// Each page reads the days' allocations and keeps the first
			// ICCIDs past the cursor.
			p.index, p.seek = "esims_list_allocated", f.days()
			p.check = slices.Concat(profile, allocation, install)
			if state != "" {
				p.check = append(p.check, `e.state = '`+state+`'`) // one of three constants
			}
		case state != "":
			p.index, p.scan = "esims_list_iccid", true
			p.seek, p.check = []string{`e.state = '` + state + `'`}, slices.Concat(profile, allocation, search, install, retired)
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
			p.check = slices.Concat([]string{`e.allocated_at IS NOT NULL`}, search[1:], profile, allocation, install)
		case f.collects(how):
			p.seek = slices.Concat(search, profile, allocation, install)
		case f.By != 0:
			p.index, p.scan = "esims_list_by", true
			p.seek, p.check = allocation, slices.Concat(profile, search, install)
		case f.Installed == InstalledNo && f.Profile == 0 && f.search.kind == searchNone:
			// Lines never installed have an index of their own.
			p.index, p.scan = "esims_list_never_installed", true
			p.seek = slices.Concat([]string{`e.allocated_at IS NOT NULL`}, install, allocation)
		case f.Profile != 0 && f.search.kind == searchNone:
			p.index, p.scan = "esims_list_profile", true
			p.seek, p.check = slices.Concat(profile, []string{`e.allocated_at IS NOT NULL`}, allocation), install
		default:
			p.index, p.scan = "esims_list_allocated", true
			p.seek, p.check = append([]string{`e.allocated_at IS NOT NULL`}, allocation...), slices.Concat(profile, search, install)
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
	if part == 'r' {
		p.check = append(p.check, retired...) // few eSIMs are retired: a check, not an index
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

// listCountScan bounds the index entries a count reads when the filter
// leaves some checks to be made entry by entry.
const listCountScan = 30_000

// ListCount is how many eSIMs match a filter, as far as it was cheap to count.
type ListCount struct {
	N     int  // when Known; more than ListCountCap means "more than ListCountCap"
	Known bool // false when counting would have cost more than the page itself
}

// countList counts the eSIMs the filter matches, up to ListCountCap+1, when
// that is cheap: an index range read up to the cap, or, when some of the
// filter is checked entry by entry, a bounded read of the range. A broad
// text search is not counted: its matches are spread over the whole List.
func (s *Store) countList(ctx context.Context, f ListFilter, how searchPlan, args []any) (ListCount, error) {
	if f.search.kind == searchText && !f.collects(how) {
		return ListCount{}, nil
	}
	if f.search.kind == searchNone && f.From.IsZero() && f.To.IsZero() && f.By == 0 && f.Installed == "" && f.Retired == "" {
		// Only the state and the profile: the kept stock counts say it
		// without reading the List's indexes at all.
		var n int
		err := s.read.QueryRowContext(ctx, `SELECT coalesce(sum(count), 0) FROM esim_stock
			WHERE (:state = '' OR state = :state) AND (:profile = 0 OR imsi_profile = :profile)`,
			sql.Named("state", f.State), sql.Named("profile", f.Profile)).Scan(&n)
		if err != nil {
			return ListCount{}, fmt.Errorf("count from the stock: %w", err)
		}
		return ListCount{N: min(n, ListCountCap+1), Known: true}, nil
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
