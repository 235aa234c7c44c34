package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/carrier/esim-admin/db/rules"
)

// The plan catalog: team leads keep it on the Plans page, the carrier's
// product system through the catalog API, and a first load comes from a CSV
// file. Whichever way a change comes, it goes through this file, which
// holds the rules of what may change once a plan is sold:
//
//  1. A sold plan never changes for the customer who bought it: each order
//     keeps the data it was sold with (esim_plans.data_bytes) and the price
//     paid (esim_plans.price_cents and currency), which the order, its
//     confirmation and any refund read.
//  2. Name, region, price and currency may be edited at any time; a new
//     price applies to new orders only (rule 1).
//  3. Data, IMSI profile and destinations are fixed once a plan is sold:
//     its orders, its queue on each line and the usage rules depend on them.
//     To sell other data, on another profile or elsewhere, the lead
//     withdraws the plan and adds a new one. A plan is sold from its first
//     order, cancelled orders included: the order still exists.
//  4. A plan never sold may be edited freely, or deleted; a sold plan is
//     never deleted, only withdrawn.
//  5. Withdrawing takes a plan off sale: Add line and Add plan stop offering
//     it at once (sellablePlan), and the plans already on eSIMs carry on.
//     A withdrawn plan can be put back on sale.
//  6. Every plan lasts 30 days from its start: the help article fixes it.
//
// Every change is one transaction with its audit entry, which names the
// plan and each field's old and new value.

// Currencies are the currencies a plan's price can be in.
var Currencies = []string{"USD", "EUR", "GBP", "CAD", "AUD", "CHF"}

// Limits of a plan's fields.
const (
	MaxPlanNameLen = 40
	MaxPlanDataMB  = 1_000_000 // 1 TB
	MaxPlanCents   = 1_000_000 // 10,000.00
)

var planCode = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{1,19}$`)

// cleanText keeps s with single spaces, or says what is wrong with it.
func cleanText(s, what string, maxLen int) (string, string) {
	s = strings.Join(strings.Fields(s), " ")
	switch {
	case s == "":
		return "", "Enter " + what + "."
	case !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return "", "The " + strings.TrimPrefix(strings.TrimPrefix(what, "a "), "the ") + " can only contain printable text."
	case utf8.RuneCountInString(s) > maxLen:
		return "", fmt.Sprintf("Too long: at most %d characters.", maxLen)
	}
	return s, ""
}

// CleanPlan is p as the catalog keeps it — code in capitals, single
// spaces, destinations sorted once each, 30 days — or every field that will
// not do, each refusal named by its field (the API's names: code, name,
// region, data_mb, price_cents, currency, imsi_profile, destinations).
func CleanPlan(p Plan) (Plan, Errors) {
	var errs Errors
	p.Destinations = slices.Clone(p.Destinations)
	bad := func(field, msg string) { errs = append(errs, refuse(ErrInvalid, field, msg)) }
	p.Code = strings.ToUpper(strings.TrimSpace(p.Code))
	if !planCode.MatchString(p.Code) {
		bad("code", "Enter a code of 2 to 20 capital letters, digits, dashes or underscores, such as ICELAND5.")
	}
	var msg string
	if p.Name, msg = cleanText(p.Name, "a name, as customers see it (e.g. Iceland 5 GB)", MaxPlanNameLen); msg != "" {
		bad("name", msg)
	}
	if p.Region, msg = cleanText(p.Region, "a region (e.g. Europe)", MaxPlanNameLen); msg != "" {
		bad("region", msg)
	}
	if p.DataMB <= 0 || p.DataMB > MaxPlanDataMB {
		bad("data_mb", "Enter the data as sold, from 1 MB to 1,000 GB, e.g. 5 GB or 500 MB.")
	}
	if p.PriceCents < 0 || p.PriceCents > MaxPlanCents {
		bad("price_cents", "Enter a price from 0.00 to 10000.00.")
	}
	if p.Currency == "" {
		p.Currency = Currencies[0]
	}
	if !slices.Contains(Currencies, p.Currency) {
		bad("currency", "Choose the currency: "+strings.Join(Currencies, ", ")+".")
	}
	switch {
	case p.IMSIProfile == 0:
		bad("imsi_profile", "Choose the IMSI profile, 2, 7 or 10: the one with the best data cost in the plan's destinations.")
	case !ValidIMSIProfile(p.IMSIProfile):
		bad("imsi_profile", fmt.Sprintf("Choose IMSI profile 2, 7 or 10 (not %d): the one with the best data cost in the plan's destinations.", p.IMSIProfile))
	}
	if p.ValidityDays == 0 {
		p.ValidityDays = 30
	}
	if p.ValidityDays != 30 {
		bad("validity_days", "Every plan lasts 30 days from its start.")
	}
	var unknown []string
	for i, c := range p.Destinations {
		p.Destinations[i] = strings.ToUpper(strings.TrimSpace(c))
		if !rules.KnownCountry(p.Destinations[i]) {
			unknown = append(unknown, strconv.Quote(c))
		}
	}
	p.Destinations = slices.Compact(slices.Sorted(slices.Values(p.Destinations)))
	switch {
	case len(unknown) > 0:
		bad("destinations", "Unknown destination "+strings.Join(unknown, ", ")+": give ISO 3166-1 alpha-2 codes such as IS.")
	case len(p.Destinations) == 0:
		bad("destinations", "Choose at least one destination.")
	}
	return p, errs
}

// ParseData reads data as a lead types it, "5 GB", "1.5 GB" or "500 MB", in
// megabytes: 1 GB = 1,000 MB, as plans are sold.
func ParseData(s string) (int, error) {
	invalid := refuse(ErrInvalid, "data_mb", "Enter the data as sold, with its unit: e.g. 5 GB or 500 MB (1 GB = 1,000 MB).")
	s = strings.ToUpper(strings.TrimSpace(s))
	unit := 1
	switch {
	case strings.HasSuffix(s, "GB"):
		unit = 1000
	case strings.HasSuffix(s, "MB"):
	default:
		return 0, invalid
	}
	n, ok := parseDecimal(strings.TrimSpace(s[:len(s)-2]), unit)
	if !ok || n <= 0 || n > MaxPlanDataMB {
		return 0, invalid
	}
	return n, nil
}

// ParsePrice reads a price as typed, "19" or "19.90", in cents.
func ParsePrice(s string) (int, error) {
	n, ok := parseDecimal(strings.TrimSpace(s), 100)
	if !ok || n > MaxPlanCents {
		return 0, refuse(ErrInvalid, "price_cents", "Enter the price as a number with at most 2 decimals, e.g. 19.00, up to 10000.00.")
	}
	return n, nil
}

// parseDecimal reads digits with at most one point as a whole number of
// 1/unit, when it is one.
func parseDecimal(s string, unit int) (int, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 9 || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return 0, false
	}
	w, _ := strconv.Atoi(whole)
	n := w * unit
	scale := unit
	for _, d := range frac {
		if scale%10 != 0 {
			if d != '0' {
				return 0, false
			}
			continue
		}
		scale /= 10
		n += int(d-'0') * scale
	}
	return n, true
}

// CatalogEntry is a plan of the catalog with what was sold of it.
type CatalogEntry struct {
	Plan
	Sold    int // orders, cancelled ones included
	Running int // started and not over
	Queued  int // on a line, waiting to start
}

// CatalogFilter narrows the Plans page. Zero fields match every plan.
type CatalogFilter struct {
	Region  string
	Profile int
	Country string // ISO 3166-1 alpha-2
	Search  string // part of the code, name, region or a destination's name
}

// Matches reports whether the plan passes the filter.
func (f CatalogFilter) Matches(p Plan) bool {
	if f.Region != "" && !strings.EqualFold(f.Region, p.Region) || f.Profile != 0 && f.Profile != p.IMSIProfile ||
		f.Country != "" && !p.Covers(f.Country) {
		return false
	}
	q := strings.ToLower(cleanSearch(f.Search))
	if q == "" {
		return true
	}
	for _, s := range []string{p.Code, p.Name, p.Region} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	for _, c := range p.Destinations {
		if strings.HasPrefix(strings.ToLower(rules.CountryName(c)), q) {
			return true
		}
	}
	return false
}

// Catalog returns every plan, on sale or withdrawn, that passes the filter,
// by region, price and name, with what was sold of each: the kept count of
// orders, and the few plans queued and running now, through their indexes.
func (s *Store) Catalog(ctx context.Context, f CatalogFilter) (_ []CatalogEntry, err error) {
	defer func() { err = failed("read the catalog", err) }()
	plans, err := s.Plans(ctx, true)
	if err != nil {
		return nil, err
	}
	counts := map[int64]CatalogEntry{}
	for _, q := range []struct {
		sql  string
		args []any
		n    func(e *CatalogEntry) *int
	}{
		{`SELECT id, sold FROM plans`, nil, func(e *CatalogEntry) *int { return &e.Sold }},
		{`SELECT plan_id, count(*) FROM esim_plans WHERE state = 'queued' GROUP BY plan_id`, nil, func(e *CatalogEntry) *int { return &e.Queued }},
		{`SELECT plan_id, count(*) FROM esim_plans WHERE state = 'active' AND expires_at > ? GROUP BY plan_id`, []any{formatTime(s.Now())},
			func(e *CatalogEntry) *int { return &e.Running }},
	} {
		if err := eachCount(ctx, s.read, q.sql, q.args, func(id int64, n int) {
			e := counts[id]
			*q.n(&e) = n
			counts[id] = e
		}); err != nil {
			return nil, err
		}
	}
	var out []CatalogEntry
	for _, p := range plans {
		if f.Matches(p) {
			e := counts[p.ID]
			e.Plan = p
			out = append(out, e)
		}
	}
	return out, nil
}

// eachCount calls fn with each (id, count) row of query.
func eachCount(ctx context.Context, q queryer, query string, args []any, fn func(id int64, n int)) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		fn(id, n)
	}
	return rows.Err()
}

// PlanByCode returns the plan of the catalog with that code.
func (s *Store) PlanByCode(ctx context.Context, code string) (_ Plan, err error) {
	defer func() { err = failed("load plan "+code, err) }()
	return planByCode(ctx, s.read, code)
}

func planByCode(ctx context.Context, q queryer, code string) (Plan, error) {
	p, err := scanPlan(q.QueryRowContext(ctx, `SELECT `+planColumns+` FROM plans p WHERE p.code = ?`, strings.ToUpper(strings.TrimSpace(code))))
	if errors.Is(err, sql.ErrNoRows) {
		return Plan{}, refuse(ErrNotFound, "", "No plan with code "+code+" in the catalog.")
	}
	return p, err
}

// TimesSold is how many orders a plan has had, cancelled ones included.
func (s *Store) TimesSold(ctx context.Context, id int64) (_ int, err error) {
	defer func() { err = failed("count a plan's orders", err) }()
	return timesSold(ctx, s.read, id)
}

func timesSold(ctx context.Context, q queryer, id int64) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT sold FROM plans WHERE id = ?`, id).Scan(&n)
	return n, err
}

// describePlan is a plan in one line of the audit log.
func describePlan(p Plan) string {
	sale := "on sale"
	if !p.Active {
		sale = "withdrawn"
	}
	return fmt.Sprintf("plan %s %q: region %q, %s, %s, profile %d, destinations %q, %s", p.Code, p.Name, p.Region, p.Data(), p.Price(),
		p.IMSIProfile, countryNames(p.Destinations), sale)
}

func countryNames(codes []string) string {
	names := make([]string, len(codes))
	for i, c := range codes {
		names[i] = rules.CountryName(c)
	}
	return strings.Join(names, ", ")
}

// AddToCatalog adds plans to the catalog, all or none, each checked as
// CleanPlan does, and returns them with their ids. A refusal names its plan
// by index, "plans[2].data_mb"; a code already in the catalog, or twice in
// plans, is a conflict.
func (s *Store) AddToCatalog(ctx context.Context, plans []Plan, by Login) (_ []Plan, err error) {
	defer func() { err = failed("add to catalog", err) }()
	out := make([]Plan, len(plans))
	var errs Errors
	first := map[string]int{}
	for i, p := range plans {
		cleaned, bad := CleanPlan(p)
		for _, e := range bad {
			errs = append(errs, refuse(e.Code, fmt.Sprintf("plans[%d].%s", i, e.Field), e.Message))
		}
		if j, ok := first[cleaned.Code]; ok && cleaned.Code != "" {
			errs = append(errs, refuse(ErrConflict, fmt.Sprintf("plans[%d].code", i), fmt.Sprintf("Code %s is also plans[%d]'s.", cleaned.Code, j)))
		}
		first[cleaned.Code] = i
		out[i] = cleaned
	}
	if len(errs) > 0 {
		return nil, errs
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		taken, err := takenCodes(ctx, tx, out)
		if err != nil {
			return err
		}
		for _, i := range taken {
			errs = append(errs, refuse(ErrConflict, fmt.Sprintf("plans[%d].code", i), "Plan "+out[i].Code+" is already in the catalog."))
		}
		if len(errs) > 0 {
			return errs
		}
		return insertPlans(ctx, tx, out, by, "")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// takenCodes are the indexes of the plans whose code the catalog has.
func takenCodes(ctx context.Context, q queryer, plans []Plan) ([]int, error) {
	var taken []int
	for i, p := range plans {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM plans WHERE code = ?`, p.Code).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			taken = append(taken, i)
		}
	}
	return taken, nil
}

// ImportNote ends the audit entry of a plan the plans import command added.
const ImportNote = " (plans import)"

// insertPlans writes checked plans with new codes, each with its audit
// entry (ending with note), and sets their ids.
func insertPlans(ctx context.Context, tx *change, plans []Plan, by Login, note string) error {
	for i := range plans {
		p := &plans[i]
		err := tx.QueryRowContext(ctx, `INSERT INTO plans (code, name, region, data_mb, validity_days, imsi_profile, price_cents, currency, active)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.Code, p.Name, p.Region, p.DataMB, p.ValidityDays, p.IMSIProfile, p.PriceCents, p.Currency, p.Active).Scan(&p.ID)
		if err != nil {
			return fmt.Errorf("plan %s: %w", p.Code, err)
		}
		if err := insertDestinations(ctx, tx, *p); err != nil {
			return err
		}
		if err := audit(ctx, tx, by, "catalog_add", 0, "", describePlan(*p)+note); err != nil {
			return err
		}
	}
	return nil
}

func insertDestinations(ctx context.Context, tx *change, p Plan) error {
	for _, c := range p.Destinations {
		if _, err := tx.ExecContext(ctx, `INSERT INTO plan_destinations (plan_id, country) VALUES (?, ?)`, p.ID, c); err != nil {
			return fmt.Errorf("destination %s of plan %s: %w", c, p.Code, err)
		}
	}
	return nil
}

// PlanChange is what SavePlan did.
type PlanChange struct {
	Plan    Plan
	Created bool
	// Changes are the fields that changed, each "what: old → new"; none when
	// the plan was already so.
	Changes []string
}

// SavePlan puts p in the catalog under its code: a new plan, or a change of
// the plan with that code by the rules above. A change a sold plan forbids
// is refused with ErrConflict, naming each fixed field it would change.
func (s *Store) SavePlan(ctx context.Context, p Plan, by Login) (_ PlanChange, err error) {
	defer func() { err = failed("save plan "+p.Code, err) }()
	p, errs := CleanPlan(p)
	if len(errs) > 0 {
		return PlanChange{}, errs
	}
	var out PlanChange
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		old, err := planByCode(ctx, tx, p.Code)
		if ErrorCode(err) == ErrNotFound {
			out = PlanChange{Plan: p, Created: true}
			plans := []Plan{p}
			err = insertPlans(ctx, tx, plans, by, "")
			out.Plan = plans[0]
			return err
		}
		if err != nil {
			return err
		}
		p.ID = old.ID
		out.Plan = p
		sold, err := timesSold(ctx, tx, old.ID)
		if err != nil {
			return err
		}
		if err := fixedOnceSold(old, p, sold); err != nil {
			return err
		}
		out.Changes = planChanges(old, p)
		if len(out.Changes) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE plans SET name = ?, region = ?, data_mb = ?, imsi_profile = ?, price_cents = ?, currency = ?, active = ?
			WHERE id = ?`, p.Name, p.Region, p.DataMB, p.IMSIProfile, p.PriceCents, p.Currency, p.Active, p.ID); err != nil {
			return err
		}
		if !slices.Equal(old.Destinations, p.Destinations) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM plan_destinations WHERE plan_id = ?`, p.ID); err != nil {
				return err
			}
			if err := insertDestinations(ctx, tx, p); err != nil {
				return err
			}
		}
		return audit(ctx, tx, by, "catalog_edit", 0, "", "plan "+p.Code+": "+strings.Join(out.Changes, "; "))
	})
	if err != nil {
		return PlanChange{}, err
	}
	return out, nil
}

// fixedOnceSold refuses a change of data, IMSI profile or destinations of
// a plan that was sold (rule 3), naming every such field.
func fixedOnceSold(old, p Plan, sold int) error {
	if sold == 0 {
		return nil
	}
	var errs Errors
	conflict := func(field, what, stay, now string) {
		errs = append(errs, refuse(ErrConflict, field, fmt.Sprintf("%s has been sold (%s): its %s %s %s. To sell other %s, withdraw it and add a new plan (Copy into a new plan).",
			old.Name, orders(sold), what, stay, now, what)))
	}
	if p.DataMB != old.DataMB {
		conflict("data_mb", "data", "stays", old.Data())
	}
	if p.IMSIProfile != old.IMSIProfile {
		conflict("imsi_profile", "IMSI profile", "stays", strconv.Itoa(old.IMSIProfile))
	}
	if !slices.Equal(p.Destinations, old.Destinations) {
		conflict("destinations", "destinations", "stay", countryNames(old.Destinations))
	}
	return errs.Err()
}

func orders(n int) string {
	if n == 1 {
		return "1 order"
	}
	return strconv.Itoa(n) + " orders"
}

// planChanges says what differs from old to p, each field "what: old → new".
func planChanges(old, p Plan) []string {
	var out []string
	change := func(what, a, b string) {
		if a != b {
			out = append(out, what+": "+a+" → "+b)
		}
	}
	change("name", strconv.Quote(old.Name), strconv.Quote(p.Name))
	change("region", strconv.Quote(old.Region), strconv.Quote(p.Region))
	change("data", old.Data(), p.Data())
	change("price", old.Price(), p.Price())
	change("IMSI profile", strconv.Itoa(old.IMSIProfile), strconv.Itoa(p.IMSIProfile))
	change("destinations", strconv.Quote(countryNames(old.Destinations)), strconv.Quote(countryNames(p.Destinations)))
	change("on sale", yesNo(old.Active), yesNo(p.Active))
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// DeletePlan removes a plan that was never sold (rule 4); a sold plan is
// refused: withdraw it instead.
func (s *Store) DeletePlan(ctx context.Context, code string, by Login) (err error) {
	defer func() { err = failed("delete plan "+code, err) }()
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		p, err := planByCode(ctx, tx, code)
		if err != nil {
			return err
		}
		sold, err := timesSold(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if sold > 0 {
			return refuse(ErrConflict, "", fmt.Sprintf("%s has been sold (%s), so it stays in the catalog for those orders: withdraw it instead.", p.Name, orders(sold)))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM plan_destinations WHERE plan_id = ?`, p.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM plans WHERE id = ?`, p.ID); err != nil {
			return err
		}
		return audit(ctx, tx, by, "catalog_delete", 0, "", describePlan(p))
	})
}

// WithdrawPlan takes a plan off sale (rule 5): the lines that hold it keep
// it, and Add line and Add plan no longer offer it.
func (s *Store) WithdrawPlan(ctx context.Context, code string, by Login) (Plan, error) {
	return s.setOnSale(ctx, code, false, by)
}

// PutPlanOnSale offers a withdrawn plan again.
func (s *Store) PutPlanOnSale(ctx context.Context, code string, by Login) (Plan, error) {
	return s.setOnSale(ctx, code, true, by)
}

func (s *Store) setOnSale(ctx context.Context, code string, onSale bool, by Login) (_ Plan, err error) {
	action := map[bool]string{true: "catalog_on_sale", false: "catalog_withdraw"}[onSale]
	defer func() { err = failed(strings.ReplaceAll(action, "_", " ")+" "+code, err) }()
	var p Plan
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		var err error
		if p, err = planByCode(ctx, tx, code); err != nil || p.Active == onSale {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE plans SET active = ? WHERE id = ?`, onSale, p.ID); err != nil {
			return err
		}
		p.Active = onSale
		return audit(ctx, tx, by, action, 0, "", fmt.Sprintf("plan %s %q: on sale: %s → %s", p.Code, p.Name, yesNo(!onSale), yesNo(onSale)))
	})
	return p, err
}

// OnlyCover returns the destinations of the plan that no other plan on sale
// covers: after the plan is withdrawn, no plan is sold for them.
func (s *Store) OnlyCover(ctx context.Context, code string) (_ []string, err error) {
	defer func() { err = failed("find what only plan "+code+" covers", err) }()
	rows, err := s.read.QueryContext(ctx, `SELECT d.country FROM plans p JOIN plan_destinations d ON d.plan_id = p.id
		WHERE p.code = ? AND NOT EXISTS (SELECT 1 FROM plan_destinations o JOIN plans op ON op.id = o.plan_id
			WHERE o.country = d.country AND op.active AND op.id <> p.id)
		ORDER BY d.country`, code)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddPlanToCatalog adds one plan, as AddToCatalog does, each refusal named
// by its field alone ("data_mb"), as the form and the API name them.
func (s *Store) AddPlanToCatalog(ctx context.Context, p Plan, by Login) (Plan, error) {
	plans, err := s.AddToCatalog(ctx, []Plan{p}, by)
	if refusals := Refusals(err); refusals != nil {
		out := make(Errors, len(refusals))
		for i, e := range refusals {
			out[i] = refuse(e.Code, strings.TrimPrefix(e.Field, "plans[0]."), e.Message)
		}
		return Plan{}, out
	}
	if err != nil {
		return Plan{}, err
	}
	return plans[0], nil
}
