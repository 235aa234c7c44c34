package db

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The List's filter, from what was typed (the page's URL query, so a link
// can be shared) to checked values. Everything is checked here, once: the
// planner binds only values it can trust.

// The List's orders.
const (
	SortNewest = ""      // newest allocation first; then free, then retired eSIMs, newest delivery first
	SortICCID  = "iccid" // ICCID, ascending
)

// ListFilterInput is the List's filter as typed into its form, which is the
// page's URL query: a team lead can share the link.
type ListFilterInput struct {
	State, Profile, From, To, By, Installed, Retired, Q, Sort string
}

// listFilterFields is the one list of the List's filters: each one's name
// in the page's URL query and its form (and of the field its refusal is
// shown beside), in the form's order, and where ListFilterInput keeps it.
var listFilterFields = []struct {
	name  string
	value func(*ListFilterInput) *string
}{
	{"q", func(in *ListFilterInput) *string { return &in.Q }},
	{"state", func(in *ListFilterInput) *string { return &in.State }},
	{"profile", func(in *ListFilterInput) *string { return &in.Profile }},
	{"sort", func(in *ListFilterInput) *string { return &in.Sort }},
	{"from", func(in *ListFilterInput) *string { return &in.From }},
	{"to", func(in *ListFilterInput) *string { return &in.To }},
	{"installed", func(in *ListFilterInput) *string { return &in.Installed }},
	{"retired", func(in *ListFilterInput) *string { return &in.Retired }},
	{"by", func(in *ListFilterInput) *string { return &in.By }},
}

// ListFilterNames are the names of the List's filters, in the form's order.
func ListFilterNames() []string {
	names := make([]string, len(listFilterFields))
	for i, f := range listFilterFields {
		names[i] = f.name
	}
	return names
}

// ReadListFilter reads the List's filter by its names, from a URL query.
func ReadListFilter(get func(name string) string) ListFilterInput {
	var in ListFilterInput
	for _, f := range listFilterFields {
		*f.value(&in) = get(f.name)
	}
	return in
}

// Query is the filter as a URL query, without its empty fields.
func (in ListFilterInput) Query() url.Values {
	q := url.Values{}
	for _, f := range listFilterFields {
		if v := *f.value(&in); v != "" {
			q.Set(f.name, v)
		}
	}
	return q
}

// The List's install filter: lines whose profile was installed on a phone,
// or never was (Insights' funnel counts them the same way). A line a network
// saw is installed, whatever the phone reported, as Why no data? says.
const (
	InstalledYes = "yes" // the last report is installed, enabled, disabled or deleted, or a network saw the phone
	InstalledNo  = "no"  // no report yet, or only a download, and no network saw the phone
)

// installedStates is the SQL condition of InstalledYes, and the funnel's
// "installed on the phone" (insights.go); neverInstalled is its complement,
// word for word the condition of the index esims_list_never_installed.
const (
	installedStates = `(e.profile_state IN ('installed', 'enabled', 'disabled', 'deleted') OR e.first_attached_at IS NOT NULL)`
	neverInstalled  = `(e.profile_state IS NULL OR e.profile_state = 'downloaded') AND e.first_attached_at IS NULL`
)

// The List's filter of retired eSIMs by why they were retired.
const (
	RetiredReplaced = "replaced" // taken out of a line by Replace eSIM
	RetiredOther    = "other"    // retired from stock: faulty, lost, returned
)

// retiredReplaced is the SQL condition of RetiredReplaced; RetiredOther is
// its complement among retired eSIMs.
const retiredReplaced = `e.replaced_by IS NOT NULL`

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

	// Installed is InstalledYes or InstalledNo; "" for either.
	Installed string
	// Retired is RetiredReplaced or RetiredOther, and keeps the List to
	// retired eSIMs; "" for any.
	Retired string
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

// ParseListFilter checks a filter as typed. It refuses every field it
// cannot use at once, as Errors: one *Error for each such field, with Code
// ErrInvalid and the field's name, in the order the form lists them.
func ParseListFilter(in ListFilterInput) (ListFilter, error) {
	var f ListFilter
	var errs Errors
	invalid := func(field, message string) { errs = append(errs, refuse(ErrInvalid, field, message)) }
	f.Q = cleanSearch(in.Q)
	if utf8.RuneCountInString(f.Q) > MaxListSearchLen {
		invalid("q", fmt.Sprintf("The search is too long: at most %d characters.", MaxListSearchLen))
	} else if msg := f.parseSearch(); msg != "" {
		invalid("q", msg)
	}
	switch state := strings.TrimSpace(in.State); state {
	case "", StateFree, StateAllocated, StateRetired:
		f.State = state
	default:
		invalid("state", "Choose free, allocated or retired.")
	}
	if p := strings.TrimSpace(in.Profile); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || !ValidIMSIProfile(n) {
			invalid("profile", "The IMSI profile must be 2, 7 or 10.")
		} else {
			f.Profile = n
		}
	}
	var ok bool
	if f.From, ok = parseDay(in.From); !ok {
		invalid("from", "Enter the date as YYYY-MM-DD, for example 2026-03-01.")
	}
	if f.To, ok = parseDay(in.To); !ok {
		invalid("to", "Enter the date as YYYY-MM-DD, for example 2026-03-31.")
	} else if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		invalid("to", "The end date is before the start date.")
	}
	if by := strings.TrimSpace(in.By); by != "" {
		id, err := strconv.ParseInt(by, 10, 64)
		if err != nil || id <= 0 {
			invalid("by", "Choose a person from the list.")
		} else {
			f.By = id
		}
	}
	switch installed := strings.TrimSpace(in.Installed); installed {
	case "", InstalledYes, InstalledNo:
		f.Installed = installed
	default:
		invalid("installed", "Choose installed or never installed.")
	}
	switch retired := strings.TrimSpace(in.Retired); {
	case retired == "":
	case retired != RetiredReplaced && retired != RetiredOther:
		invalid("retired", "Choose replaced on a line or retired from stock.")
	case f.State != "" && f.State != StateRetired:
		invalid("retired", "Only retired eSIMs have a reason: choose the state Retired, or any state.")
	default:
		f.Retired, f.State = retired, StateRetired
	}
	switch in.Sort {
	case SortNewest, SortICCID:
		f.Sort = in.Sort
	default:
		invalid("sort", "Choose an order from the list.")
	}
	if err := errs.Err(); err != nil {
		return ListFilter{}, err
	}
	return f, nil
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
	return !f.From.IsZero() || !f.To.IsZero() || f.By != 0 || f.Installed != "" || f.search.kind == searchText
}
