package db

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/carrier/esim-admin/db/rules"
)

// InventoryHeader is the first line an inventory file must have, exactly.
var InventoryHeader = []string{"iccid", "imsi_profile", "smdp_address", "matching_id"}

// MaxInventoryRows is the most eSIMs one inventory file may hold.
const MaxInventoryRows = 200_000

// MaxMatchingIDLen is the longest matching ID taken, in characters.
const MaxMatchingIDLen = 255

// InventoryRow is one eSIM of an inventory file.
type InventoryRow struct {
	Line        int // line number in the file, from 1
	ICCID       string
	IMSIProfile int
	SMDPAddress string // lower case: host names ignore case, and activation codes must not differ by it alone
	MatchingID  string // upper case, as SGP.22 writes matching IDs: codes must not differ by case alone
}

// badLine refuses a line of a file that is wrong in itself: the refusal
// belongs to the form's field "file", and its Message says what is wrong
// with the line.
func badLine(line int, reason string) *Error {
	return &Error{Code: ErrInvalid, Field: "file", Message: reason, Line: line}
}

// ParseInventoryCSV reads an inventory file: the header line, then one eSIM
// a line. Every line is checked, and every problem of every line is
// reported, in line order; err is only for a file that cannot be read.
func ParseInventoryCSV(r io.Reader) (rows []InventoryRow, bad Errors, err error) {
	return parseInventoryCSV(r, false)
}

// parseInventoryCSV is ParseInventoryCSV; with an SM-DP+ (smdp) a line may
// leave its matching ID empty: the eSIM's order assigns it (provisioning.go).
func parseInventoryCSV(r io.Reader, smdp bool) (rows []InventoryRow, bad Errors, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a wrong count is reported per line, below
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, Errors{badLine(1, "The file is empty: it needs the header line "+strings.Join(InventoryHeader, ",")+" and one eSIM a line.")}, nil
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, Errors{badLine(max(pe.Line, 1), "The header line is not valid CSV: "+pe.Err.Error())}, nil
		}
		return nil, nil, err
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // spreadsheets often save a byte order mark
	}
	if !slices.Equal(trimAll(header), InventoryHeader) {
		return nil, Errors{badLine(1, "The first line must be exactly "+strings.Join(InventoryHeader, ",")+".")}, nil
	}
	seenICCID := map[string]int{}
	seenCode := map[[2]string]int{}
	for {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, badLine(pe.StartLine, "not valid CSV: "+pe.Err.Error()))
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rows)+len(bad) >= MaxInventoryRows {
			bad = append(bad, badLine(line, fmt.Sprintf("The file has more than %d eSIMs: split it into several files.", MaxInventoryRows)))
			break
		}
		row, reasons := parseInventoryRecord(line, trimAll(record), smdp)
		if row.ICCID != "" {
			if first, ok := seenICCID[row.ICCID]; ok {
				reasons = append(reasons, fmt.Sprintf("ICCID %s is also on line %d", row.ICCID, first))
			} else {
				seenICCID[row.ICCID] = line
			}
		}
		if row.SMDPAddress != "" && row.MatchingID != "" {
			code := [2]string{row.SMDPAddress, row.MatchingID}
			if first, ok := seenCode[code]; ok {
				reasons = append(reasons, fmt.Sprintf("activation code (SM-DP+ address and matching ID) is also on line %d", first))
			} else {
				seenCode[code] = line
			}
		}
		if len(reasons) > 0 {
			bad = append(bad, badLine(line, strings.Join(reasons, "; ")))
			continue
		}
		rows = append(rows, row)
	}
	return rows, bad, nil
}

func trimAll(fields []string) []string {
	for i, f := range fields {
		fields[i] = strings.TrimSpace(f)
	}
	return fields
}

// parseInventoryRecord checks one line. The returned row holds the values
// that are valid, so duplicates can still be found among them.
func parseInventoryRecord(line int, f []string, smdp bool) (InventoryRow, []string) {
	row := InventoryRow{Line: line}
	if len(f) != len(InventoryHeader) {
		return row, []string{fmt.Sprintf("expected %d values (%s), found %d", len(InventoryHeader), strings.Join(InventoryHeader, ", "), len(f))}
	}
	var reasons []string
	if err := CheckICCID(f[0]); err != nil {
		reasons = append(reasons, fmt.Sprintf("%v: %q", err, clip(f[0])))
	} else {
		row.ICCID = f[0]
	}
	if p, err := strconv.Atoi(f[1]); err != nil || !ValidIMSIProfile(p) {
		reasons = append(reasons, fmt.Sprintf("IMSI profile must be 2, 7 or 10, not %q", clip(f[1])))
	} else {
		row.IMSIProfile = p
	}
	if msg := checkSMDPAddress(f[2]); msg != "" {
		reasons = append(reasons, msg)
	} else {
		row.SMDPAddress = strings.ToLower(f[2])
	}
	if f[3] == "" && smdp {
		// Until the SM-DP+ releases the profile under a MatchingID, the
		// eSIM holds one of the portal's: two eSIMs never share a code.
		row.MatchingID = newMatchingID()
	} else if msg := checkMatchingID(f[3]); msg != "" {
		reasons = append(reasons, msg)
	} else {
		row.MatchingID = strings.ToUpper(f[3])
	}
	return row, reasons
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}

// checkSMDPAddress explains what is wrong with an SM-DP+ address, or returns
// "": it is a host name (SGP.22), without a scheme, path or port.
func checkSMDPAddress(s string) string {
	switch {
	case s == "":
		return "SM-DP+ address is empty"
	case strings.Contains(s, "://"):
		return fmt.Sprintf("SM-DP+ address must be a host name, without http:// or https://: %q", clip(s))
	case !validHostname(s):
		return fmt.Sprintf("SM-DP+ address is not a host name (letters, digits, dashes and dots, such as smdp.example.com): %q", clip(s))
	}
	return ""
}

func validHostname(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// checkMatchingID explains what is wrong with a matching ID, or returns "".
// It goes into the activation code LPA:1$<address>$<matching ID>, so it may
// hold only letters, digits and dashes.
func checkMatchingID(s string) string {
	switch {
	case s == "":
		return "matching ID is empty"
	case len(s) > MaxMatchingIDLen:
		return fmt.Sprintf("matching ID is longer than %d characters", MaxMatchingIDLen)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("matching ID may hold only letters, digits and dashes: %q", clip(s))
		}
	}
	return ""
}

// ImportResult is what an import added.
type ImportResult struct {
	Total     int
	ByProfile map[int]int // eSIMs added, by IMSI profile
}

// Summary reads "120 eSIMs: 40 of profile 2, 80 of profile 7".
func (r ImportResult) Summary() string {
	var parts []string
	for _, p := range IMSIProfiles {
		if n := r.ByProfile[p]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d of profile %d", n, p))
		}
	}
	noun := "eSIMs"
	if r.Total == 1 {
		noun = "eSIM"
	}
	return fmt.Sprintf("%d %s: %s", r.Total, noun, strings.Join(parts, ", "))
}

// importCheckChunk is how many rows one query checks against the inventory.
const importCheckChunk = 5000

// ImportInventory adds the eSIMs of an inventory file to the stock, all or
// nothing: when any line is wrong (see ParseInventoryCSV) or holds an ICCID
// or activation code the inventory already has, nothing is added and every
// such line is returned. Otherwise the eSIMs go in, free and stocked now, in
// one transaction with its audit entry. A zero Login is the command line.
func (s *Store) ImportInventory(ctx context.Context, r io.Reader, by Login) (_ ImportResult, _ Errors, err error) {
	defer func() { err = failed("import inventory", err) }()
	if by.ID != 0 && by.Role != RoleLead {
		return ImportResult{}, nil, refuse(ErrForbidden, "", "Only team leads can add eSIMs to the inventory.")
	}
	rows, bad, err := parseInventoryCSV(r, s.SMDP)
	if err != nil {
		return ImportResult{}, nil, err
	}
	if len(rows) == 0 && len(bad) == 0 {
		return ImportResult{}, Errors{badLine(2, "The file has no eSIMs: after the header line, put one eSIM a line.")}, nil
	}
	res := ImportResult{ByProfile: map[int]int{}}
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		taken, err := inventoryConflicts(ctx, tx, rows)
		if err != nil {
			return err
		}
		if bad = mergeRowErrors(bad, taken); len(bad) > 0 {
			return nil
		}
		// A delivery touches pages all over the inventory's indexes: a page
		// cache big enough to hold them spares writing them out twice. It is
		// this connection's, and set back before the transaction ends.
		if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = -131072`); err != nil {
			return err
		}
		defer tx.ExecContext(context.WithoutCancel(ctx), `PRAGMA cache_size = -2000`)
		// One row a statement: a statement of many rows needs a statement
		// journal bigger than SQLite keeps in memory, and spills it to disk.
		ins, err := tx.PrepareContext(ctx, `INSERT INTO esims (iccid, imsi_profile, smdp_address, matching_id, state, stocked_at)
			VALUES (?, ?, ?, ?, 'free', ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		// In ICCID order, each row lands next to the one before in the table.
		sorted := slices.Clone(rows)
		slices.SortFunc(sorted, func(a, b InventoryRow) int { return strings.Compare(a.ICCID, b.ICCID) })
		now := formatTime(tx.now)
		for _, row := range sorted {
			if _, err := ins.ExecContext(ctx, row.ICCID, row.IMSIProfile, row.SMDPAddress, row.MatchingID, now); err != nil {
				return fmt.Errorf("line %d: %w", row.Line, err)
			}
			res.ByProfile[row.IMSIProfile]++
			res.Total++
		}
		for profile, n := range res.ByProfile {
			if err := addStock(ctx, tx, profile, StateFree, n); err != nil {
				return err
			}
		}
		return audit(ctx, tx, by, "import", 0, "", "added "+res.Summary())
	})
	if err != nil || len(bad) > 0 {
		return ImportResult{}, bad, err
	}
	return res, nil, nil
}

// inventoryConflicts finds the rows whose ICCID or activation code the
// inventory already holds. An eSIM imported before matching IDs were kept in
// upper case may hold small letters in its own: a partial index of those
// alone, by the upper-case ID (migration 15), finds them too.
func inventoryConflicts(ctx context.Context, tx *change, rows []InventoryRow) (Errors, error) {
	var out Errors
	for start := 0; start < len(rows); start += importCheckChunk {
		chunk := rows[start:min(start+importCheckChunk, len(rows))]
		type probe struct {
			I     int    `json:"i"`
			ICCID string `json:"c"`
			SMDP  string `json:"s"`
			MID   string `json:"m"`
		}
		probes := make([]probe, len(chunk))
		for i, r := range chunk {
			probes[i] = probe{i, r.ICCID, r.SMDPAddress, r.MatchingID}
		}
		list, err := json.Marshal(probes)
		if err != nil {
			return nil, err
		}
		found, err := tx.QueryContext(ctx, `
			SELECT j.value ->> 'i', 'iccid', e.iccid FROM json_each(:list) j JOIN esims e ON e.iccid = j.value ->> 'c'
			UNION ALL
			SELECT j.value ->> 'i', 'code', e.iccid FROM json_each(:list) j
				JOIN esims e ON e.smdp_address = j.value ->> 's' AND e.matching_id = j.value ->> 'm'
			UNION ALL
			SELECT j.value ->> 'i', 'code', e.iccid FROM json_each(:list) j
				JOIN esims e INDEXED BY esims_mixed_case_code
					ON e.smdp_address = j.value ->> 's' AND upper(e.matching_id) = j.value ->> 'm'
					AND e.matching_id <> upper(e.matching_id)`,
			sql.Named("list", string(list)))
		if err != nil {
			return nil, err
		}
		for found.Next() {
			var i int
			var what, iccid string
			if err := found.Scan(&i, &what, &iccid); err != nil {
				found.Close()
				return nil, err
			}
			reason := fmt.Sprintf("ICCID %s is already in the inventory", iccid)
			if what == "code" {
				if iccid == chunk[i].ICCID {
					continue // the same eSIM again: its ICCID says so
				}
				reason = fmt.Sprintf("activation code (SM-DP+ address and matching ID) is already in the inventory, on eSIM %s", iccid)
			}
			out = append(out, &Error{Code: ErrConflict, Field: "file", Message: reason, Line: chunk[i].Line})
		}
		found.Close()
		if err := found.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mergeRowErrors puts two lists of row errors together in line order, with
// one entry a line.
func mergeRowErrors(a, b Errors) Errors {
	all := slices.Concat(a, b)
	slices.SortStableFunc(all, func(x, y *Error) int { return x.Line - y.Line })
	out := all[:0]
	for _, e := range all {
		if n := len(out); n > 0 && out[n-1].Line == e.Line {
			merged := *out[n-1] // a copy: the refusals merged may be shared
			merged.Message += "; " + e.Message
			out[n-1] = &merged
			continue
		}
		out = append(out, e)
	}
	return out
}

// RetireESIM takes a free eSIM out of stock for good, as a team lead does
// with one that failed its download test. An allocated eSIM is a
// subscriber's line and cannot be retired.
func (s *Store) RetireESIM(ctx context.Context, iccid string, by Login) (_ ESIM, err error) {
	defer func() { err = failed("retire eSIM", err) }()
	if by.Role != RoleLead {
		return ESIM{}, refuse(ErrForbidden, "", "Only team leads can retire eSIMs.")
	}
	var e ESIM
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		var err error
		if e, err = esim(ctx, tx, iccid); err != nil {
			return err
		}
		switch e.State {
		case StateAllocated:
			return refuse(ErrConflict, "", fmt.Sprintf("eSIM %s is allocated (line “%s”), so it cannot be retired. Only free eSIMs can be.", e.ICCID, e.LineName))
		case StateRetired:
			return refuse(ErrConflict, "", fmt.Sprintf("eSIM %s is already retired.", e.ICCID))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE esims SET state = 'retired' WHERE iccid = ? AND state = 'free'`, e.ICCID); err != nil {
			return err
		}
		if err := moveStock(ctx, tx, e.IMSIProfile, StateFree, StateRetired); err != nil {
			return err
		}
		e.State = StateRetired
		return audit(ctx, tx, by, "retire", 0, e.ICCID, fmt.Sprintf("profile %d, in stock since %s", e.IMSIProfile, rules.DateTime(e.StockedAt)))
	})
	return e, err
}
