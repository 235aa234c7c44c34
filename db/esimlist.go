package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"time"
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
//
// A page is read in two steps: listKeys reads the sort keys of the page's
// rows, part after part, each through its partPlan; listRows then reads the
// rows themselves by ICCID. countList and ExportESIMs read the same plans.
// The files: esimlist_filter.go checks what was typed, esimlist_plan.go
// builds and runs the queries, esimlist_cursor.go turns keys into page links,
// esimlist_export.go writes the CSV.
//
// To add a filter:
//  1. Add its field as typed to ListFilterInput and as checked to
//     ListFilter, and check it in ParseListFilter: a value it cannot use
//     adds an ErrInvalid to its Errors, with the form field's name.
//  2. If it can only match allocated eSIMs (as the allocation days do), say
//     so in ListFilter.allocatedOnly: the free and retired parts are then
//     not read at all.
//  3. Give its value a name in ListFilter.args, and add its condition in
//     ListFilter.plan to each part it applies to: with the seek conditions
//     when the part's index seeks on that column, else with the checks.
//  4. If no index narrows it well, add one in a new migration and name it in
//     the plan; run the benchmarks at scale (README) before and after.
//  5. Teach refList, the test's reference List, the same filter, and add a
//     case to TestESIMList: it walks every page both ways under each plan.
//  6. Read it from the query in the handler's listInput, and give it a form
//     field, a place in ESIMListView.Query and in listFilterFields (views).

// ListPageSize is how many eSIMs one page of the List shows.
const ListPageSize = 50

// ListCountCap is where the List stops counting matches; past it, it says
// "more than 10,000".
const ListCountCap = 10_000

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
	// one not past its end with data left, else the first one queued, else the
	// last one added.
	CurrentPlan      string
	CurrentPlanState string // its state now (see LinePlan.StateAt); "" with no plan
	// CurrentPlanUsed and CurrentPlanData are its data used and allowance.
	CurrentPlanUsed, CurrentPlanData int64
	// SMDPState is where the eSIM's order at the SM-DP+ stands (an SMDP…
	// constant); "" when it has none (no SM-DP+ configured, or never allocated).
	SMDPState string
}

// listColumns are a ListRow's columns, from esims e and listJoins; they
// need :now.
const listColumns = `e.iccid, e.imsi_profile, e.state, e.stocked_at, coalesce(e.subscriber_id, 0), coalesce(s.name, ''),
	coalesce(s.account_number, ''), coalesce(e.line_name, ''), e.allocated_at, coalesce(l.name, ''),
	(SELECT count(*) FROM esim_plans ep WHERE ep.iccid = e.iccid), coalesce(p.name, ''),
	coalesce(CASE WHEN cp.state = 'active' AND cp.expires_at <= :now THEN 'expired' ELSE cp.state END, ''),
	coalesce(cp.used_bytes, 0), coalesce(cp.data_bytes, 0), coalesce(o.state, '')`

// listJoins find the subscriber, the allocating login, the order at the
// SM-DP+ and the current plan: the first active one not past its end, else
// the first queued one, else the last one added (every plan has ended); an
// active plan past its end counts as expired, as LinePlan.StateAt says, and
// a used-up plan is no longer active. The choice is an aggregate over the
// eSIM's few plans, read once through esim_plans_iccid: no sort per eSIM.
const listJoins = ` LEFT JOIN subscribers s ON s.id = e.subscriber_id LEFT JOIN logins l ON l.id = e.allocated_by
	LEFT JOIN esim_plans cp ON cp.id = (SELECT coalesce(min(CASE WHEN ep.state = 'active' AND ep.expires_at > :now THEN ep.id END),
			min(CASE WHEN ep.state = 'queued' THEN ep.id END), max(ep.id))
		FROM esim_plans ep WHERE ep.iccid = e.iccid)
	LEFT JOIN plans p ON p.id = cp.plan_id LEFT JOIN smdp_orders o ON o.iccid = e.iccid `

// scanListRow reads listColumns, after the columns of first.
func scanListRow(row interface{ Scan(...any) error }, first ...any) (ListRow, error) {
	var r ListRow
	var allocated nullTime
	err := row.Scan(append(first, &r.ICCID, &r.IMSIProfile, &r.State, dbTime{&r.StockedAt}, &r.SubscriberID, &r.SubscriberName,
		&r.AccountNumber, &r.LineName, &allocated, &r.AllocatedBy, &r.Plans, &r.CurrentPlan, &r.CurrentPlanState,
		&r.CurrentPlanUsed, &r.CurrentPlanData, &r.SMDPState)...)
	r.AllocatedAt = allocated.Time
	return r, err
}

// ListPage is one page of the List.
type ListPage struct {
	Rows  []ListRow
	Next  string // cursor of the next page; "" on the last page
	Prev  string // cursor of the previous page; "" on the first page
	Count ListCount
	// Notice is said above the table: the page link was out of date, so
	// this is the first page instead of the one it asked for.
	Notice string
}

// ESIMList returns the page of the List after the cursor after, or before
// the cursor before (at most one is set; neither is the first page). A
// cursor that does not fit the filter is no error: it gets the first page,
// with a Notice that says so.
func (s *Store) ESIMList(ctx context.Context, f ListFilter, after, before string) (ListPage, error) {
	how, err := s.searchPlan(ctx, f)
	if err != nil {
		return ListPage{}, err
	}
	now := s.Now()
	args := f.args(now)
	parts := f.parts()
	var page ListPage
	var from *listKey
	backward := after == "" && before != ""
	if c := cmpOr(after, before); c != "" {
		if k, ok := parseCursor(c, parts); ok {
			from = &k
		} else {
			page.Notice, backward = staleCursorNotice, false
		}
	}
	// A search that collects its matches reads them all at once, a few
	// hundred at most: every page and the count come from that one read.
	var all []listKey
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
	return page, nil
}

// listRows reads the rows of the keys, in the keys' order, in one
// statement; the keys' places in the page put them in order, rather than a
// sort in SQL.
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
	rows, err := s.read.QueryContext(ctx, `SELECT k.key, `+listColumns+` FROM json_each(:iccids) k JOIN esims e ON e.iccid = k.value`+
		listJoins, append(slices.Clip(args), sql.Named("iccids", string(list)))...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byPlace := make([]*ListRow, len(keys))
	for rows.Next() {
		var place int
		r, err := scanListRow(rows, &place)
		if err != nil {
			return nil, err
		}
		byPlace[place] = &r
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]ListRow, 0, len(keys))
	for _, r := range byPlace {
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}
