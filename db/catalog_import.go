package db

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// PlansHeader is the header line of a plans file, the catalog API's fields:
// destinations are ISO 3166-1 alpha-2 codes separated by spaces, on_sale is
// true or false.
var PlansHeader = []string{"code", "name", "region", "data_mb", "price_cents", "currency", "imsi_profile", "destinations", "on_sale"}

// MaxPlanRows is the most plans one file may add.
const MaxPlanRows = 10_000

// ImportPlans adds the plans of a CSV file to the catalog, all or nothing,
// as a first load: every line is checked (CleanPlan's rules, a code twice in
// the file or already in the catalog), and one bad line means nothing is
// added; bad lists every line to fix, in line order.
func (s *Store) ImportPlans(ctx context.Context, r io.Reader, by Login) (_ []Plan, bad Errors, err error) {
	defer func() { err = failed("import plans", err) }()
	plans, lines, bad, err := parsePlansCSV(r)
	if err != nil {
		return nil, nil, err
	}
	if len(plans) == 0 && len(bad) == 0 {
		return nil, Errors{badLine(2, "The file has no plans: after the header line, put one plan a line.")}, nil
	}
	// Codes the catalog has are named with the other bad lines; they are
	// looked for again in the change, which the catalog cannot escape.
	listTaken := func(q queryer) (Errors, error) {
		taken, err := takenCodes(ctx, q, plans)
		var out Errors
		for _, i := range taken {
			out = append(out, badLine(lines[i], "plan "+plans[i].Code+" is already in the catalog"))
		}
		return out, err
	}
	if len(bad) > 0 {
		taken, err := listTaken(s.read)
		return nil, mergeRowErrors(bad, taken), err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		if bad, err = listTaken(tx); err != nil || len(bad) > 0 {
			return err
		}
		return insertPlans(ctx, tx, plans, by, ImportNote)
	})
	if err != nil || len(bad) > 0 {
		return nil, bad, err
	}
	return plans, nil, nil
}

// parsePlansCSV reads a plans file: every plan that is right, with its
// line, and every line that is not, with all that is wrong with it.
func parsePlansCSV(r io.Reader) (plans []Plan, lines []int, bad Errors, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a wrong count is reported per line, below
	header, err := cr.Read()
	wantHeader := "The first line must be exactly " + strings.Join(PlansHeader, ",") + "."
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return nil, nil, Errors{badLine(1, "The file is empty. "+wantHeader)}, nil
	case errors.As(err, &pe):
		return nil, nil, Errors{badLine(max(pe.Line, 1), "The header line is not valid CSV: "+pe.Err.Error())}, nil
	case err != nil:
		return nil, nil, nil, err
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // spreadsheets often save a byte order mark
	}
	if !slices.Equal(trimAll(header), PlansHeader) {
		return nil, nil, Errors{badLine(1, wantHeader)}, nil
	}
	first := map[string]int{}
	for {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.As(err, &pe) {
			bad = append(bad, badLine(pe.StartLine, "not valid CSV: "+pe.Err.Error()))
			continue
		}
		if err != nil {
			return nil, nil, nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(plans)+len(bad) >= MaxPlanRows {
			bad = append(bad, badLine(line, fmt.Sprintf("The file has more than %d plans: split it into several files.", MaxPlanRows)))
			break
		}
		p, reasons := parsePlanRecord(trimAll(record))
		if j, ok := first[p.Code]; ok && p.Code != "" {
			reasons = append(reasons, fmt.Sprintf("code %s is also on line %d", p.Code, j))
		} else if p.Code != "" {
			first[p.Code] = line
		}
		if len(reasons) > 0 {
			bad = append(bad, badLine(line, strings.Join(reasons, "; ")))
			continue
		}
		plans, lines = append(plans, p), append(lines, line)
	}
	return plans, lines, bad, nil
}

// parsePlanRecord reads one line, and says every field that is wrong.
func parsePlanRecord(f []string) (Plan, []string) {
	if len(f) != len(PlansHeader) {
		return Plan{}, []string{fmt.Sprintf("expected %d values (%s), found %d", len(PlansHeader), strings.Join(PlansHeader, ", "), len(f))}
	}
	var reasons []string
	number := func(field, v string) int {
		n, err := strconv.Atoi(v)
		if err != nil {
			reasons = append(reasons, field+": "+strconv.Quote(v)+" is not a whole number")
		}
		return n
	}
	p := Plan{Code: f[0], Name: f[1], Region: f[2], Currency: f[5], Destinations: strings.Fields(f[7])}
	p.DataMB = number("data_mb", f[3])
	p.PriceCents = number("price_cents", f[4])
	p.IMSIProfile = number("imsi_profile", f[6])
	switch strings.ToLower(f[8]) {
	case "true":
		p.Active = true
	case "false":
	default:
		reasons = append(reasons, "on_sale: write true or false, not "+strconv.Quote(f[8]))
	}
	unread := slices.Clone(reasons)
	cleaned, errs := CleanPlan(p)
	for _, e := range errs {
		if !slices.ContainsFunc(unread, func(r string) bool { return strings.HasPrefix(r, e.Field+":") }) {
			reasons = append(reasons, e.Field+": "+e.Message)
		}
	}
	return cleaned, reasons
}
